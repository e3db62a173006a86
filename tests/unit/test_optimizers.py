"""The optimizers engine against the mathematics of gradient descent on quadratics."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.experiments import optimizers as opt
from stabviz.experiments import run_section
from stabviz.experiments.optimizers_run import OPTIMIZERS, clip_rows, reference_loop, run_batch
from stabviz.runtime import WORK_BUDGET, BudgetError
from stabviz.surfaces import surface_fn

SECTIONS = {s.name: s for s in opt.SECTIONS}


def section(name, p):
    return run_section(SECTIONS[name], p)


def gd_on_ax2(a, lr, steps=30):
    """Plain GD on a*x^2 (+ 0.01 y^2, with y0 = 0) from x0 = 1, in float64."""
    p = opt.Params(surface="quadratic", a=a, b=0.01, x0=1.0, y0=0.0, optimizers=("sgd",), lr=lr, steps=steps,
                   dtype="float64")
    return section("trajectories", p).tables["paths"]


@pytest.mark.parametrize("a", [0.5, 2.0, 10.0])
def test_gd_on_ax2_converges_below_lr_1_over_a_and_diverges_above(a):
    below, above = gd_on_ax2(a, 0.95 / a), gd_on_ax2(a, 1.05 / a)
    assert abs(below["x"].iloc[-1]) < 0.1 * abs(below["x"].iloc[0])
    assert abs(above["x"].iloc[-1]) > 2.0 * abs(above["x"].iloc[0])


def test_gd_iterates_follow_the_per_step_factor_one_minus_2_lr_a():
    paths = gd_on_ax2(4.0, 0.2, steps=10)
    np.testing.assert_allclose(paths["x"], (1 - 2 * 0.2 * 4.0) ** paths["step"], rtol=1e-12)


def test_sweep_matches_gd_theory_and_finds_the_threshold():
    p = opt.Params(a=5.0, b=1.0, optimizers=("sgd", "adam"), sweep_lo=0.01, sweep_hi=1.0, sweep_points=61,
                   sweep_steps=40, dtype="float64")
    r = section("sweep", p)
    sgd = r.tables["sweep"].query("optimizer == 'sgd'")
    theory = r.tables["sweep_theory"]
    np.testing.assert_allclose(sgd["final_loss"], theory["final_loss"], rtol=1e-9)
    assert r.findings["gd_threshold_theory"] == pytest.approx(0.2)
    step = (1.0 / 0.01) ** (1 / 60)  # one grid step of the log-spaced sweep
    assert 0.2 < r.findings["first_diverging_lr_sgd"] <= 0.2 * step**2


@pytest.mark.parametrize("clip", ["none", "norm", "value"])
def test_batched_engine_matches_the_per_point_notebook_loop(clip):
    p = opt.Params(surface="rosenbrock", optimizers=OPTIMIZERS, starts=3, lr=1e-3, clip=clip, clip_at=5.0,
                   dtype="float64")
    starts = opt.start_points(p, torch.device("cpu"))
    fn = surface_fn("rosenbrock")
    batched = run_batch(fn, OPTIMIZERS, starts, 25, p.hyper())
    np.testing.assert_allclose(batched, reference_loop(fn, OPTIMIZERS, starts, 25, p.hyper()), rtol=1e-12, atol=1e-12)


def test_per_point_norm_clipping_equals_torch_clip_grad_norm():
    p = opt.Params(clip="norm", clip_at=1.5)
    grads = torch.tensor([[3.0, 4.0], [0.3, 0.4], [-6.0, 8.0]], dtype=torch.float64)
    t = torch.zeros_like(grads, requires_grad=True)
    t.grad = grads.clone()
    clip_rows([t], p.hyper())
    for row, g in zip(t.grad, grads, strict=True):
        single = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        single.grad = g.clone()
        torch.nn.utils.clip_grad_norm_([single], 1.5)
        torch.testing.assert_close(row, single.grad)


def test_divergence_is_kept_and_marked_where_it_happens():
    p = opt.Params(surface="quadratic", a=10.0, optimizers=("sgd", "adam"), lr=5.0, steps=400, dtype="float32")
    r = section("trajectories", p)
    paths, fates = r.tables["paths"], r.tables["fates"].set_index("optimizer")
    assert len(paths) == 2 * 401  # no row dropped
    sgd = paths.query("optimizer == 'sgd'")
    assert fates.at["sgd", "first_outside"] == 1  # |x| grows 99x per step
    first_bad = fates.at["sgd", "first_nonfinite"]
    assert np.isfinite(first_bad) and (sgd.loc[sgd["step"] >= first_bad, "status"] == "nonfinite").all()
    assert np.isnan(fates.at["adam", "first_nonfinite"])
    assert r.findings["diverged"] >= 1


def test_feature_scaling_diverges_along_the_steep_axis_only():
    r = section("scaling", opt.Params(x0=1.0, y0=1.0, stretch=20.0, scale_lr=0.06, steps=40, dtype="float64"))
    t = r.tables["scaling"]
    stretched, round_ = t.query("bowl == 'stretched'"), t.query("bowl == 'round'")
    assert abs(stretched["x"].iloc[-1]) > 100 and abs(stretched["y"].iloc[-1]) < 0.02
    assert abs(round_["x"].iloc[-1]) < 0.02
    np.testing.assert_allclose(t["x"], t["x_theory"], rtol=1e-9)
    np.testing.assert_allclose(t["y"], t["y_theory"], rtol=1e-9)
    assert r.findings["threshold_stretched"] == pytest.approx(0.05)


def test_same_params_same_numbers_and_the_seed_moves_the_starts():
    p = opt.Params(starts=4, optimizers=("momentum", "rmsprop"))
    a, b = section("trajectories", p), section("trajectories", p)
    pd.testing.assert_frame_equal(a.tables["paths"], b.tables["paths"])
    c = section("trajectories", opt.Params(starts=4, optimizers=("momentum", "rmsprop"), seed=1))
    assert not np.allclose(a.tables["paths"]["x"], c.tables["paths"]["x"])


def test_work_past_the_budget_is_refused_before_running():
    with pytest.raises(BudgetError):
        section("trajectories", opt.Params(optimizers=OPTIMIZERS, starts=32, steps=2000))
    with pytest.raises(BudgetError):
        section("sweep", opt.Params(sweep_points=200, sweep_steps=2000))
    assert all(s.work(opt.Params()) < 0.2 * WORK_BUDGET for s in opt.SECTIONS)  # defaults: well inside


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_low_precision_runs_every_optimizer_and_clipping(dt):
    p = opt.Params(optimizers=OPTIMIZERS, starts=2, steps=20, clip="norm", dtype=dt)
    assert len(section("trajectories", p).tables["paths"]) == 7 * 2 * 21


def test_a_user_formula_with_a_nan_region_is_descended_without_raising():
    p = opt.Params(surface="formula", formula="log(x) + y^2", x0=0.05, y0=1.0, optimizers=("sgd",), lr=1.0, steps=5,
                   dtype="float64")
    paths = section("trajectories", p).tables["paths"]
    assert paths["x"].iloc[1] < 0 and (paths["status"].iloc[2:] == "nonfinite").all()  # log of a negative: nan, kept


# ---- the lesson's scenes (Lesson 5, scenes 1-3 and 7-9; Lesson 3's adaptive steps) ----

def scene(**kw):
    """The trajectories tab on 10x² + y² in float64."""
    return section("trajectories", opt.Params(surface="quadratic", a=10.0, b=1.0, dtype="float64", **kw))


def test_the_measured_contraction_factor_is_one_minus_2_a_lr_on_each_axis():
    r = scene(points="0,100;-70,70;-100,0", optimizers=("sgd",), lr=0.01, steps=20)
    f = r.findings
    assert f["gd_factor_x_theory"] == pytest.approx(1 - 2 * 10 * 0.01) and f["gd_factor_y_theory"] == 0.98
    assert f["factor_x_sgd"] == pytest.approx(0.8, rel=1e-12) and f["factor_y_sgd"] == pytest.approx(0.98, rel=1e-12)
    paths = r.tables["paths"].query("start == 1")
    np.testing.assert_allclose(paths["x"], -70 * 0.8 ** paths["step"], rtol=1e-12)
    assert f["final_y_sgd_3"] == 0.0 and f["final_x_sgd_1"] == 0.0  # a coordinate at 0 stays there
    assert r.findings["trajectories"] == 3 and not f["diverged_sgd_2"]


def test_far_starts_get_a_square_map_around_them_and_the_default_keeps_its_box():
    r = scene(points="0,100;-70,70;-100,0", optimizers=("sgd",), lr=0.01, steps=20)
    box = r.tables["box"].iloc[0]
    assert (box["x_lo"], box["x_hi"], box["y_lo"], box["y_hi"], box["fitted"]) == (-110, 110, -110, 110, True)
    assert (r.tables["paths"]["status"] == "ok").all()
    grid = r.tables["contour"]
    assert (grid["x"].min(), grid["y"].max(), len(grid)) == (-110, 110, opt.GRID**2)  # the same budgeted grid
    default = section("trajectories", opt.Params()).tables["box"].iloc[0]
    assert not default["fitted"] and (default["x_lo"], default["y_hi"]) == (-2, 2)


def test_zigzag_scene_the_x_factor_is_minus_one():
    f = scene(points="100,500;0,-500", optimizers=("sgd",), lr=0.1, steps=10).findings
    assert f["factor_x_sgd"] == pytest.approx(-1.0, rel=1e-12) and f["factor_y_sgd"] == pytest.approx(0.8, rel=1e-12)
    assert f["final_x_sgd_1"] == pytest.approx(100.0, rel=1e-12)  # x flips sign every step, never shrinks
    assert f["final_y_sgd_2"] == pytest.approx(-500 * 0.8**10, rel=1e-12) and f["final_x_sgd_2"] == 0.0


def notes_momentum(start, lr, beta, steps, a=10.0, b=1.0):
    """The notes' plain momentum, v <- beta v - lr g; x <- x + v from v = 0, on a x² + b y² (g = (2ax, 2by))."""
    x, v, out = np.array(start, dtype=float), np.zeros(2), []
    for _ in range(steps + 1):
        out.append(x.copy())
        v = beta * v - lr * np.array([2 * a * x[0], 2 * b * x[1]])
        x = x + v
    return np.array(out)


@pytest.mark.parametrize(("beta", "lr", "steps"), [(0.8, 0.01, 20), (0.5, 0.1, 6), (0.9, 0.09, 40)])
def test_torch_sgd_with_momentum_gives_the_notes_plain_momentum_iterates(beta, lr, steps):
    r = scene(points="momentum@-70,-70", momentum=beta, lr=lr, steps=steps)
    got = r.tables["paths"][["x", "y"]].to_numpy()
    np.testing.assert_allclose(got, notes_momentum((-70, -70), lr, beta, steps), rtol=1e-12, atol=1e-12)


def test_a_point_named_for_an_optimizer_runs_with_that_optimizer_only():
    r = scene(points="sgd@-70,70;momentum@-70,-70", optimizers=("sgd", "adam"), momentum=0.8, lr=0.01, steps=20)
    runs = r.tables["fates"][["optimizer", "start"]].values.tolist()
    assert runs == [["sgd", 0], ["momentum", 1]]  # adam is chosen but has no unnamed point to run from
    assert r.findings["final_y_momentum_2"] == pytest.approx(notes_momentum((-70, -70), 0.01, 0.8, 20)[-1, 1])
    assert abs(r.findings["final_y_momentum_2"]) < abs(r.findings["final_y_sgd_1"])  # momentum helps along y


def test_rmsprop_adam_and_adagrad_take_a_first_step_of_lr_per_coordinate_whatever_the_gradient():
    r = scene(points="-70,70", optimizers=("sgd", "adagrad", "rmsprop", "adam"), lr=0.11, lr_adaptive=3.0, steps=50)
    f = r.findings
    assert f["first_step_adagrad_1"] == pytest.approx(3 * math.sqrt(2), rel=1e-9)
    assert f["first_step_adam_1"] == pytest.approx(3 * math.sqrt(2), rel=1e-9)
    assert f["first_step_rmsprop_1"] == pytest.approx(3 * math.sqrt(2) / math.sqrt(1 - 0.99), rel=1e-9)
    assert f["first_step_sgd_1"] == pytest.approx(0.11 * math.hypot(20 * 70, 2 * 70), rel=1e-12)
    assert f["gd_factor_x_theory"] == pytest.approx(-1.2) and f["factor_x_sgd"] == pytest.approx(-1.2, rel=1e-12)
    assert (f["diverged_sgd_1"], f["diverged_at_sgd_1"]) == (True, 1)
    assert not f["diverged_adagrad_1"] and not f["diverged_adam_1"] and f["diverged_at_adam_1"] is None


def test_scaling_scene_from_far_the_stretched_bowl_diverges_only_past_lr_one_over_s():
    for lr, diverges in ((0.02, False), (0.04, False), (0.051, True)):
        r = section("scaling", opt.Params(x0=-60.0, y0=70.0, stretch=20.0, scale_lr=lr, steps=10, dtype="float64"))
        f = r.findings
        assert f["measured_factor_x_stretched"] == pytest.approx(1 - 2 * lr * 20, rel=1e-12)
        assert f["measured_factor_x_round"] == pytest.approx(1 - 2 * lr, rel=1e-12)
        assert (f["diverged_stretched"], f["diverged_round"]) == (diverges, False)
        box = r.tables["scaling_box"].iloc[0]
        assert box["fitted"] and box["x_hi"] >= 77 and (r.tables["scaling"]["status"] == "ok").all()


def test_work_counts_every_listed_point():
    listed = opt.Params(points=";".join(["1,1"] * 8), optimizers=OPTIMIZERS, steps=1000)
    single = opt.Params(points="1,1", optimizers=OPTIMIZERS, steps=1000)
    assert SECTIONS["trajectories"].work(listed) > SECTIONS["trajectories"].work(single)
