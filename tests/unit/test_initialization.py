"""The initialization engine against the variance laws a lecturer cites (He, Glorot, mean-field criticality)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.experiments import initialization as init
from stabviz.experiments import initialization_theory as theory
from stabviz.experiments import run_section
from stabviz.experiments.initialization_hist import output_bounds
from stabviz.mlp import INITS, init_weight, weight_variance
from stabviz.runtime import BudgetError, generator

NETWORK, SWEEP, FANS = init.SECTIONS


def _network(**kw) -> dict[str, pd.DataFrame]:
    return run_section(NETWORK, init.Params(**kw)).tables


def _profile(tables: dict, scheme: str, quantity: str, source: str) -> np.ndarray:
    t = tables["profile"]
    rows = t[(t.scheme == scheme) & (t.quantity == quantity) & (t.source == source)]
    return rows.sort_values("layer")["value"].to_numpy()


@pytest.mark.parametrize("scheme", INITS)
def test_weight_variance_is_what_torch_init_draws(scheme):
    """Var(w) of each torch.nn.init scheme on a non-square 256 x 128 layer: within 3% of the formula."""
    w = torch.empty(256, 128)
    init_weight(w, scheme, 0.3, generator(0))
    assert w.var().item() == pytest.approx(weight_variance(scheme, 128, 256, 0.3), rel=0.03)


@pytest.mark.parametrize("seed", [0, 1])
def test_he_keeps_relu_variance_and_xavier_halves_it(seed):
    """Over 50 ReLU layers (n = 512): He's mean per-layer factor is 1 +- 0.05, Xavier's 1/2 +- 0.025.

    Each factor q_{l+1}/q_l has expectation exactly n Var(w)/2, so their mean is a fair estimate;
    a single network's end-to-end ratio q_50/q_1 wanders log-normally (log-std ~ sqrt(5 L / n) ~ 0.7),
    so that is held to 2^0 (He) and 2^-49 (Xavier) within a factor 8 only.
    """
    tables = _network(activation="relu", schemes=("kaiming_normal", "xavier_normal"), depth=50, width=512,
                      batch=16, hist_layers="1", seed=seed)
    rates = tables["rates"].set_index("scheme")
    assert rates.loc["kaiming_normal", "forward_measured"] == pytest.approx(1.0, abs=0.05)
    assert rates.loc["xavier_normal", "forward_measured"] == pytest.approx(0.5, abs=0.025)
    assert rates.loc["kaiming_normal", "backward_measured"] == pytest.approx(1.0, abs=0.05)
    assert rates.loc["kaiming_normal", "forward_theory"] == pytest.approx(1.0, abs=1e-9)
    assert rates.loc["xavier_normal", "forward_theory"] == pytest.approx(0.5, abs=1e-9)
    for scheme, law in (("kaiming_normal", 1.0), ("xavier_normal", 2.0**-49)):
        q = _profile(tables, scheme, "forward", "measured")
        assert law / 8 < q[-1] / q[0] < law * 8


def test_theory_line_matches_measurement_for_every_kind_of_scheme():
    """tanh, 12 layers, n = 256: measured second moments within 25% of mean field, forward and backward."""
    schemes = ("normal", "uniform", "xavier_uniform", "kaiming_normal", "lecun_normal", "orthogonal")
    tables = _network(activation="tanh", schemes=schemes, std=0.08, depth=12, width=256, batch=64, hist_layers="1")
    for scheme in schemes:
        for quantity in ("forward", "backward"):
            measured = _profile(tables, scheme, quantity, "measured")
            predicted = _profile(tables, scheme, quantity, "theory")
            assert np.abs(np.log(measured / predicted)).max() < math.log(1.25), (scheme, quantity)


def test_gain_factors_are_the_known_constants():
    """E[f(z)^2], E[f'(z)^2] at z ~ N(0,1): ReLU 1/2 and 1/2, SELU's E[f^2] = 1, tanh against a fine plain grid."""
    assert theory.gain_factors("relu") == pytest.approx((0.5, 0.5), abs=1e-12)
    assert theory.gain_factors("selu")[0] == pytest.approx(1.0, abs=1e-6)
    z = np.linspace(-12, 12, 400_001)
    pdf = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    tanh_ref = (np.sum(pdf * np.tanh(z) ** 2), np.sum(pdf / np.cosh(z) ** 4))
    assert theory.gain_factors("tanh") == pytest.approx(tanh_ref, abs=1e-9)


def test_critical_points_of_mean_field_theory():
    """chi_1 = 1 at sigma_w = 1 for tanh (zero bias) and at sqrt(2) for ReLU (He's gain)."""
    assert theory.critical_sigma("tanh") == pytest.approx(1.0, abs=1e-3)
    assert theory.critical_sigma("relu") == pytest.approx(math.sqrt(2), abs=1e-3)
    q_star, chi = theory.fixed_point_chi("tanh", np.array([0.5, 2.0]))
    assert q_star[0] < 1e-8 and chi[0] == pytest.approx(0.25, rel=1e-6)  # ordered: q* = 0, chi = sigma^2
    assert q_star[1] > 0.5 and chi[1] > 1  # chaotic: a nonzero fixed point with chi_1 > 1


def test_sweep_measures_what_mean_field_predicts():
    """Default tanh sweep: every cell within 1 decade of theory, the median within 0.3; stable near sigma_w = 1."""
    result = run_section(SWEEP, init.Params())
    t = result.tables["sweep"]
    gap = (t.measured - t.theory).abs()
    assert gap.max() < 1.0 and gap.median() < 0.3
    assert (t.stable == (t.measured.abs() < 1.0)).all()
    deepest = t[t.depth == t.depth.max()].set_index("sigma_w")
    assert deepest.loc[deepest.index.min(), "measured"] < -20  # sigma_w = 0.25: chi = 1/16, -0.6 decades per layer
    assert deepest["stable"].loc[0.9:1.6].any() and not deepest["stable"].loc[:0.6].any()
    assert result.findings["critical_sigma"] == pytest.approx(1.0, abs=1e-3)
    assert len(t) == 25 * 10


def test_stable_fraction_is_measured_and_its_theory_is_mean_fields():
    """ReLU: the share of cells within one decade, by autograd (27 of 250) and by mean field (26 of 250)."""
    result = run_section(SWEEP, init.Params(activation="relu"))
    t, f = result.tables["sweep"], result.findings
    assert f["stable_fraction"] == (t.measured.abs() < 1.0).mean() == 27 / 250
    assert f["stable_fraction_theory"] == (t.theory.abs() < 1.0).mean() == 26 / 250


def test_histograms_collapse_and_saturate():
    """tanh, n = 256: std 0.01 collapses to ~0 (rms falls 1e6-fold by layer 10); std 1 saturates most units."""
    small = _network(schemes=("normal",), std=0.01, depth=10, hist_layers="1,10")["hist_stats"].set_index("layer")
    assert small.loc[10, "rms"] < 1e-6 * small.loc[1, "rms"]
    tables = _network(schemes=("normal",), std=1.0, depth=10, hist_layers="1,10")
    stats, hist = tables["hist_stats"].set_index("layer"), tables["histograms"]
    assert stats.loc[10, "saturated"] > 0.8
    edge = hist[(hist.layer == 10) & ((hist.bin_lo == -1) | (hist.bin_hi == 1))]
    assert edge["fraction"].sum() > 0.5  # the classic picture: mass piled at +-1
    total = hist.groupby("layer")["fraction"].sum() + stats["outside"] + stats["nonfinite"]
    assert np.allclose(total, 1.0)


def test_overflow_is_kept_in_the_table():
    """ReLU with std 1 at n = 256 multiplies the variance by 128 = 2^7 per layer:
    fp32 (max 2^128) overflows, rows stay."""
    tables = _network(activation="relu", schemes=("normal",), std=1.0, depth=45, width=256, batch=8, hist_layers="45")
    forward = _profile(tables, "normal", "forward", "measured")
    assert len(tables["profile"]) == 45 * 4
    assert np.isfinite(forward[0]) and not np.isfinite(forward[-1])
    assert tables["hist_stats"]["nonfinite"].iloc[0] > 0


def test_tiny_signals_are_measured_not_flushed():
    """tanh, s = 0.01, 30 layers: E[h²] reaches ~1e-48 while the fp32 values (~1e-24) are nonzero; it must read so.

    Within a factor 2 of theory: 30 random layers of width 256 drift by about exp(+-sqrt(30 * 2/256)) ~ 1.6.
    """
    tables = _network(schemes=("normal",), depth=30, hist_layers="30")
    for quantity in ("forward", "backward"):
        measured = _profile(tables, "normal", quantity, "measured")
        predicted = _profile(tables, "normal", quantity, "theory")
        assert predicted.min() < 1e-45 and np.abs(np.log(measured / predicted)).max() < math.log(2)


def test_same_seed_same_numbers():
    """Same params -> identical tables; another seed -> different measurements."""
    kw = dict(depth=6, width=32, batch=8, sweep_depth=6, sweep_width=16, sweep_batch=4, sigma_points=5)
    for section in init.SECTIONS:
        a, b = (run_section(section, init.Params(**kw)) for _ in range(2))
        c = run_section(section, init.Params(**kw, seed=7))
        name = {"network": "profile", "sweep": "sweep", "fans": "fans"}[section.name]
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        assert not a.tables[name].equals(c.tables[name])


def test_work_past_the_budget_is_refused():
    """Huge requests raise BudgetError before running; the defaults fit."""
    with pytest.raises(BudgetError):
        run_section(NETWORK, init.Params(depth=200, width=2048, batch=4096))
    with pytest.raises(BudgetError):
        run_section(SWEEP, init.Params(sweep_depth=200, depth_points=25, sigma_points=41, sweep_width=512,
                                       sweep_batch=512))
    assert all(s.work(init.Params().project(s.uses)) < 3e9 for s in init.SECTIONS)


def test_bad_params_become_safe_values():
    """Unreadable histogram layers fall back to the default with a warning; layers past the depth clip."""
    params, issues = init.Params.parse({"hist_layers": "1,x", "depth": "5", "schemes": "normal,bogus"})
    assert {i.name for i in issues} == {"hist_layers", "schemes"}
    assert params.hist_layers == "1,2,5,10,20" and params.schemes == ("normal",)
    assert init.hist_layer_numbers(params) == [1, 2, 5]


def test_output_bounds_of_activations():
    """tanh in (-1, 1), sigmoid in (0, 1), ReLU in [0, inf)."""
    assert output_bounds("tanh") == (-1.0, 1.0)
    assert output_bounds("sigmoid") == (0.0, 1.0)
    assert output_bounds("relu") == (0.0, math.inf)


def test_fans_weights_have_each_schemes_variance_and_bound() -> None:
    """n_in = 256, n_out = 64: Xavier sigma^2 = 2 / 320, He 2 / 256 (measured over 16384 weights within 5%); the
    uniform ones reach their bound a = sqrt(6 / (n_in + n_out)) and sqrt(6 / n_in) within 0.5% and never pass it."""
    t = run_section(FANS, init.Params()).tables["fans"].set_index("scheme")
    assert t.loc["xavier_normal", "var_w_theory"] == pytest.approx(2 / 320)
    assert t.loc["kaiming_normal", "var_w_theory"] == pytest.approx(2 / 256)
    np.testing.assert_allclose(t["var_w"], t["var_w_theory"], rtol=0.05)
    for scheme, a in (("xavier_uniform", math.sqrt(6 / 320)), ("kaiming_uniform", math.sqrt(6 / 256))):
        assert t.loc[scheme, "bound_theory"] == pytest.approx(a, rel=1e-12)
        assert a * 0.995 < t.loc[scheme, "max_abs_w"] <= a
    assert math.isnan(t.loc["xavier_normal", "bound_theory"])


def test_fans_forward_and_backward_factors_are_n_in_and_n_out_times_the_variance() -> None:
    """Var(Wx) / Var(x) = n_in sigma^2, Var(W^T g) / Var(g) = n_out sigma^2, after ReLU half the first (within 8%):
    Xavier gives 1.6 and 0.4 for 256 -> 64 (their mean is 1), He keeps 1 after ReLU."""
    t = run_section(FANS, init.Params()).tables["fans"].set_index("scheme")
    for kind in ("forward", "backward", "forward_relu"):
        np.testing.assert_allclose(t[kind], t[f"{kind}_theory"], rtol=0.08)
    assert t.loc["xavier_normal", "forward_theory"] == pytest.approx(1.6)
    assert t.loc["xavier_normal", "backward_theory"] == pytest.approx(0.4)
    assert t.loc["kaiming_normal", "forward_relu_theory"] == pytest.approx(1.0)


def test_fans_square_layer_keeps_both_ways_with_xavier() -> None:
    """n_in = n_out: Xavier is 1 / n, and both factors are 1 (measured within 8%)."""
    f = run_section(FANS, init.Params(fan_in=128, fan_out=128, fan_schemes=("xavier_normal",))).findings
    assert f["fans_forward_theory_xavier_normal"] == pytest.approx(1.0)
    assert f["fans_backward_xavier_normal"] == pytest.approx(1.0, rel=0.08)
    assert f["fans_forward_xavier_normal"] == pytest.approx(1.0, rel=0.08)
    assert f["fans_forward_measured_xavier_normal"] == f["fans_forward_xavier_normal"]  # a sweep's name for it


def test_network_findings_carry_each_schemes_factors() -> None:
    """ReLU: He keeps the forward second moment per layer (theory 1), Xavier halves it (theory 1/2)."""
    f = run_section(NETWORK, init.Params(activation="relu", schemes=("xavier_normal", "kaiming_normal"))).findings
    assert f["forward_theory_kaiming_normal"] == pytest.approx(1.0, rel=1e-6)
    assert f["forward_theory_xavier_normal"] == pytest.approx(0.5, rel=1e-6)
    assert f["forward_measured_kaiming_normal"] == pytest.approx(1.0, rel=0.1)
    assert f["forward_measured_xavier_normal"] == pytest.approx(0.5, rel=0.1)


def test_fans_work_counts_the_schemes_and_refuses_huge_layers() -> None:
    """Twice the schemes, twice the work; 4096 x 4096 with 8192 samples is refused."""
    assert FANS.work(init.Params(fan_schemes=("normal", "uniform"))) == pytest.approx(
        2 * FANS.work(init.Params(fan_schemes=("normal",))))
    with pytest.raises(BudgetError):
        run_section(FANS, init.Params(fan_in=4096, fan_out=4096, fan_batch=8192))
