"""Newton's method against its textbook rates: one step, 2/3, 1/2, and quadratic convergence."""

import math

import numpy as np
import pandas as pd
import pytest

from stabviz.experiments import newton as nt
from stabviz.experiments import run_section

SECTIONS = {s.name: s for s in nt.SECTIONS}


def paths(**kw):
    p = nt.Params(perturb=0.0, **kw)
    r = run_section(SECTIONS["descent"], p)
    return r.tables["newton_paths"], r


def method(table, name):
    return table[table["method"] == name].reset_index(drop=True)


def test_newton_reaches_the_minimum_of_a_quadratic_in_one_step():
    t, _ = paths(surface="quadratic", a=3.0, b=0.5, x0=1.3, y0=-0.7, methods=("newton",), steps=3)
    assert np.abs(t.loc[t["step"] >= 1, ["x", "y"]].to_numpy()).max() < 1e-12
    assert set(t["kind"]) == {"minimum"}
    assert t[["eig_min", "eig_max"]].iloc[0].tolist() == pytest.approx([1.0, 6.0])  # 2b, 2a


def test_on_the_degenerate_quartic_each_newton_step_multiplies_by_two_thirds():
    t, r = paths(surface="quartic", x0=1.5, y0=-0.9, methods=("newton",), steps=8)
    np.testing.assert_allclose(t["x"].to_numpy()[1:] / t["x"].to_numpy()[:-1], 2 / 3, rtol=1e-9)
    np.testing.assert_allclose(t["y"].to_numpy()[1:] / t["y"].to_numpy()[:-1], 2 / 3, rtol=1e-9)
    np.testing.assert_allclose(t[["x", "y"]], r.tables["newton_theory"][["x", "y"]], rtol=1e-9)


def test_on_the_cubic_newton_halves_the_coordinates_towards_the_saddle():
    t, _ = paths(surface="cubic", x0=1.0, y0=0.8, methods=("newton",), steps=10)
    np.testing.assert_allclose(t["x"], 0.5 ** t["step"], rtol=1e-9)
    np.testing.assert_allclose(t["y"], 0.8 * 0.5 ** t["step"], rtol=1e-9)
    assert t["loss"].iloc[-1] > 0  # converging to the saddle, not descending past it


def test_on_x2_minus_y2_newton_stops_at_the_saddle_while_gd_and_saddle_free_escape():
    t, _ = paths(surface="saddle", x0=1.0, y0=0.01, methods=("newton", "gd", "saddle_free"), lr=0.2, steps=15)
    newton, gd, sfn = (method(t, m) for m in ("newton", "gd", "saddle_free"))
    assert newton[["x", "y"]].iloc[-1].abs().max() < 1e-12 and newton["kind"].iloc[-1] == "saddle"
    assert abs(gd["y"].iloc[-1]) == pytest.approx(0.01 * 1.4**15, rel=1e-9)
    np.testing.assert_allclose(sfn["y"], 0.01 * 2.0 ** sfn["step"], rtol=1e-9)
    assert sfn["x"].iloc[-1] == pytest.approx(0.0, abs=1e-12)


def test_steps_to_diverge_is_the_step_gd_starts_to_grow_and_inf_for_newton():
    """On x^2 + y^2 with lr = 1.5 each GD step multiplies by 1 - 2·1.5 = -2: the loss is above its start from step 1
    on; Newton lands on the minimum and never diverges."""
    t, r = paths(surface="quadratic", a=1.0, b=1.0, x0=1.0, y0=1.0, methods=("gd", "newton"), lr=1.5, steps=5)
    np.testing.assert_allclose(method(t, "gd")["x"], (-2.0) ** np.arange(6), rtol=1e-12)
    f = r.findings
    assert f["steps_to_diverge_gd"] == f["diverged_at_gd"] == 1
    assert f["diverged_at_newton"] is None and f["steps_to_diverge_newton"] == math.inf


def test_gd_without_a_perturbation_converges_to_the_saddle_and_a_small_nudge_escapes():
    still, _ = paths(surface="saddle", x0=1.0, y0=0.0, methods=("gd",), lr=0.2, steps=40)
    assert still[["x", "y"]].iloc[-1].abs().max() < 1e-6
    r = run_section(SECTIONS["descent"], nt.Params(surface="saddle", x0=1.0, y0=0.0, perturb=1e-3, methods=("gd",),
                                                    lr=0.2, steps=40))
    assert abs(r.tables["newton_paths"]["y"].iloc[-1]) > 1.0


def test_saddle_free_newton_escapes_the_cubic_from_the_negative_side():
    t, _ = paths(surface="cubic", x0=-0.5, y0=0.4, methods=("newton", "saddle_free"), steps=6)
    assert method(t, "saddle_free")["x"].iloc[-1] == pytest.approx(-0.5 * 1.5**6, rel=1e-9)
    assert method(t, "newton")["x"].iloc[-1] == pytest.approx(-0.5 * 0.5**6, rel=1e-9)


def test_damped_newton_shrinks_by_one_minus_alpha_on_a_quadratic():
    t, _ = paths(surface="quadratic", x0=1.0, y0=1.0, methods=("damped",), damping=0.3, steps=5)
    np.testing.assert_allclose(t["x"], 0.7 ** t["step"], rtol=1e-9)


def roots(**kw):
    return run_section(SECTIONS["roots"], nt.Params(**kw))


def test_newton_sqrt2_reaches_1e_minus_12_in_a_handful_of_steps_with_doubling_digits():
    r = roots(roots=("sqrt",), k=2.0, r0=1.0, root_steps=8)
    assert r.findings["steps_to_1e-12_sqrt"] <= 5
    t = r.tables["roots"]
    assert t["r"].iloc[-1] == pytest.approx(2**0.5, abs=1e-15)
    quad = t[(t["step"] >= 2) & (t["digits"] < 12)]
    np.testing.assert_allclose(quad["digits"], quad["digits_predicted"], atol=0.1)  # d_{t+1} = 2 d_t + log10 2
    assert r.findings["verdict_sqrt"] == "converged"


def test_root_findings_as_numbers_count_the_notes_loop_and_name_the_true_root():
    """Steps of r <- (r + K/r)/2 from 1 until |r - sqrt K| <= 1e-12 sqrt K, counted by plain Python floats: 5 for
    K = 2; a flat tangent (r0 = 0) never gets there, written inf where steps_to_1e-12 is None."""
    r, steps = 1.0, 0
    while abs(r - 2**0.5) > 1e-12 * 2**0.5:
        r, steps = (r + 2 / r) / 2, steps + 1
    f = roots(roots=("sqrt", "cbrt"), k=2.0, r0=1.0, root_steps=8).findings
    assert f["steps_to_precision_sqrt"] == f["steps_to_1e-12_sqrt"] == steps == 5
    assert (f["true_root_sqrt"], f["true_root_cbrt"]) == (2**0.5, 2 ** (1 / 3))
    flat = roots(roots=("sqrt",), r0=0.0).findings
    assert flat["steps_to_1e-12_sqrt"] is None and flat["steps_to_precision_sqrt"] == math.inf


def test_cube_root_converges_quadratically_too():
    r = roots(roots=("cbrt",), k=10.0, r0=2.0, root_steps=8)
    assert r.findings["root_cbrt"] == pytest.approx(10 ** (1 / 3), rel=1e-15)


def test_float32_caps_the_correct_digits_near_seven():
    t = roots(roots=("sqrt",), r0=1.0, dtype="float32").tables["roots"]
    assert 6.5 < t["digits"].max() <= 7.3


def test_failures_are_reported_in_the_table_not_raised():
    r = roots(roots=("sqrt", "cbrt"), r0=0.0)
    assert r.findings["verdict_sqrt"] == r.findings["verdict_cbrt"] == "derivative_zero"
    assert len(r.tables["roots"]) == 2 * 9  # every iterate kept, inf/nan included
    assert not np.isfinite(r.tables["roots"]["r"].iloc[-1])
    fails = r.tables["root_failures"].set_index(["case", "root"])["verdict"]
    assert fails[("wrong_basin", "sqrt")] == "other_root"
    assert fails[("far_start", "sqrt")] == "not_converged"


def test_same_params_same_numbers():
    p = nt.Params(perturb=0.05, seed=3)
    a, b = (run_section(SECTIONS["descent"], p).tables["newton_paths"] for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    c = run_section(SECTIONS["descent"], nt.Params(perturb=0.05, seed=4)).tables["newton_paths"]
    assert not np.allclose(a["y"], c["y"])


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32"])
def test_every_dtype_runs_and_keeps_every_row(dt):
    t, _ = paths(surface="rosenbrock", x0=-1.0, y0=1.0, methods=nt.METHODS, steps=10, dtype=dt)
    assert len(t) == 4 * 11
    assert set(t["kind"]) <= {"minimum", "saddle", "maximum", "degenerate", "nonfinite"}


# ---- the lesson's scenes (Lesson 5, scenes 4-6) ----

def test_scene_quartic_from_far_newton_ratio_is_two_thirds_to_1e_minus_12():
    t, r = paths(surface="quartic", x0=20.0, y0=30.0, methods=("newton", "gd"), lr=1e-4, steps=20)
    f = r.findings
    assert abs(f["ratio_x_newton"] - 2 / 3) < 1e-12 and abs(f["ratio_y_newton"] - 2 / 3) < 1e-12
    assert f["ratio_theory_x_newton"] == pytest.approx(2 / 3) and "ratio_theory_x_gd" not in f
    assert f["final_x_newton"] == pytest.approx(20 * (2 / 3) ** 20, rel=1e-12)
    gd = method(t, "gd")
    x = 20.0
    for _ in range(20):
        x -= 1e-4 * 40 * x**3  # the notes' gradient step on 10x⁴: the oracle the engine's autograd must match
    assert gd["x"].iloc[-1] == pytest.approx(x, rel=1e-12)
    box = r.tables["newton_box"].iloc[0]
    assert box["fitted"] and box["x_hi"] == 33 and (t["status"] == "ok").all()


def test_scene_cubic_newton_runs_100_steps_into_the_saddle_while_gd_runs_its_own_50():
    t, r = paths(surface="cubic", x0=40.0, y0=50.0, methods=("newton", "gd"), lr=0.0017, steps=100, gd_steps=50)
    f = r.findings
    assert (len(method(t, "newton")), len(method(t, "gd"))) == (101, 51)
    assert (f["steps_newton"], f["steps_gd"]) == (100, 50)
    assert f["ratio_x_newton"] == 0.5 and f["ratio_y_newton"] == 0.5  # halving is exact in binary
    x, y = 40.0, 50.0
    for _ in range(50):
        x, y = x - 0.0017 * 15 * x**2, y - 0.0017 * 3 * y**2
    assert (f["final_x_gd"], f["final_y_gd"]) == (pytest.approx(x, rel=1e-12), pytest.approx(y, rel=1e-12))
    assert f["final_loss_gd"] < 0 < f["final_loss_newton"] < 1e-80  # GD went downhill past the saddle's level


def test_gd_steps_zero_means_as_many_as_steps():
    t, r = paths(surface="quadratic", methods=("newton", "gd"), steps=7)
    assert len(method(t, "gd")) == len(method(t, "newton")) == 8 and r.findings["steps_gd"] == 7


def test_several_points_each_run_by_their_methods():
    t, r = paths(surface="cubic", points="newton@1,0.8;gd@-0.5,0.4;0.3,0.3", methods=("newton", "saddle_free"),
                 steps=6)
    runs = t.groupby(["method", "start"], sort=False).size()
    assert list(runs.index) == [("newton", 0), ("newton", 2), ("saddle_free", 2), ("gd", 1)]
    first = method(t, "newton").query("start == 0")
    np.testing.assert_allclose(first["x"], 0.5 ** first["step"], rtol=1e-12)
    assert r.findings["final_x_newton"] == pytest.approx(0.5**6)  # of the method's first start
    theory = r.tables["newton_theory"]
    assert set(zip(theory["method"], theory["start"], strict=True)) == {("newton", 0), ("newton", 2),
                                                                         ("saddle_free", 2)}


def notes_root(n, k, tol):
    """The notes' loops: x <- (x + K/x)/2 or x <- (2x + K/x²)/3 from 1 while |x^n - K| > tol; (steps, x)."""
    x, steps = 1.0, 0
    while abs(x**n - k) > tol:
        x = (x + k / x) / 2 if n == 2 else (2 * x + k / x**2) / 3
        steps += 1
    return steps, x


@pytest.mark.parametrize("k", [2.0, 3.0, 4.0])
def test_root_tolerance_stops_where_the_notes_loop_stops(k):
    r = roots(roots=("sqrt", "cbrt"), k=k, r0=1.0, root_steps=100, root_tol=1e-9)
    for name, n in (("sqrt", 2), ("cbrt", 3)):
        steps, x = notes_root(n, k, 1e-9)
        assert r.findings[f"steps_taken_{name}"] == steps and r.findings[f"verdict_{name}"] == "tolerance"
        assert r.findings[f"residual_{name}"] <= 1e-9 and r.findings[f"root_{name}"] == pytest.approx(x, rel=1e-15)
        assert len(r.tables["roots"].query("root == @name")) == steps + 1


@pytest.mark.parametrize("n", [2, 3])
def test_newton_on_r_to_the_n_minus_k_is_the_notes_update(n):
    t = roots(roots=("sqrt",) if n == 2 else ("cbrt",), k=3.0, r0=7.0, root_steps=12).tables["roots"]
    r = t["r"].to_numpy()
    notes = (r[:-1] + 3.0 / r[:-1]) / 2 if n == 2 else (2 * r[:-1] + 3.0 / r[:-1] ** 2) / 3
    np.testing.assert_allclose(r[1:], notes, rtol=4e-16)
    assert len(t) == 13  # no tolerance: every step is run, as before
