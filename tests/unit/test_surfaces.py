"""The 2-D test surfaces and the safe formula parser."""

import math

import pytest
import torch

from stabviz.experiments import optimizers as opt
from stabviz.formula import check_formula, compile_formula
from stabviz.surfaces import FIXED, SURFACES, grid, surface_fn

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
