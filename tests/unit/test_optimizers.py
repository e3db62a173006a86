"""The optimizers engine against the mathematics of gradient descent on quadratics."""

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
