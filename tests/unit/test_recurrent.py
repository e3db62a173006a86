"""The recurrent engine against what a lecturer would cite: r^t through an orthogonal linear RNN,
the gradient as a product of W_hh and tanh' factors, the forget gate at sigmoid(b), dc_t/dc_{t-1} = f_t,
the GRU's update gate at sigmoid(b_z), the circular law, clipping, the adding problem's chance level 1/6."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.experiments import recurrent as R
from stabviz.experiments import recurrent_theory as RTh
from stabviz.experiments import recurrent_train as RT
from stabviz.experiments import run_section
from stabviz.rnn import CellSpec, build_cell, median_norm, spectral_radius, stack_states, unroll
from stabviz.runtime import BudgetError, dtype_range, generator

SECTIONS = {s.name: s for s in R.SECTIONS}


def _grads(p: R.Params, cell: str, state: str = "h") -> np.ndarray:
    t = R.through_time(p).tables["bptt"]
    return t[(t.cell == cell) & (t.state == state)].sort_values("t").grad_norm.to_numpy()


@pytest.mark.parametrize("r", [0.9, 1.0, 1.1])
def test_linear_rnn_with_orthogonal_weights_scales_the_gradient_by_r_per_step(r: float) -> None:
    """With zero input and zero bias tanh works at 0, where tanh' = 1:
    dL/dh_t = (r Q^T)^(T-t) dL/dh_T, norm r^(T-t) sqrt(H)."""
    p = R.Params(cells=("rnn_tanh",), init="orthogonal", radius=r, seq_len=60, hidden=24, dtype="float64")
    module = R.make_cell(p, "rnn_tanh")
    assert spectral_radius(module.weight_hh_l0) == pytest.approx(r, rel=1e-6)
    with torch.no_grad():
        module.bias_ih_l0.zero_()
        module.bias_hh_l0.zero_()
    hs, _ = unroll(module, torch.zeros(4, p.seq_len, p.input_size, dtype=torch.float64))
    hs[-1].sum().backward()
    norms = median_norm(torch.stack([h.grad[0] for h in hs], dim=1))
    expected = math.sqrt(p.hidden) * r ** np.arange(p.seq_len - 1, -1, -1)
    np.testing.assert_allclose(norms, expected, rtol=1e-9)


@pytest.mark.parametrize("r", [0.9, 1.0, 1.1])
def test_the_pages_own_linear_regime_gives_exactly_r_to_the_power_t_minus_1(r: float) -> None:
    """input_std=0 and bias=false keep every state at 0, where tanh' = 1: ||dL/dh_1|| / ||dL/dh_T|| = r^(T-1),
    and the estimate line (rho rms tanh')^(T-1) coincides with it."""
    p = R.Params(cells=("rnn_tanh",), init="orthogonal", radius=r, input_std=0.0, bias=False)
    f = R.through_time(p).findings
    assert f["rms_dphi_rnn_tanh"] == 1.0
    assert f["grad_ratio_rnn_tanh"] == pytest.approx(r ** (p.seq_len - 1), rel=1e-5)  # float32 over 99 steps
    assert f["ratio_estimate_rnn_tanh"] == pytest.approx(r ** (p.seq_len - 1), rel=1e-5)


@pytest.mark.parametrize(("cell", "dtype", "tol"), [("rnn_tanh", "float32", 1e-5), ("rnn_relu", "float32", 1e-4),
                                                    ("rnn_tanh", "float64", 1e-12)])
def test_the_gradient_through_time_is_the_product_of_w_and_phi_prime_factors(cell: str, dtype: str, tol: float) -> None:
    """dL/dh_{t-1} = W_hh^T (phi'(a_t) * dL/dh_t): the lecture's product, formed in float64, equals autograd."""
    p = R.Params(cells=(cell,), seq_len=60, dtype=dtype)
    f = R.through_time(p).findings
    assert 0 <= f[f"chain_error_{cell}"] < tol
    module, x = R.make_cell(p, cell), R.inputs(p)
    hs, _ = unroll(module, x)
    hs[-1].sum().backward()
    product = RTh.chain_product(module, x, stack_states(hs, False))
    error = (product - stack_states(hs, True).double()).norm(dim=-1) / product.norm(dim=-1)
    assert float(error.max()) < tol


def test_a_gradient_the_dtype_cannot_hold_is_left_out_of_the_product_check() -> None:
    """Where the product underflows float16's normal range the comparison has nothing to say: nan, not a number."""
    held = torch.ones(1, 3, 4, dtype=torch.float64)
    assert RTh.chain_error(held.float(), held, "float16") == 0.0
    assert math.isnan(RTh.chain_error(held.float() * 0, held * 1e-9, "float16"))


def test_biases_off_leave_only_the_gate_knobs() -> None:
    """bias=false zeroes b_ih and b_hh; the LSTM's forget block still holds forget_bias, the GRU's b_iz update_bias."""
    h = 5
    cells = {c: build_cell(CellSpec(c, 3, h, forget_bias=1.5, bias=False, update_bias=-2.0), generator(0),
                           torch.float64, torch.device("cpu")) for c in ("rnn_tanh", "lstm", "gru")}
    assert not cells["rnn_tanh"].bias_ih_l0.any() and not cells["rnn_tanh"].bias_hh_l0.any()
    expected = {"lstm": 1.5, "gru": -2.0}
    for c, value in expected.items():
        b = cells[c].bias_ih_l0.detach()
        assert torch.all(b[h: 2 * h] == value) and not b[:h].any() and not b[2 * h:].any(), c
        assert not cells[c].bias_hh_l0.any(), c
    shifted = build_cell(CellSpec("gru", 3, h, update_bias=2.0), generator(0), torch.float64, torch.device("cpu"))
    drawn = build_cell(CellSpec("gru", 3, h), generator(0), torch.float64, torch.device("cpu"))
    diff = (shifted.bias_ih_l0 - drawn.bias_ih_l0).detach()
    torch.testing.assert_close(diff[h: 2 * h], torch.full((h,), 2.0, dtype=torch.float64))
    assert not diff[:h].any() and not diff[2 * h:].any()


@pytest.mark.parametrize("b", [0.0, 2.0, 4.0])
def test_gru_update_gate_starts_near_sigmoid_of_its_bias_shift(b: float) -> None:
    """z_1 = sigmoid(W_iz x_1 + b_iz + b_hz) with h_0 = 0: the shift b_z sets it near sigmoid(b_z)."""
    found = R.gates(R.Params(update_bias=b, seq_len=20, batch=64)).findings
    assert found["update_sigmoid_b"] == pytest.approx(1 / (1 + math.exp(-b)))
    assert found["update_first"] == pytest.approx(found["update_sigmoid_b"], abs=0.03)
    assert found["update_mean"] == pytest.approx(1 - found["update_share_mean"])


def test_gru_gradient_survives_when_z_is_near_1_and_the_direct_path_predicts_it() -> None:
    """dh_t/dh_{t-1} = diag(z_t) + ...: with z ~ 1 the terms through the gates vanish and prod z_s is the gradient."""
    near_one = R.through_time(R.Params(cells=("gru",), update_bias=6.0)).findings
    assert near_one["grad_ratio_gru"] > 0.5
    assert near_one["grad_ratio_gru"] == pytest.approx(near_one["path_ratio_gru"], rel=0.1)
    assert R.through_time(R.Params(cells=("gru",))).findings["grad_ratio_gru"] < 1e-10


def test_lstm_cell_state_ratio_findings_are_the_first_over_the_last_step() -> None:
    p = R.Params(cells=("lstm",), forget_bias=5.0, seq_len=60)
    r = R.through_time(p)
    c = _grads(p, "lstm", "c")
    carousel = r.tables["bptt_theory"].query("curve == 'carousel'").sort_values("t").value.to_numpy()
    assert r.findings["grad_ratio_c_lstm"] == pytest.approx(c[0] / c[-1])
    assert r.findings["carousel_ratio_lstm"] == pytest.approx(carousel[0] / carousel[-1])
    assert r.findings["grad_ratio_c_lstm"] > 0.5 * r.findings["carousel_ratio_lstm"] > 0.1


def test_normal_init_draws_entries_of_std_sigma_and_obeys_the_circular_law() -> None:
    """N(0, s²) entries; the spectral radius of an n x n such matrix tends to s sqrt(n) (Girko's circular law)."""
    s, h = 0.05, 256
    cell = build_cell(CellSpec("rnn_tanh", 2, h, init="normal", std=s), generator(0), torch.float64,
                      torch.device("cpu"))
    w = cell.weight_hh_l0.detach()
    assert float(w.std()) == pytest.approx(s, rel=0.02) and float(w.mean()) == pytest.approx(0.0, abs=5e-4)
    assert spectral_radius(w) == pytest.approx(s * math.sqrt(h), rel=0.05)
    f = R.through_time(R.Params(cells=("rnn_tanh",), init="normal", std=0.1, hidden=64, seq_len=10)).findings
    assert f["circular_rho"] == pytest.approx(0.8) and f["rho_rnn_tanh"] == pytest.approx(0.8, rel=0.15)
    assert "circular_rho" not in R.through_time(R.Params(cells=("rnn_tanh",), seq_len=10)).findings


def test_the_sweep_rescales_a_gaussian_when_the_init_is_normal() -> None:
    table = R.sweep(R.Params(init="normal", seq_len=20)).tables["sweep"]
    assert R.sweep_init("normal") == "radius" and R.sweep_init("default") == "orthogonal"
    cell = R.make_cell(R.Params(), "rnn_tanh", init=R.sweep_init("normal"), radius=1.25)
    assert spectral_radius(cell.weight_hh_l0) == pytest.approx(1.25, rel=1e-6)
    assert (table.grad_norm <= table.bound * (1 + 1e-6)).all()


def test_measured_gradient_never_exceeds_the_singular_value_bound() -> None:
    """||dL/dh_t|| <= sigma_max(W_hh)^(T-t) ||dL/dh_T|| because |tanh'|, |relu'| <= 1."""
    for init, radius in (("default", 1.0), ("orthogonal", 1.5), ("radius", 1.2), ("identity", 1.0)):
        p = R.Params(cells=("rnn_tanh", "rnn_relu"), init=init, radius=radius, seq_len=80)
        r = R.through_time(p)
        both = r.tables["bptt"].merge(r.tables["bptt_theory"].query("curve == 'bound'"), on=["cell", "state", "t"])
        assert len(both) == 2 * p.seq_len
        assert (both.grad_norm <= both.value * (1 + 1e-6)).all(), (init, radius)


def test_theory_estimate_matches_the_measured_decay_rate_for_orthogonal_tanh() -> None:
    """Per-step factor rho(W_hh) * rms tanh' predicts the slope of log ||dL/dh_t|| within 10 %."""
    p = R.Params(cells=("rnn_tanh",), init="orthogonal", radius=1.0, hidden=64, seq_len=100)
    r = R.through_time(p)
    measured = _grads(p, "rnn_tanh")
    rate = math.log(r.findings["rho_rnn_tanh"] * r.findings["rms_dphi_rnn_tanh"])
    assert math.log(measured[0] / measured[-1]) / (p.seq_len - 1) == pytest.approx(rate, rel=0.10)


def test_vanilla_rnn_vanishes_far_faster_than_the_lstm() -> None:
    p = R.Params(cells=("rnn_tanh", "lstm"), seq_len=100)
    assert _grads(p, "rnn_tanh")[0] < 1e-15 * _grads(p, "lstm")[0]


def test_sweep_switches_from_vanishing_to_exploding_as_the_spectral_radius_grows() -> None:
    """Orthogonal x r: every singular value is r, so ||dL/dh_0|| <= r^T sqrt(H);
    ReLU, unbounded, explodes past r = 1."""
    p = R.Params(seq_len=100)
    result = R.sweep(p)
    table = result.tables["sweep"]
    assert len(table) == 2 * len(R.SWEEP_RADII)
    # float32 weights, 100 powers
    np.testing.assert_allclose(table.bound, math.sqrt(p.hidden) * table.radius**p.seq_len, rtol=1e-4)
    assert (table.grad_norm <= table.bound * (1 + 1e-6)).all()
    for cell in ("rnn_tanh", "rnn_relu"):
        g = table[table.cell == cell].sort_values("radius").grad_norm.to_numpy()
        assert g[0] < 1e-20 and g[-1] > 1e2 * math.sqrt(p.hidden), cell
    relu = table[table.cell == "rnn_relu"].sort_values("radius").grad_norm.to_numpy()
    assert np.all(np.diff(np.log(relu[relu > 0])) > 0)
    _check_sweep_findings(result.findings, table, math.sqrt(p.hidden))


def _check_sweep_findings(found: dict, table: pd.DataFrame, level: float) -> None:
    """The findings read off the table: the gradient and the estimate at r = 1, and the edge radius where the
    gradient first reaches sqrt(H) lies between that grid radius and the one before; the bound sqrt(H) r^T (all
    singular values r) reaches it at r = 1."""
    for cell, rows in table.groupby("cell"):
        at_one = rows.set_index("radius").loc[1.0]
        assert found[f"grad_at_r1_{cell}"] == at_one.grad_norm and found[f"estimate_at_r1_{cell}"] == at_one.estimate
        first = rows[rows.grad_norm >= level].radius.min()
        assert rows[rows.radius < first].radius.max() < found[f"edge_radius_{cell}"] <= first
        assert RTh.edge_radius(rows.radius.to_numpy(), rows.bound.to_numpy(), level) == pytest.approx(1.0, abs=1e-6)


def test_the_edge_radius_of_a_power_law_is_exact_and_nan_off_the_grid() -> None:
    """3 r^T reaches the level L at r = (L / 3)^(1/T), between grid points too; a curve that never reaches it, or
    starts above it, has no edge on the grid."""
    r = np.arange(0.5, 2.0001, 0.125)
    assert RTh.edge_radius(r, 3 * r**50, 4.0) == pytest.approx((4 / 3) ** (1 / 50), rel=1e-12)
    assert math.isnan(RTh.edge_radius(r, 1e-3 * r, 4.0)) and math.isnan(RTh.edge_radius(r, 10 + r, 4.0))


@pytest.mark.parametrize("b", [-2.0, 0.0, 1.0, 3.0])
def test_lstm_forget_gate_starts_near_sigmoid_of_its_bias(b: float) -> None:
    found = R.gates(R.Params(forget_bias=b, seq_len=20, batch=64)).findings
    assert found["forget_first"] == pytest.approx(1 / (1 + math.exp(-b)), abs=0.02)


def test_cell_path_derivative_is_the_forget_gate_and_recomputed_gates_match_torch() -> None:
    """dc_t/dc_{t-1} with h_{t-1} held, by autograd through nn.LSTM, equals f_t;
    gates rebuild nn.LSTM's c and nn.GRU's h."""
    r = R.gates(R.Params(seq_len=40))
    assert r.findings["cell_path_error"] < 1e-6
    assert r.findings["cell_recompute_error"] < 1e-5
    assert r.findings["gru_recompute_error"] < 1e-5
    g = r.tables["gru_gates"].pivot(index="t", columns="gate", values="mean")
    np.testing.assert_allclose(g.one_minus_z + g.z, 1.0, atol=1e-6)


def test_forget_bias_controls_the_cell_state_gradient_and_the_carousel_is_its_floor() -> None:
    """dL/dc_t keeps its size when f ~ 1 (b = 5) and collapses when f ~ 0 (b = -3); the cell path alone,
    ||dL/dc_{T-1} prod f||, is one of the paths to c_t: the measured gradient stays above half of it."""
    ratios = []
    for b in (-3.0, 0.0, 2.0, 5.0):
        p = R.Params(cells=("lstm",), forget_bias=b, seq_len=60)
        r = R.through_time(p)
        carousel = r.tables["bptt_theory"].query("curve == 'carousel'").sort_values("t").value.to_numpy()
        measured = _grads(p, "lstm", "c")
        assert len(measured) == len(carousel) == p.seq_len - 1
        if b >= 0:
            assert np.all(measured >= 0.5 * carousel), b
        ratios.append(measured[0] / measured[-1])
    assert ratios == sorted(ratios) and ratios[0] < 1e-10 and 0.1 < ratios[-1] < 10


def test_low_precision_keeps_underflowed_gradients_as_zero_rows() -> None:
    p = R.Params(cells=("rnn_tanh",), seq_len=100, dtype="float16")
    g = _grads(p, "rnn_tanh")
    assert len(g) == p.seq_len and g[0] == 0.0 and g[-1] == pytest.approx(math.sqrt(p.hidden), rel=1e-3)
    positive = g[g > 0]
    assert positive.min() >= dtype_range("float16")[0]


def test_adding_problem_targets_have_variance_one_sixth() -> None:
    """U1 + U2 for independent U(0, 1): mean 1, variance 2/12; predicting 1 scores MSE 1/6."""
    x, y = RT.adding_batch(20_000, 50, generator(0), torch.float64, torch.device("cpu"))
    marks = x[..., 1]
    assert torch.all(marks.sum(1) == 2) and torch.all(marks[:, :25].sum(1) == 1)
    assert float(y.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(y.var()) == pytest.approx(RT.ADDING_BASELINE, abs=0.006)
    torch.testing.assert_close(y, (x[..., 0] * marks).sum(1))


def test_lstm_learns_the_adding_problem_and_the_vanilla_rnn_stays_at_chance() -> None:
    """At the page's defaults (T = 30) the LSTM ends far below MSE 1/6; the tanh RNN stays within 20 % of it."""
    seen: list[float] = []
    p = R.Params(cells=("rnn_tanh", "lstm"))
    r = run_section(SECTIONS["train"], p, seen.append)
    assert r.findings["final_loss_lstm"] < 0.1 * RT.ADDING_BASELINE
    assert r.findings["final_loss_rnn_tanh"] == pytest.approx(RT.ADDING_BASELINE, rel=0.2)
    assert r.findings["baseline_measured"] == pytest.approx(RT.ADDING_BASELINE, abs=0.03)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert len(r.tables["train_loss"]) == 2 * p.steps


def test_clipping_caps_the_update_but_not_the_first_loss() -> None:
    """The first loss is the same; with a tiny clip norm training stalls near the start."""
    base = R.Params(cells=("rnn_tanh",), steps=40, train_len=10)
    clipped = RT.train(replace(base, clip_norm=1e-3)).tables["train_loss"]
    free = RT.train(replace(base, clip=False)).tables["train_loss"]
    assert clipped.loss.iloc[0] == free.loss.iloc[0]
    assert (free.grad_norm > 1e-3).all()
    assert not np.allclose(clipped.loss.to_numpy(), free.loss.to_numpy())


def test_sgd_without_clipping_explodes_and_clipping_caps_every_step() -> None:
    """Plain SGD turns an exploding gradient into an exploding step: the unclipped run's gradient norm reaches inf
    and its loss nan; clipped, the gradient each step uses has norm <= clip_norm (torch rescales by c/||g||)."""
    base = R.Params(cells=("rnn_tanh",), optimizer="sgd", lr=0.3, train_len=10, steps=60)
    free = RT.train(replace(base, clip=False)).findings
    assert free["nonfinite_steps_rnn_tanh"] > 0 and math.isnan(free["final_loss_rnn_tanh"])
    assert free["max_grad_norm_rnn_tanh"] > 1e6 and free["clipped_share_rnn_tanh"] == 0.0
    clipped = RT.train(base)
    f, table = clipped.findings, clipped.tables["train_loss"]
    assert f["nonfinite_steps_rnn_tanh"] == 0 and math.isfinite(f["final_loss_rnn_tanh"])
    assert f["max_grad_norm_rnn_tanh"] > base.clip_norm and f["clipped_share_rnn_tanh"] > 0
    assert f["max_used_norm_rnn_tanh"] <= base.clip_norm * (1 + 1e-6)
    expected = np.minimum(table.grad_norm, base.clip_norm)
    np.testing.assert_allclose(table.used_norm, expected, rtol=1e-5)
    assert f["clipped_share_rnn_tanh"] == pytest.approx(float((table.grad_norm > base.clip_norm).mean()))


def test_same_params_give_the_same_numbers_and_another_seed_does_not() -> None:
    p = R.Params(seq_len=30, cells=("rnn_relu", "gru"))
    for name in ("through_time", "sweep", "gates"):
        a, b = run_section(SECTIONS[name], p), run_section(SECTIONS[name], p)
        for key in a.tables:
            pd.testing.assert_frame_equal(a.tables[key], b.tables[key])
    other = run_section(SECTIONS["through_time"], R.Params(seq_len=30, cells=("rnn_relu", "gru"), seed=1))
    assert not other.tables["bptt"].equals(run_section(SECTIONS["through_time"], p).tables["bptt"])


def test_each_section_lists_every_field_it_reads() -> None:
    """run_section resets unlisted fields to defaults: a missing name in ``uses`` would change these numbers."""
    p = R.Params(cells=("rnn_relu", "lstm", "gru"), seq_len=12, hidden=6, input_size=3, batch=5, input_std=0.5,
                 init="normal", std=0.3, radius=0.8, forget_bias=-1.0, bias=False, update_bias=1.5, train_len=6,
                 steps=12, lr=0.005, clip=False, optimizer="sgd", seed=3, dtype="float64")
    for s in R.SECTIONS:
        direct = s.run(p, None) if s.long else s.run(p)
        for key, table in run_section(s, p).tables.items():
            pd.testing.assert_frame_equal(table, direct.tables[key])


def test_a_cell_does_not_depend_on_which_other_cells_are_chosen() -> None:
    alone = _grads(R.Params(cells=("gru",), seq_len=30), "gru")
    np.testing.assert_array_equal(alone, _grads(R.Params(cells=("rnn_tanh", "gru"), seq_len=30), "gru"))


@pytest.mark.parametrize("name", ["through_time", "sweep", "gates", "train"])
def test_oversized_requests_are_refused_before_running(name: str) -> None:
    p = R.Params(seq_len=2000, hidden=512, batch=512, train_len=1000, steps=5000, cells=R.CELLS)
    with pytest.raises(BudgetError):
        run_section(SECTIONS[name], p)


def test_defaults_fit_the_budget_and_uses_name_real_fields() -> None:
    fields = set(R.Params.specs())
    for s in R.SECTIONS:
        assert set(s.uses) <= fields
        assert s.work(R.Params()) < 3e9
