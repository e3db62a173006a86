"""Loss pairing against the mathematics: the gradients a lecturer writes on the board, the plateau
length of MSE on a saturated sigmoid, and where naive log(sigmoid) / log(softmax) break per dtype."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.experiments import loss_descent as ld
from stabviz.experiments import loss_pairing as lp
from stabviz.experiments import run_section
from stabviz.experiments.loss_numerics import BINARY_FORMS, loss_and_grad, numerics_result
from stabviz.runtime import WORK_BUDGET, BudgetError, dtype_range, generator

SECTION = {s.name: s for s in lp.SECTIONS}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def numerics() -> dict[str, pd.DataFrame]:
    return run_section(SECTION["numerics"], lp.Params(device="cpu")).tables


def _z_and_y(n: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    g = generator(7)
    z = (torch.rand(n, generator=g, dtype=torch.float64) - 0.5) * 40
    return z, (torch.rand(n, generator=g, dtype=torch.float64) < 0.5).double()


def test_bce_gradient_wrt_logit_is_y_hat_minus_y() -> None:
    z, y = _z_and_y()
    measured = ld.dz_autograd(ld.sigmoid_bce, z, y)
    assert torch.allclose(measured, torch.sigmoid(z) - y, rtol=0, atol=1e-12)


def test_mse_gradient_carries_the_sigmoid_derivative() -> None:
    z, y = _z_and_y()
    s = torch.sigmoid(z)
    assert torch.allclose(ld.dz_autograd(ld.sigmoid_mse, z, y), 2 * (s - y) * s * (1 - s), rtol=0, atol=1e-12)


def test_gradient_curves_theory_matches_autograd_and_mse_peaks_at_8_over_27() -> None:
    """For y = 1, |dMSE/dz| = 2 s (1-s)^2 peaks at s = 1/3 with 8/27; |dBCE/dz| = 1 - s approaches 1."""
    result = run_section(SECTION["neuron_curves"], lp.Params(target=1, z_max=10.0))
    assert result.findings["neuron_mse_dz_theory_gap"] < 1e-15
    assert result.findings["neuron_bce_dz_theory_gap"] < 1e-15
    assert result.findings["neuron_mse_dz_max_abs"] == pytest.approx(8 / 27, abs=1e-4)
    assert result.findings["neuron_bce_dz_max_abs"] == pytest.approx(1 - 1 / (1 + math.exp(10)), rel=1e-9)
    assert set(result.tables["neuron_dz"]["source"]) == {"autograd", "theory"}


def test_softmax_ce_gradient_is_p_minus_onehot_and_mse_has_the_jacobian() -> None:
    g = generator(3)
    z = torch.randn(200, 5, generator=g, dtype=torch.float64) * 6
    onehot = torch.nn.functional.one_hot(torch.randint(0, 5, (200,), generator=g), 5).double()
    p = torch.softmax(z, dim=-1)
    assert torch.allclose(ld.dz_autograd(ld.softmax_ce, z, onehot), p - onehot, rtol=0, atol=1e-12)
    jacobian = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    mse_theory = (jacobian @ (2 * (p - onehot))[:, :, None])[..., 0]
    assert torch.allclose(ld.dz_autograd(ld.softmax_mse, z, onehot), mse_theory, rtol=0, atol=1e-12)
    curves = run_section(SECTION["softmax_curves"], lp.Params(classes=5)).tables["softmax_dz"]
    wide = curves.pivot_table(index=["loss", "margin"], columns="source", values="value")
    assert np.allclose(wide["autograd"], wide["theory"], rtol=1e-12, atol=1e-15)


def test_mse_on_a_saturated_sigmoid_plateaus_for_e_to_the_z0_steps_while_bce_descends() -> None:
    """From z0 << 0 (y = 1), MSE moves e^{-z} down by 2 lr (x²+1) per step:
    the plateau lasts ~(e^{-z0}-1)/(2 lr (x²+1))."""
    p = lp.Params(target=1, x=1.0, lr=1.0, steps=400, starts=2, radius=5.0, device="cpu")
    result = run_section(SECTION["neuron"], p)
    summary = result.tables["neuron_summary"].set_index(["loss", "start"])
    z0 = -5.0 * math.sqrt(2)  # the start at 225 degrees: w0 = b0 = -5/sqrt(2)
    plateau = (math.exp(-z0) - 1) / (2 * p.lr * (p.x**2 + 1))
    assert plateau <= summary.loc[("mse", 1), "fit_step"] <= 1.2 * plateau
    assert summary.loc[("bce", 1), "fit_step"] <= 12
    s0 = 1 / (1 + math.exp(-z0))
    mse_worst = 2 * s0 * (1 - s0) ** 2 * math.sqrt(2)
    assert result.findings["neuron_mse_grad_worst_start"] == pytest.approx(mse_worst, rel=1e-9)
    assert result.findings["neuron_bce_grad_worst_start"] == pytest.approx(math.sqrt(2), rel=1e-3)
    path = result.tables["neuron_path"]
    assert np.allclose(path["grad_norm"], path["grad_norm_theory"], rtol=1e-9, atol=1e-300)
    early = path.query("loss == 'mse' and start == 1 and step <= 100")["loss_value"]
    assert early.iloc[0] - early.iloc[-1] < 0.01  # 100 steps of MSE: loss still ~1


def test_softmax_mse_stalls_when_confidently_wrong_and_ce_does_not() -> None:
    p = lp.Params(steps=60, starts=4, classes=4, confidence=7.0, lr=1.0, device="cpu")
    result = run_section(SECTION["softmax"], p)
    f = result.findings
    assert f["softmax_ce_fitted"] == 4 and f["softmax_mse_fitted"] < 4
    assert f["softmax_ce_grad_worst_start"] == pytest.approx(math.sqrt(2), abs=0.02)  # ||p - onehot||, p ~ e_wrong
    assert f["softmax_mse_grad_worst_start"] < 1e-2
    path = result.tables["softmax_path"]
    assert np.allclose(path["grad_norm"], path["grad_norm_theory"], rtol=1e-9, atol=1e-300)


def test_bce_with_logits_finite_at_100_in_float32_where_naive_is_not() -> None:
    z = torch.tensor([-100.0, 100.0], dtype=torch.float32)
    loss, grad = loss_and_grad(BINARY_FORMS["with_logits"], z)
    assert torch.isfinite(loss).all() and torch.isfinite(grad).all()
    assert loss.tolist() == pytest.approx([100.0, 0.0], abs=1e-5)
    assert grad.tolist() == pytest.approx([-1.0, 0.0], abs=1e-6)
    naive_loss, naive_grad = loss_and_grad(BINARY_FORMS["naive"], z)
    assert math.isinf(naive_loss[0]) and math.isnan(naive_grad[0])


def test_bce_loss_clamps_log_at_minus_100() -> None:
    z = torch.tensor([-1000.0, -200.0], dtype=torch.float64)
    loss, grad = loss_and_grad(BINARY_FORMS["bce_loss"], z)
    assert loss.tolist() == [100.0, 100.0]  # the exact loss is 1000 and 200
    assert grad.abs().max() < 1e-60  # the exact gradient is -1: the clamp also kills the gradient


def test_naive_log_sigmoid_breaks_between_ln_max_and_ln_tiny(numerics: dict[str, pd.DataFrame]) -> None:
    """sigmoid(z) rounds to 0 once e^z is below the smallest subnormal, or once exp(-z) overflows."""
    table = numerics["numerics"].query("family == 'binary' and form == 'naive' and quantity == 'loss'")
    for dt, g in table.groupby("dtype"):
        tiny, _, biggest = dtype_range(dt)
        assert (g.loc[g["z"] > -math.log(biggest), "state"] == "finite").all(), dt
        assert (g.loc[g["z"] < math.log(tiny) - 1, "state"] == "inf").all(), dt


def test_stable_forms_stay_finite_and_within_a_few_ulps(numerics: dict[str, pd.DataFrame]) -> None:
    table = numerics["numerics"]
    stable = table[table["form"].isin(["with_logits", "cross_entropy", "logsumexp"])]
    assert (stable["state"] == "finite").all()
    for dt, g in stable.groupby("dtype"):
        assert g["error"].max() <= 8 * torch.finfo(getattr(torch, dt)).eps, dt
    naive = table.query("form in ['naive', 'log_of_softmax'] and dtype == 'float32'")
    assert {"inf", "nan"} <= set(naive["state"])


def test_numerics_keep_every_row_with_its_state(numerics: dict[str, pd.DataFrame]) -> None:
    p = lp.Params()
    table = numerics["numerics"]
    assert len(table) == len(p.dtypes) * 7 * 2 * (2 * p.num_points + 1)  # 7 forms, loss and grad
    values = table["value"].to_numpy()
    expected = np.where(np.isnan(values), "nan", np.where(np.isinf(values), "inf", "finite"))
    assert (table["state"].to_numpy() == expected).all()
    summary = numerics["numerics_summary"].set_index(["family", "form", "dtype", "quantity"])
    assert summary.loc[("binary", "naive", "float32", "loss"), "breaks_neg"] == pytest.approx(-100.0)


def test_surfaces_show_the_mse_plateau() -> None:
    surface = lp.neuron_surface(lp.Params(target=1, x=1.0, span=10.0, grid=21)).tables["neuron_surface"]
    assert len(surface) == 2 * 21 * 21
    wrong = surface[surface["w"] + surface["b"] < -6]
    assert wrong.query("loss == 'mse'")["value"].between(0.99, 1.0).all()
    bce = wrong.query("loss == 'bce'")
    assert np.allclose(bce["value"], np.logaddexp(0, -(bce["w"] + bce["b"])), rtol=1e-12)


def test_deterministic_and_seed_sensitive() -> None:
    p = lp.Params(steps=20, device="cpu")
    a, b = run_section(SECTION["softmax"], p), run_section(SECTION["softmax"], p)
    pd.testing.assert_frame_equal(a.tables["softmax_path"], b.tables["softmax_path"])
    other = run_section(SECTION["softmax"], lp.Params(steps=20, device="cpu", seed=1))
    assert not a.tables["softmax_path"]["loss_value"].equals(other.tables["softmax_path"]["loss_value"])
    n1, n2 = (run_section(SECTION["numerics"], lp.Params(num_points=9)) for _ in range(2))
    pd.testing.assert_frame_equal(n1.tables["numerics"], n2.tables["numerics"])


def test_budget_refuses_huge_runs_before_starting_and_defaults_fit() -> None:
    for section in lp.SECTIONS:
        assert section.work(lp.Params()) <= WORK_BUDGET, section.name
    calls = []
    with pytest.raises(BudgetError):
        run_section(SECTION["neuron"], lp.Params(steps=100_000), progress=calls.append)
    assert calls == []


def test_progress_reaches_one_and_record_steps_keep_ends() -> None:
    calls: list[float] = []
    run_section(SECTION["neuron"], lp.Params(steps=40, starts=2), progress=calls.append)
    assert calls[-1] == 1.0 and calls == sorted(calls)
    kept = ld.record_steps(100_000)
    assert kept[0] == 0 and kept[-1] == 100_000 and len(kept) <= ld.MAX_RECORD + 1
    assert np.all(np.diff(kept) > 0)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="target"):
        lp.Params(target=2)
    p, issues = lp.Params.parse({"lr": "abc", "dtypes": "float32,nope"})
    assert p.lr == 1.0 and p.dtypes == ("float32",)
    assert {i.name for i in issues} == {"lr", "dtypes"}


def test_numerics_result_handles_one_dtype() -> None:
    result = numerics_result(("float64",), 1000.0, 11, CPU)
    assert set(result.tables["numerics"]["dtype"]) == {"float64"}
    assert math.isnan(result.findings["naive_sigmoid_breaks_float32"])
    assert result.findings["stable_forms_nonfinite"] == 0  # with logits, cross_entropy, logsumexp: never inf/nan
    wide = numerics_result(("float32",), 1000.0, 11, CPU).findings
    assert wide["stable_forms_nonfinite"] == 0 and not math.isnan(wide["naive_sigmoid_breaks_float32"])


def test_softmax_curve_findings_are_the_gradient_at_the_widest_margin() -> None:
    """Logits (0, m, 0, 0, 0), target class 0: CE's dL/dz = p - e_0, with p_1 = e^m / (e^m + 4) and the rest
    1 / (e^m + 4), so its norm tends to sqrt(2); MSE's is J 2(p - e_0), J = diag(p) - p p^T, which vanishes."""
    m, k = 12.0, 5
    p = np.full(k, 1 / (math.exp(m) + k - 1))
    p[1] = math.exp(m) / (math.exp(m) + k - 1)
    y = np.eye(k)[0]
    ce, mse = np.linalg.norm(p - y), np.linalg.norm((np.diag(p) - np.outer(p, p)) @ (2 * (p - y)))
    f = run_section(SECTION["softmax_curves"], lp.Params(classes=k, z_max=m)).findings
    assert f["softmax_ce_dz_at_z_max"] == pytest.approx(ce, rel=1e-12) and ce == pytest.approx(math.sqrt(2), rel=1e-4)
    assert f["softmax_mse_dz_at_z_max"] == pytest.approx(mse, rel=1e-9) and mse < 1e-4
    assert f["softmax_ce_dz_at_z_max_theory"] == pytest.approx(ce, rel=1e-12)
    assert f["softmax_mse_dz_at_z_max_theory"] == pytest.approx(mse, rel=1e-9)
    assert f["softmax_ce_dz_max_abs"] >= ce and f["softmax_mse_dz_max_abs"] > 10 * mse  # MSE peaks at a small margin


NOTES = {"target": 0, "lr": 0.15, "steps": 200, "points": "3,2;2,2;2,0"}  # Lesson 5, scene 12


def test_points_parse_and_refuse_what_they_should() -> None:
    """w,b;w,b with spaces and a trailing ';'; refused: a lone number, a non-number, inf, |w| > 100, 25 points."""
    assert lp.parse_points(" 3, 2; 2,2 ;2,0;") == ((3.0, 2.0), (2.0, 2.0), (2.0, 0.0))
    assert lp.parse_points("") == ()
    for bad in ("3", "a,b", "inf,0", "101,0", ";".join(["1,1"] * 25)):
        with pytest.raises(ValueError):
            lp.parse_points(bad)
    params, issues = lp.Params.parse({"points": "3;2"})
    assert params.points == "" and issues[0].name == "points"


def test_neuron_starts_at_the_listed_points() -> None:
    """The paths begin at (3, 2), (2, 2), (2, 0) for both losses; the ring's count and radius no longer matter."""
    path = run_section(SECTION["neuron"], lp.Params(**NOTES)).tables["neuron_path"]
    first = path[path["step"] == 0].sort_values(["loss", "start"])
    np.testing.assert_array_equal(first[["w", "b"]].to_numpy(), [[3, 2], [2, 2], [2, 0]] * 2)
    assert lp.neuron_starts(lp.Params(**NOTES)) == 3


def test_bce_gradient_at_the_start_is_error_times_input() -> None:
    """dBCE/dw = (y_hat - y) x and dBCE/db = y_hat - y (x = 1, y = 0): |grad| = sigmoid(w + b) sqrt(2);
    dMSE/dz = 2 (y_hat - y) y_hat (1 - y_hat) is smaller by 2 y_hat (1 - y_hat) <= 1/2."""
    f = run_section(SECTION["neuron"], lp.Params(**NOTES)).findings
    for i, (w, b) in enumerate(((3, 2), (2, 2), (2, 0)), start=1):
        y_hat = 1 / (1 + math.exp(-(w + b)))
        assert f[f"neuron_bce_grad_start_{i}"] == pytest.approx(y_hat * math.sqrt(2), rel=1e-12)
        assert f[f"neuron_mse_grad_start_{i}"] == pytest.approx(2 * y_hat**2 * (1 - y_hat) * math.sqrt(2), rel=1e-12)


def test_mse_stalls_where_bce_fits() -> None:
    """From (3, 2) after 200 steps at lr 0.15, MSE still predicts y_hat > 0.9 (loss > 0.8) while BCE is below 0.05;
    BCE fits every start, MSE's final loss is higher at every start."""
    f = run_section(SECTION["neuron"], lp.Params(**NOTES)).findings
    assert f["neuron_mse_y_hat_end_1"] > 0.9 and f["neuron_mse_loss_end_1"] > 0.8
    assert f["neuron_bce_loss_end_1"] < 0.05 and f["neuron_bce_fitted"] == 3
    for i in (1, 2, 3):
        assert f[f"neuron_bce_y_hat_end_{i}"] < f[f"neuron_mse_y_hat_end_{i}"]


def test_neuron_work_counts_the_listed_points() -> None:
    """Listing 24 points costs what a ring of 24 does."""
    listed = lp.Params(points=";".join(["1,1"] * 24))
    assert SECTION["neuron"].work(listed) == pytest.approx(SECTION["neuron"].work(lp.Params(starts=24)))
