"""The optimizers engine against the mathematics of gradient descent on quadratics."""

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.experiments import optimizers as opt
from stabviz.experiments import run_section
from stabviz.experiments.optimizers_run import OPTIMIZERS, clip_rows, reference_loop, run_batch
from stabviz.experiments.optimizers_sweep import char_poly, lr_bound
from stabviz.i18n import LANGS, has, tr
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
    assert (f["diverged_sgd_1"], f["diverged_at_sgd_1"], f["steps_to_diverge_sgd_1"]) == (True, 1, 1.0)
    assert not f["diverged_adagrad_1"] and not f["diverged_adam_1"] and f["diverged_at_adam_1"] is None
    assert f["steps_to_diverge_adam_1"] == math.inf  # the numeric companion a sweep can plot: never diverged


def test_scaling_scene_from_far_the_stretched_bowl_diverges_only_past_lr_one_over_s():
    for lr, diverges in ((0.02, False), (0.04, False), (0.051, True)):
        r = section("scaling", opt.Params(x0=-60.0, y0=70.0, stretch=20.0, scale_lr=lr, steps=10, dtype="float64"))
        f = r.findings
        assert f["measured_factor_x_stretched"] == pytest.approx(1 - 2 * lr * 20, rel=1e-12)
        assert f["measured_factor_x_round"] == pytest.approx(1 - 2 * lr, rel=1e-12)
        assert (f["diverged_stretched"], f["diverged_round"]) == (diverges, False)
        assert f["steps_to_diverge_stretched"] == (1.0 if diverges else math.inf)  # from the first step on
        assert f["steps_to_diverge_round"] == math.inf
        box = r.tables["scaling_box"].iloc[0]
        assert box["fitted"] and box["x_hi"] >= 77 and (r.tables["scaling"]["status"] == "ok").all()


def test_work_counts_every_listed_point():
    listed = opt.Params(points=";".join(["1,1"] * 8), optimizers=OPTIMIZERS, steps=1000)
    single = opt.Params(points="1,1", optimizers=OPTIMIZERS, steps=1000)
    assert SECTIONS["trajectories"].work(listed) > SECTIONS["trajectories"].work(single)


# ---- stability bounds of heavy ball and Nesterov (issue 22) ----

@pytest.mark.parametrize(("name", "beta", "lr"), [("momentum", 0.9, 0.03), ("momentum", 0.5, 0.09),
                                                  ("nesterov", 0.9, 0.03), ("nesterov", 0.5, 0.09),
                                                  ("nesterov", 0.9, 0.07)])
def test_torch_momentum_and_nesterov_iterates_follow_their_characteristic_polynomial(name, beta, lr):
    """torch.optim.SGD(momentum=β[, nesterov=True]) on f = λx²/2 (here 10x², λ = 20; y stays 0) is the recurrence
    x_{t+1} = −c₁·x_t − c₀·x_{t−1} of z² + c₁z + c₀ = char_poly: heavy ball z² − (1 + β − h)z + β, Nesterov
    z² − (1 + β)(1 − h)z + β(1 − h), h = lr·λ; from v = 0 the first step is x₁ = (1 − h)x₀, resp. (1 − h(1 + β))x₀."""
    r = scene(points=f"{name}@1,0", optimizers=(name,), momentum=beta, lr=lr, steps=40)
    x = r.tables["paths"]["x"].to_numpy()
    h = lr * 20.0
    _, c1, c0 = char_poly(name, h, beta)
    assert x[1] == pytest.approx(1 - h * (1 + beta) if name == "nesterov" else 1 - h, rel=1e-12)
    np.testing.assert_allclose(x[2:], -c1 * x[1:-1] - c0 * x[:-2], rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_each_bound_is_where_a_root_of_the_characteristic_polynomial_leaves_the_unit_circle(name, beta):
    """The spectral radius of the iteration at lr = bound·(1 ± 1%): below 1 inside, above 1 past it, 1 at it."""
    lam = 20.0

    def radius(lr: float) -> float:
        return float(np.max(np.abs(np.roots(char_poly(name, lr * lam, beta)))))

    bound = lr_bound(name, lam, beta)
    assert radius(0.99 * bound) < 1 < radius(1.01 * bound)
    assert radius(bound) == pytest.approx(1.0, abs=1e-7)


def test_the_bounds_in_numbers():
    """β = 0.9, λ_max = 20: GD 2/20 = 0.1, heavy ball 3.8/20 = 0.19, Nesterov 3.8/(2.8·20) ≈ 0.0679; β = 0: all 2/λ."""
    assert lr_bound("sgd", 20.0, 0.9) == pytest.approx(0.1)
    assert lr_bound("momentum", 20.0, 0.9) == pytest.approx(0.19)
    assert lr_bound("nesterov", 20.0, 0.9) == pytest.approx(3.8 / 56)
    assert lr_bound("momentum", 20.0, 0.0) == lr_bound("nesterov", 20.0, 0.0) == pytest.approx(0.1)


@pytest.mark.parametrize(("name", "a", "b", "beta"), [("sgd", 10.0, 1.0, 0.9), ("momentum", 10.0, 1.0, 0.9),
                                                      ("nesterov", 10.0, 1.0, 0.9), ("momentum", 1.0, 4.0, 0.5),
                                                      ("nesterov", 1.0, 4.0, 0.5), ("nesterov", 3.0, 1.0, 0.99)])
def test_the_sweep_brackets_each_bound_on_a_fine_lr_grid(name, a, b, beta):
    """torch.optim on a·x² + b·y² (λ_max = 2·max(a, b)), 61 log-spaced learning rates within ±10% of the bound
    (one grid step 0.33%, the bound mid-step): the last swept lr whose final loss stays at or below the start is
    below the bound and the next one, the first diverging, above it. Bounds: GD 2/λ_max; heavy ball
    (2 + 2β)/λ_max (its polynomial z² − (1 + β − h)z + β has the root −1 at h = lr·λ = 2 + 2β); Nesterov
    (2 + 2β)/((1 + 2β)·λ_max) (z² − (1 + β)(1 − h)z + β(1 − h) has the root −1 at h = (2 + 2β)/(1 + 2β)).
    200 steps: enough for the first steps' growth below the bound (x₁ ≈ −(1 + 2β)x₀ for heavy ball) to die out."""
    bound = lr_bound(name, 2 * max(a, b), beta)
    p = opt.Params(a=a, b=b, optimizers=(name,), momentum=beta, sweep_lo=0.9 * bound, sweep_hi=1.1 * bound,
                   sweep_points=61, sweep_steps=200, dtype="float64")
    f = section("sweep", p).findings
    assert f[f"lr_bound_theory_{name}"] == pytest.approx(bound, rel=1e-12)
    below, above = f[f"last_stable_lr_{name}"], f[f"first_diverging_lr_{name}"]
    assert below < bound < above
    assert above / below == pytest.approx((1.1 / 0.9) ** (1 / 60), rel=1e-9)  # neighbours on the grid


def test_the_default_sweep_brackets_gd_and_heavy_ball_and_names_no_bound_for_adam():
    f = section("sweep", opt.Params()).findings  # sgd, momentum 0.9, adam on 10x² + y², 41 lrs in [0.001, 1]
    assert f["lr_bound_theory_sgd"] == f["gd_threshold_theory"] == pytest.approx(0.1)
    assert f["lr_bound_theory_momentum"] == pytest.approx(0.19)
    for name in ("sgd", "momentum"):
        assert f[f"last_stable_lr_{name}"] < f[f"lr_bound_theory_{name}"] < f[f"first_diverging_lr_{name}"]
    assert "lr_bound_theory_adam" not in f and math.isnan(f["first_diverging_lr_adam"])


# ---- declared findings: numbers, labelled, their theory where the mathematics gives one ----

FINDING_RUNS = {
    "trajectories": [opt.Params(), opt.Params(lr=0.11, optimizers=OPTIMIZERS, starts=2)],
    "sweep": [opt.Params(), opt.Params(optimizers=OPTIMIZERS, sweep_points=9)],
    "scaling": [opt.Params(), opt.Params(scale_lr=0.06)],
}


@pytest.mark.parametrize("name", list(FINDING_RUNS))
def test_declared_findings_are_numbers_with_a_label_and_their_theory(name):
    declared = SECTIONS[name].findings
    assert declared
    for p in FINDING_RUNS[name]:
        findings = section(name, p).findings
        for finding in declared:
            values = finding.series(findings)
            assert values, finding.key
            for series, v in values.items():
                assert not series.startswith("theory") and type(v) in (int, float), (finding.key, series, v)
                theory = finding.theory_of(findings, series)
                assert theory is None or type(theory) is float, (finding.key, series, theory)
        for key in [k for k, v in findings.items() if isinstance(v, bool) or v is None]:  # old keys, kept...
            twin = re.sub(r"^diverged(_at)?_", "steps_to_diverge_", key)  # ...each with a number beside it
            assert type(findings[twin]) is float, key
        for finding in declared:
            for part in ("label", "help"):
                key = f"optimizers.finding.{finding.name}.{part}"
                assert has(key) and all(tr(key, lang) for lang in LANGS), key
            assert len(tr(f"optimizers.finding.{finding.name}.label", "en")) <= 40


def test_each_optimizer_is_measured_against_its_own_theory():
    f = section("sweep", opt.Params(optimizers=("sgd", "momentum", "nesterov", "adam"))).findings
    first = SECTIONS["sweep"].findings[0]
    theory = {s: first.theory_of(f, s) for s in first.series(f)}
    assert theory == {"sgd": pytest.approx(0.1), "momentum": pytest.approx(0.19),
                      "nesterov": pytest.approx(3.8 / 56), "adam": None}
    traj = section("trajectories", opt.Params(lr=0.02)).findings
    fx = SECTIONS["trajectories"].findings[1]
    assert fx.theory_of(traj, "sgd") == pytest.approx(1 - 2 * 10 * 0.02) == traj["factor_x_sgd"]
    assert fx.theory_of(traj, "momentum") is None
