"""The 2-D test surfaces, the safe formula parser, start points from links, the fitted map box and the path
measures (per-step ratio, divergence) that lessons check."""

import math

import numpy as np
import pytest
import torch

from stabviz.experiments import newton as nt
from stabviz.experiments import optimizers as opt
from stabviz.experiments.optimizers_run import OPTIMIZERS
from stabviz.formula import check_formula, compile_formula
from stabviz.surfaces import (
    FIXED,
    SURFACES,
    Start,
    diverged_at,
    grid,
    parse_points,
    plot_box,
    runs_of,
    step_ratio,
    surface_fn,
)

HOSTILE = [
    "__import__('os').system('ls')",  # a call of a name outside the whitelist
    "x.__class__",  # attribute access
    "(lambda: 1)()",  # lambda
    "x ** 1000",  # huge exponent
    "9 ** 9 ** 9",  # a big-integer tower (the exponent is not a plain number)
    "x ** y",  # a variable exponent
    "x + " * 60 + "x",  # longer than 200 characters
    "[x for x in ()]",  # comprehension
    "open('/etc/passwd')",  # an unlisted function
    "sin(x, y)",  # wrong arity
    "sin(x=1)",  # keywords
    "'abc' * 3",  # a string
    "True + x",  # a bool
    "1e300 * x",  # a huge constant
    "x if y else 1",  # conditional
    "x; y",  # two statements
    "x == y",  # comparison
    "globals()",  # builtins
    "sin",  # a bare function name
    "2 + 3",  # no x or y
    "(" * 150 + "x" + ")" * 150,  # deep nesting and too long
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_formulas_are_rejected_with_a_value_error(text):
    with pytest.raises(ValueError):
        check_formula(text)


@pytest.mark.parametrize("text", HOSTILE[:6])
def test_a_hostile_formula_in_a_link_becomes_a_warning_and_the_default(text):
    p, issues = opt.Params.parse({"surface": "formula", "formula": text})
    assert p.formula == opt.Params().formula
    assert [i.name for i in issues] == ["formula"]


def test_formula_compiles_to_the_same_values_as_the_written_expression():
    f = compile_formula("x^2 - 3*y + sin(x)*exp(-y) + sqrt(abs(x)) / (1 + e) - pi + tanh(y)**2 + x**-2")
    x, y = torch.tensor([0.5, -1.25], dtype=torch.float64), torch.tensor([2.0, 0.25], dtype=torch.float64)
    expect = [a**2 - 3 * b + math.sin(a) * math.exp(-b) + math.sqrt(abs(a)) / (1 + math.e) - math.pi
              + math.tanh(b) ** 2 + a**-2 for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    assert f(x, y).tolist() == pytest.approx(expect, rel=1e-14)


def test_formula_gradient_comes_from_autograd():
    f = compile_formula("x^3 * y + log(y)")
    x, y = torch.tensor(2.0, requires_grad=True), torch.tensor(0.5, requires_grad=True)
    gx, gy = torch.autograd.grad(f(x, y), (x, y))
    assert (float(gx), float(gy)) == pytest.approx((3 * 4 * 0.5, 8 + 2))


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "himmelblau", "quartic"])
def test_known_minima_are_zero_with_zero_gradient(name):
    for mx, my in SURFACES[name].minima:
        x, y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (mx, my))
        loss = FIXED[name](x, y)
        grads = torch.autograd.grad(loss, (x, y))
        assert float(loss.detach()) == pytest.approx(0.0, abs=1e-9)
        assert max(abs(float(g)) for g in grads) < 1e-4


def test_grid_covers_the_box_in_long_form():
    g = grid(surface_fn("quadratic", 2.0, 3.0), (-1, 1, -2, 2), 5, torch.float64)
    assert len(g) == 25 and g["x"].min() == -1 and g["y"].max() == 2
    assert g.loc[(g["x"] == 1) & (g["y"] == 2), "loss"].item() == pytest.approx(2 + 12)


# ---- start points from a link, the fitted map, and the path measures the lessons check ----

def test_points_parse_with_spaces_case_and_method_prefixes():
    got = parse_points(" 0,100; -70 , 70 ;SGD@-100,0; momentum@ 1e2,-5e2;", OPTIMIZERS)
    assert got == (Start(0, 100), Start(-70, 70), Start(-100, 0, "sgd"), Start(100, -500, "momentum"))
    assert parse_points("", OPTIMIZERS) == () and parse_points(" ; ", OPTIMIZERS) == ()


HOSTILE_POINTS = [
    "nan,1", "inf,0", "1,-inf", "1e5,0", "0,-10000.5",  # not finite, or past ±1e4
    "1,2,3", "1", "a,b", "1;2", "", "1,2\n3,4",  # not x,y
    "magic@1,2", "sgd@momentum@1,2", "@@1,2", "__import__('os')@1,2",  # unknown method
    ";".join(["1,2"] * 9),  # more than 8 points
    "1," + "0" * 200,  # longer than 200 characters
]


@pytest.mark.parametrize("text", [t for t in HOSTILE_POINTS if t])
def test_hostile_points_are_refused_with_a_value_error(text):
    with pytest.raises(ValueError):
        parse_points(text, OPTIMIZERS)


@pytest.mark.parametrize("page", [opt, nt])
def test_hostile_points_in_a_link_warn_and_fall_back_to_the_single_start(page):
    p, issues = page.Params.parse({"points": "0,100;nan,1", "x0": "-70", "y0": "70"})
    assert p.points == "" and (p.x0, p.y0) == (-70.0, 70.0)
    assert [(i.name, i.reason.code) for i in issues] == [("points", "not_accepted")]


def test_runs_of_gives_named_points_to_their_method_only():
    assert runs_of(("sgd", "adam"), ["", "momentum", "sgd"]) == [("sgd", [0, 2]), ("adam", [0]), ("momentum", [1])]
    assert runs_of(("sgd",), ["momentum"]) == [("momentum", [0])]  # a method with no start is left out


def test_the_surfaces_own_box_is_kept_when_it_holds_every_start():
    base = SURFACES["rosenbrock"].box
    assert plot_box(base, np.array([[-1.5, 1.5], [2.0, -1.0]]), np.array([[1e6, 1e6]])) == base


def test_a_box_fitted_to_far_starts_is_square_about_the_centre_and_follows_paths_at_most_twice_as_far():
    starts = np.array([[0.0, 100.0], [-70.0, 70.0], [-100.0, 0.0]])
    assert plot_box((-2, 2, -2, 2), starts) == (-110.0, 110.0, -110.0, 110.0)  # PAD = 1.1 past the farthest
    near = np.array([[150.0, 0.0], [np.nan, np.inf]])  # non-finite points are ignored
    assert plot_box((-2, 2, -2, 2), starts, near) == (-170.0, 170.0, -170.0, 170.0)  # 1.1 * 150 rounded up
    assert plot_box((-2, 2, -2, 2), starts, np.array([[1e9, 0.0]])) == (-220.0, 220.0, -220.0, 220.0)
    assert plot_box((-2, 2, -1, 3), np.array([[0.0, 11.0]])) == (-11.0, 11.0, -10.0, 12.0)  # about (0, 1)


def test_step_ratio_is_the_median_per_step_factor_skipping_zeros_and_non_finite_steps():
    assert step_ratio(5.0 * 0.8 ** np.arange(20)) == pytest.approx(0.8, rel=1e-14)
    assert step_ratio(np.array([0.0, 0.0, 0.0])) != step_ratio(np.array([0.0, 0.0, 0.0]))  # nan: no ratio
    assert step_ratio(np.array([[4.0, 0.0], [2.0, 0.0], [1.0, 0.0], [np.inf, 0.0]])) == 0.5  # per column, pooled
    assert step_ratio(np.array([8.0, 4.0, 2.0, 8.0])) == 0.5  # the median: one odd step does not move it


def test_diverged_at_is_the_step_from_which_the_loss_stays_above_its_start():
    assert diverged_at(np.array([5.0, 4.0, 3.0])) is None
    assert diverged_at(np.array([5.0, 6.0, 4.0, 7.0, np.inf])) == 3
    assert diverged_at(np.array([5.0, 6.0, 4.0])) is None  # ends lower: not diverged
    assert diverged_at(np.array([5.0, np.nan])) == 1
