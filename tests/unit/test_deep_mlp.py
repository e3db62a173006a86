"""The deep-MLP engine against the mathematics a lecturer would cite.

Lyapunov growth of Gaussian matrix products, fp16 overflow/underflow thresholds of b^k,
geometric decay of gradients in a deep sigmoid net (and its mean-field prediction),
underflow to 0 in float16 flagged per layer, clipping bounding the total norm, determinism, budgets.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stabviz.experiments import deep_mlp as dm
from stabviz.experiments import run_section
from stabviz.experiments.deep_mlp_theory import lyapunov_gaussian, pair_moments
from stabviz.experiments.deep_mlp_train import RECORD_ROWS
from stabviz.runtime import BudgetError, dtype_range

EULER_GAMMA = 0.5772156649015329
SECTIONS = {s.name: s for s in dm.SECTIONS}


def test_lyapunov_constant_matches_closed_form() -> None:
    """lambda_1 = (ln 2 + psi(n/2)) / 2 with psi(2) = 1 - gamma and psi(1) = -gamma."""
    assert lyapunov_gaussian(4) == pytest.approx((math.log(2) + 1 - EULER_GAMMA) / 2, rel=1e-12)
    assert lyapunov_gaussian(2) == pytest.approx((math.log(2) - EULER_GAMMA) / 2, rel=1e-12)


def test_gaussian_products_grow_at_the_lyapunov_rate() -> None:
    """40 products of 100 random 4x4 matrices: fitted growth of ln||M_k|| within 0.03 of lambda_1 = 0.558."""
    r = dm.products(dm.Params(mat_size=4, mat_count=100, mat_runs=40, dtype="float64"))
    assert r.findings["lyapunov_measured"] == pytest.approx(r.findings["lyapunov_theory"], abs=0.03)
    assert len(r.tables["products"]) == 40 * 100
    assert (r.tables["products"]["state"] == "finite").all()


def test_products_overflow_in_float16_is_kept_and_flagged() -> None:
    """e^(0.558 k) passes 65504 near k = 20: the float16 product shows inf (or nan) rows, none dropped."""
    table = dm.products(dm.Params(mat_count=60, mat_runs=5, dtype="float16")).tables["products"]
    assert len(table) == 5 * 60
    late = table[table["k"] >= 50]
    assert late["state"].isin(["inf", "nan"]).all()
    assert (table[table["k"] <= 3]["state"] == "finite").all()


def test_scalar_powers_overflow_and_underflow_where_expected() -> None:
    """1.5^27 = 56815 fits float16 (max 65504), 1.5^28 = 85223 is inf; 0.8^k rounds to 0 at k = 78."""
    r = dm.scalar(dm.Params(grow=1.5, shrink=0.8, powers=100))
    assert r.findings["grow_float16_inf_at"] == 28
    assert r.findings["shrink_float16_zero_at"] == 78  # 0.8^78 < 2^-25, half the smallest subnormal
    assert math.isnan(r.findings["grow_float32_inf_at"])  # 1.5^100 = 4e17 fits float32
    f = r.findings  # the same k named dtype last, a sweep's series, beside theory's k from the dtype's range
    assert (f["grow_inf_at_float16"], f["shrink_zero_at_float16"]) == (28, 78)
    assert (f["grow_inf_theory_float16"], f["shrink_zero_theory_float16"]) == (28, 78)
    assert math.isnan(f["grow_inf_at_float32"])  # not within 100 powers; 1.5^k passes float32's 2^128 at k = 219
    assert f["grow_inf_theory_float32"] == math.ceil(128 * math.log(2) / math.log(1.5)) == 219
    power = r.tables["scalar"].query("method == 'power' and factor == 'grow' and dtype == 'float16'")
    assert power.set_index("k").loc[27, "state"] == "finite" and power.set_index("k").loc[28, "state"] == "inf"
    limits = r.tables["scalar_limits"]
    for col in ("inf_at", "zero_at"):
        known = limits[col].notna()
        assert (limits.loc[known, col] - limits.loc[known, f"{col}_theory"]).abs().max() <= 1
    assert len(r.tables["scalar"]) == 2 * 4 * 2 * 101


def test_float32_limits_at_large_powers() -> None:
    """float32: 1.5^k overflows at k = 219 (ln(3.4e38)/ln 1.5 = 218.8), 0.8^k reaches 0 at 466 (subnormal 1.4e-45)."""
    r = dm.scalar(dm.Params(powers=500))
    assert r.findings["grow_float32_inf_at"] == 219
    assert r.findings["shrink_float32_zero_at"] == 466
    assert math.isnan(r.findings["shrink_float64_zero_at"])


def test_repeated_multiplication_sticks_at_a_subnormal() -> None:
    """Round to nearest: 2 ulp x 0.8 = 1.6 ulp rounds back to 2 ulp, so 0.8 * 0.8 * ... never reaches 0 in fp16."""
    table = dm.scalar(dm.Params(powers=200)).tables["scalar"]
    fp16 = table.query("method == 'repeated' and factor == 'shrink' and dtype == 'float16'").set_index("k")
    assert fp16.loc[200, "value"] == pytest.approx(2 * dtype_range("float16")[0], rel=1e-12)


def test_sigmoid_gradients_decay_geometrically_as_mean_field_predicts() -> None:
    """Sigmoid + Xavier, 30 layers: log10 ||dW_l|| is linear in l (factor ~0.23 per layer)
    and within 0.35 decades of theory."""
    r = dm.gradient_flow(dm.Params(depth=30, width=128, batch=32, dtype="float64"))
    flow, theory = r.tables["gradient_flow"], r.tables["gradient_flow_theory"]
    logs = np.log10(flow["weight_grad_norm"].to_numpy())
    fit = np.polyfit(flow["layer"], logs, 1, full=True)
    assert fit[1][0] / len(logs) < 0.05  # mean squared residual (decades^2): a straight line on the log axis
    assert 0.18 < r.findings["flow_factor_per_layer"] < 0.28
    assert r.findings["flow_factor_per_layer"] == pytest.approx(r.findings["flow_factor_per_layer_theory"], rel=0.1)
    assert np.abs(logs - np.log10(theory["value"].to_numpy())).max() < 0.35
    assert logs[0] < logs[-1] - 15


def test_relu_moments_match_the_arc_cosine_kernel() -> None:
    """E relu(a)relu(b) = q/(2 pi) (sqrt(1 - r^2) + (pi - arccos r) r), E relu'(a)relu'(b) = 1/4 + arcsin(r)/(2 pi)."""
    q = 2.0
    for r in (0.0, 0.5, 0.9):
        m, mk, d2, dk = pair_moments("relu", q, r * q)
        assert m == pytest.approx(q / 2, abs=1e-6) and d2 == pytest.approx(0.5, abs=1e-6)
        assert mk == pytest.approx(q / (2 * math.pi) * (math.sqrt(1 - r * r) + (math.pi - math.acos(r)) * r), abs=5e-3)
        assert dk == pytest.approx(0.25 + math.asin(r) / (2 * math.pi), abs=1e-2)


def test_float16_gradients_underflow_to_zero_near_the_input() -> None:
    """Layers whose float64 gradient entries are below 2^-27 (an eighth of fp16's smallest subnormal)
    are flagged zero."""
    base = dict(depth=30, width=128, batch=32)
    exact = dm.gradient_flow(dm.Params(**base, dtype="float64")).tables["gradient_flow"]
    half = dm.gradient_flow(dm.Params(**base, dtype="float16")).tables["gradient_flow"]
    rms = exact["weight_grad_norm"].to_numpy() / 128
    tiny = rms < 2.0**-27
    big = rms > dtype_range("float16")[1]
    assert tiny.any() and big.any()
    assert (half.loc[tiny, "state"] == "zero").all() and (half.loc[tiny, "zero_frac"] == 1.0).all()
    assert (half.loc[big, "state"] == "finite").all()
    np.testing.assert_allclose(half.loc[big, "weight_grad_norm"], exact.loc[big, "weight_grad_norm"], rtol=2e-2)


def test_exploding_float16_net_is_flagged_not_dropped() -> None:
    """ReLU with N(0, 1) weights at width 128 multiplies the signal by ~8 per layer: fp16 overflows, every row kept."""
    r = dm.gradient_flow(dm.Params(depth=20, activation="relu", init="normal", std=1.0, dtype="float16"))
    flow = r.tables["gradient_flow"]
    assert len(flow) == 20 and flow["state"].isin(["inf", "nan"]).all()
    assert r.findings["flow_layers_finite"] == 0


def test_deep_sigmoid_net_learns_only_near_the_output() -> None:
    """Sigmoid, 15 hidden layers: the first layer's gradient is < 1e-6 of the last's and its weights barely move."""
    r = dm.train(dm.Params(steps=40))
    layers = r.tables["train_layers"]
    first_step = layers[layers["step"] == layers["step"].min()].set_index("layer")
    assert first_step.loc[1, "grad_norm"] < 1e-6 * first_step.loc[15, "grad_norm"]
    assert r.findings["train_change_first_layer"] < 1e-6 * r.findings["train_change_last_hidden_layer"]


def test_clipping_bounds_the_total_norm_and_tames_divergence() -> None:
    """ReLU/He at lr 0.5 diverges to nan; clip_grad_norm_(max_norm=1) keeps every applied norm <= 1
    and training finite."""
    base = dict(activation="relu", init="kaiming_normal", lr=0.5, steps=50)
    wild = dm.train(dm.Params(**base)).tables["train_loss"]
    tame = dm.train(dm.Params(**base, clip=True, max_norm=1.0))
    loss = tame.tables["train_loss"]
    assert not np.isfinite(wild["loss"].iloc[-1])
    np.testing.assert_array_equal(wild["applied_norm"], wild["total_norm"])  # nan == nan here
    assert (loss["applied_norm"] <= 1.0 * (1 + 1e-5)).all()
    clipped = loss["total_norm"] > 1.0
    assert clipped.any() and tame.findings["train_clipped_steps"] == int(clipped.sum())
    assert np.isfinite(loss["loss"]).all() and loss["loss"].iloc[-10:].mean() < loss["loss"].iloc[:10].mean()


def test_training_tables_are_thinned_and_progress_is_reported() -> None:
    """Recorded steps x layers stays under the chart limit, the last step is kept, progress ends at 1."""
    seen: list[float] = []
    p = dm.Params(steps=400, train_depth=30, train_width=8, train_batch=4)
    r = run_section(SECTIONS["training"], p, seen.append)
    layers = r.tables["train_layers"]
    assert len(layers) <= RECORD_ROWS + 31 and layers["step"].max() == 400
    assert len(r.tables["train_loss"]) == 400
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 10


@pytest.mark.parametrize("name", ["gradient_flow", "products", "training"])
def test_same_params_same_numbers(name: str) -> None:
    """Private generators: a repeat gives identical tables; another seed gives different ones."""
    p = dm.Params(steps=20, depth=10, mat_count=20)
    a, b = run_section(SECTIONS[name], p), run_section(SECTIONS[name], p)
    c = run_section(SECTIONS[name], dm.Params(steps=20, depth=10, mat_count=20, seed=1))
    for key in a.tables:
        pd.testing.assert_frame_equal(a.tables[key], b.tables[key])
    first = next(iter(a.tables))
    assert not a.tables[first].equals(c.tables[first])


def test_huge_requests_are_refused_before_running() -> None:
    """Depth 256 x width 2048 x batch 1024 and a 2000-step wide training run exceed the budget."""
    with pytest.raises(BudgetError):
        run_section(SECTIONS["gradient_flow"], dm.Params(depth=256, width=2048, batch=1024))
    with pytest.raises(BudgetError):
        run_section(SECTIONS["training"], dm.Params(train_depth=100, train_width=512, steps=2000, train_batch=512))


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16", "float16"])
def test_defaults_fit_the_budget_in_every_dtype(dtype: str) -> None:
    """The page's defaults never get refused, whatever dtype the sidebar holds."""
    p = dm.Params(dtype=dtype)
    for section in dm.SECTIONS:
        assert section.work(p.project(section.uses)) < 3e9


def test_theory_resolves_wide_preactivations_where_the_net_explodes() -> None:
    """std 3 on width 128: z ~ N(0, 24^2), E sigmoid'(z)^2 = 1/(6 * 24 sqrt(2 pi)) and 9*128*that > 1:
    the gradient grows towards the input, in theory as in float32 (Hermite nodes used to miss sigmoid' here)."""
    _, _, d2, _ = pair_moments("sigmoid", 576.0, 0.0)
    assert d2 == pytest.approx(1 / (6 * 24 * math.sqrt(2 * math.pi)), rel=0.02)
    p = dm.Params(depth=60, width=128, batch=32, init="normal", std=3.0)
    table = dm.gradient_flow(p).tables["gradient_flow"].set_index("layer")["weight_grad_norm"]
    theory = dm.gradient_flow(p).tables["gradient_flow_theory"].set_index("layer")["value"]
    assert table.loc[1] > 1e10 * table.loc[60]  # exploding towards the input
    assert abs(math.log10(theory.loc[1]) - math.log10(table.loc[1])) < 3  # within 3 decades after 60 layers


def test_scalar_findings_name_the_lectures_numbers() -> None:
    """1.5^100 = 4.07e17 and 0.8^100 = 2.04e-10 (float64, beside math.pow); float16 has 65504 and 2^-24, so its
    1.5^100 is inf and its 0.8^100 is 0."""
    f = dm.scalar(dm.Params()).findings
    assert f["grow_power_float64"] == pytest.approx(1.5**100, rel=1e-12)
    assert f["shrink_power_float64"] == pytest.approx(0.8**100, rel=1e-12)
    assert f["grow_power_exact"] == pytest.approx(4.0656e17, rel=1e-4)
    assert f["shrink_power_exact"] == pytest.approx(2.037e-10, rel=1e-3)
    assert f["float16_max"] == 65504 and f["float16_smallest_subnormal"] == 2.0**-24
    assert math.isinf(f["grow_power_float16"]) and f["shrink_power_float16"] == 0


def test_products_final_size_is_the_lyapunov_prediction() -> None:
    """D2L's 4 x 4 demo, a matrix times 100 more: log10 ||product|| ~ log10(2) + 101 lambda_1 / ln 10 = 24.8 (entries
    ~1e25); 20 runs average within a decade, and the largest entry is within a decade of the norm."""
    f = dm.products(dm.Params(mat_count=101, mat_runs=20, dtype="float64")).findings
    theory = math.log10(2) + 101 * lyapunov_gaussian(4) / math.log(10)
    assert f["products_log10_norm_last_theory"] == pytest.approx(theory, rel=1e-12)
    assert f["products_log10_norm_last"] == pytest.approx(theory, abs=1.0)
    assert 0 <= f["products_log10_norm_last"] - f["products_log10_max_entry_last"] < 1
    assert f["lyapunov_growth_per_matrix_theory"] == pytest.approx(math.exp(lyapunov_gaussian(4)), rel=1e-12)
