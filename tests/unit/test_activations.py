"""The activations engine against the numbers a lecturer cites."""

import math

import numpy as np
import pytest

from stabviz.experiments import activations as act
from stabviz.experiments import run_section

P = act.Params(functions=("sigmoid", "tanh", "relu"), samples=200_000)


def section(name, p=P):
    return run_section({s.name: s for s in act.SECTIONS}[name], p)


def test_sigmoid_derivative_peaks_at_one_quarter_at_zero():
    curves = section("curves").tables["curves"]
    sig = curves[curves["function"] == "sigmoid"]
    top = sig.loc[sig["df"].idxmax()]
    assert top["df"] == pytest.approx(0.25, abs=1e-12)
    assert top["x"] == pytest.approx(0.0, abs=1e-9)


def test_autograd_derivative_matches_the_formula():
    curves = section("curves").tables["curves"]
    tanh = curves[curves["function"] == "tanh"]
    np.testing.assert_allclose(tanh["df"], 1 - np.tanh(tanh["x"]) ** 2, atol=1e-12)


def test_known_expectations_of_relu_derivative():
    sat = section("saturation").tables["saturation"].set_index("function")
    assert sat.loc["relu", "mean_grad_quad"] == pytest.approx(0.5, abs=1e-3)  # P(z > 0)
    assert sat.loc["relu", "saturated_quad"] == pytest.approx(0.5, abs=1e-3)
    assert sat.loc["tanh", "max_abs_grad"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("column", ["mean_grad", "mean_sq_grad", "saturated"])
def test_monte_carlo_agrees_with_quadrature_within_four_standard_errors(column):
    sat = section("saturation").tables["saturation"]
    se = 0.5 / math.sqrt(P.samples)  # every quantity here lies in [0, 1]: sd <= 1/2
    assert np.all(np.abs(sat[f"{column}_mc"] - sat[f"{column}_quad"]) < 4 * se + 1e-3)


def test_median_chain_follows_the_log_expectation_theory():
    r = section("chain", act.Params(functions=("sigmoid", "tanh"), depth=200))
    meas = r.tables["chain"].query("dtype == 'float64'").set_index(["function", "layer"])["value"]
    theory = r.tables["chain_theory"].query("curve == 'typical'").set_index(["function", "layer"])["value"]
    for fn in ("sigmoid", "tanh"):
        ratio = np.log10(meas.loc[(fn, 200)]) / np.log10(theory.loc[(fn, 200)])
        assert ratio == pytest.approx(1.0, abs=0.05)


def test_sigmoid_product_is_bounded_by_a_quarter_per_layer():
    r = section("chain", act.Params(functions=("sigmoid",), depth=50))
    meas = r.tables["chain"].query("dtype == 'float64'")["value"].to_numpy()
    assert np.all(meas <= 0.25 ** np.arange(1, 51) * (1 + 1e-9))


def test_fp16_and_fp32_underflow_where_a_quarter_per_layer_says():
    # s -> 0: every factor is sigmoid'(0) = 1/4 = 2^-2, so the product is 2^-2L.
    p = act.Params(functions=("sigmoid",), depth=100, input_std=0.01)
    limits = section("chain", p).tables["chain_limits"].set_index("dtype")
    assert limits.loc["float16", "subnormal_at"] in (7, 8)  # 2^-14, smallest normal
    assert limits.loc["float16", "zero_at"] in (12, 13)  # 2^-24, smallest subnormal
    assert limits.loc["float32", "zero_at"] in (75, 76)  # 2^-149
    assert math.isnan(limits.loc["float64", "zero_at"])  # 2^-200 is fine in float64


def test_selu_product_overflows_where_its_typical_factor_says():
    p = act.Params(functions=("selu",), depth=400, input_std=0.01)
    limits = section("chain", p).tables["chain_limits"].set_index("dtype")
    # z ~ 0+-: SELU' is lambda = 1.0507 or lambda*alpha = 1.7581 with equal odds, so the median
    # grows like exp(L (ln 1.0507 + ln 1.7581) / 2): past 65504 near L = 36, past 3.4e38 near L = 289.
    rate = (math.log(1.0507) + math.log(1.0507 * 1.6733)) / 2
    assert limits.loc["float16", "inf_at"] == pytest.approx(math.log(65504) / rate, rel=0.15)
    assert limits.loc["float32", "inf_at"] == pytest.approx(math.log(3.4028e38) / rate, rel=0.1)
    assert math.isnan(limits.loc["float64", "inf_at"])


def test_relu_chain_is_exactly_zero_once_half_the_chains_died():
    meas = section("chain", act.Params(functions=("relu",), depth=5)).tables["chain"]
    assert (meas.query("layer >= 2")["value"] == 0).all()


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = section("saturation").tables["saturation"]
    b = section("saturation").tables["saturation"]
    c = section("saturation", act.Params(functions=P.functions, samples=P.samples, seed=1)).tables["saturation"]
    assert a.equals(b)
    assert not a["mean_grad_mc"].equals(c["mean_grad_mc"])


def test_params_reject_out_of_range_values_by_name():
    with pytest.raises(ValueError, match="depth must be 1 to 1000"):
        act.Params(depth=5000)
    with pytest.raises(ValueError, match="functions must be sigmoid, tanh"):
        act.Params(functions=("swish2",))


def test_a_step_gives_the_notes_grid_from_minus_8_to_8_by_a_tenth():
    """x_max = 8, x_step = 0.1: 161 points -8, -7.9, ..., 8 (as arange(-8, 8.1, 0.1)); sigmoid' peaks at 1/4 at 0,
    equals s(1 - s) (the formula, float64) and is s(8)(1 - s(8)) = 3.35e-4 at the end."""
    r = section("curves", act.Params(functions=("sigmoid",), x_max=8.0, x_step=0.1))
    x = r.tables["curves"]["x"].to_numpy()
    np.testing.assert_allclose(x, np.round(np.arange(-80, 81) / 10, 12), atol=1e-12)
    f = r.findings
    assert f["grid_points"] == 161 and f["grid_step"] == pytest.approx(0.1)
    assert f["max_df_sigmoid"] == pytest.approx(0.25, abs=1e-15)
    assert f["argmax_df_sigmoid"] == pytest.approx(0, abs=1e-9)
    s8 = 1 / (1 + math.exp(-8))
    assert f["df_at_x_max_sigmoid"] == pytest.approx(s8 * (1 - s8), rel=1e-12)
    df = r.tables["curves"]["df"].to_numpy()
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(df, s * (1 - s), atol=1e-15)


def test_without_a_step_the_grid_is_the_old_241_points():
    """x_step = 0 keeps what links opened before: 241 evenly spaced points over [-x_max, x_max]."""
    x = section("curves").tables["curves"].query("function == 'sigmoid'")["x"].to_numpy()
    np.testing.assert_allclose(x, np.linspace(-6, 6, 241), atol=1e-12)


def test_a_too_fine_step_is_widened_to_cover_the_range():
    """x_max = 50, x_step = 0.001 would need 100001 points: the step widens to 0.005 and the grid still ends at 50;
    the chart sends every function at most LAYER_ROWS rows."""
    from stabviz.charts import LAYER_ROWS
    from stabviz.figures.activations import curves_view

    p = act.Params(functions=("sigmoid", "tanh"), x_max=50.0, x_step=0.001)
    r = section("curves", p)
    assert r.findings["grid_points"] == act.MAX_GRID and r.findings["grid_last"] == pytest.approx(50.0)
    spec = curves_view(r, p, "en")[0].spec("en")
    assert sum(len(rows) for rows in spec["datasets"].values()) <= LAYER_ROWS + 2  # + each function's last x


def test_chain_findings_compare_the_product_with_its_theory():
    """Sigmoid, input std 2, 100 factors: the median product and exp(L E ln f') agree within a factor 3, below the
    bound (1/4)^100."""
    f = section("chain", act.Params(functions=("sigmoid",))).findings
    assert f["chain_last_bound_sigmoid"] == pytest.approx(0.25**100, rel=1e-9)
    assert 1 / 3 < f["chain_last_sigmoid"] / f["chain_last_typical_sigmoid"] < 3
    assert f["chain_last_sigmoid"] < f["chain_last_bound_sigmoid"]
    assert f["chain_median_sigmoid"] == f["chain_last_sigmoid"]  # the sweep's name for the same number


def test_saturation_findings_are_the_closed_forms_under_a_gaussian_input():
    """z ~ N(0, 4), threshold 0.05. ReLU: f' = 1 on z > 0, so half saturate and E f'^2 = 1/2. tanh: 1 - tanh^2 z < t
    where |z| > atanh(sqrt(1 - t)), a share erfc(atanh(sqrt(1 - t)) / (2 sqrt 2)). Monte Carlo: the table's numbers."""
    r = section("saturation")
    f, table = r.findings, r.tables["saturation"].set_index("function")
    assert f["saturated_quad_relu"] == pytest.approx(0.5, abs=1e-4)
    assert f["mean_sq_grad_quad_relu"] == pytest.approx(0.5, abs=1e-4)
    edge = math.atanh(math.sqrt(1 - P.threshold))
    assert f["saturated_quad_tanh"] == pytest.approx(math.erfc(edge / (P.input_std * math.sqrt(2))), abs=1e-4)
    for fn in P.functions:
        assert f[f"saturated_mc_{fn}"] == table.loc[fn, "saturated_mc"]
        assert f[f"mean_sq_grad_mc_{fn}"] == table.loc[fn, "mean_sq_grad_mc"]


def test_a_step_wider_than_the_range_still_draws_both_ends():
    """x_max = 0.5, x_step = 10: the step shrinks to the range, and the grid is -0.5 and 0.5."""
    r = section("curves", act.Params(functions=("sigmoid",), x_max=0.5, x_step=10.0))
    assert r.findings["grid_points"] == 2 and r.findings["grid_step"] == pytest.approx(1.0)
    np.testing.assert_allclose(r.tables["curves"]["x"], [-0.5, 0.5])
