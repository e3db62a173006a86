"""Two-dimensional test surfaces as torch expressions, and a safely parsed user formula.

Shared by the optimizers and Newton pages. Every surface is ``f(x, y)`` on tensors of any
shape (elementwise), so autograd gives gradients and Hessians and one call evaluates a
whole batch of points or a contour grid. A user formula is compiled by `stabviz.formula`
(parsed, checked against a whitelist, never passed to ``eval``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.formula import Fn, check_formula, compile_formula
from stabviz.params import param

DEFAULT_FORMULA = "(x^2 + y - 11)^2 / 10 + sin(3*x) * cos(3*y)"


@dataclass(frozen=True)
class Surface:
    """A test function with its plot box and its stationary points (the theory marks)."""

    box: tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi of the plot
    minima: tuple[tuple[float, float], ...] = ()  # known minima (for a*x^2+b*y^2: the origin)
    saddles: tuple[tuple[float, float], ...] = ()  # known saddle points


SURFACES: dict[str, Surface] = {
    "quadratic": Surface((-2, 2, -2, 2), ((0, 0),)),
    "rosenbrock": Surface((-2, 2, -1, 3), ((1, 1),)),
    "beale": Surface((-4.5, 4.5, -4.5, 4.5), ((3, 0.5),)),
    "himmelblau": Surface((-5, 5, -5, 5), ((3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186),
                                           (3.584428, -1.848126))),
    "saddle": Surface((-2, 2, -2, 2), (), ((0, 0),)),
    "cubic": Surface((-2, 2, -2, 2), (), ((0, 0),)),
    "monkey": Surface((-2, 2, -2, 2), (), ((0, 0),)),
    "quartic": Surface((-2, 2, -2, 2), ((0, 0),)),
    "formula": Surface((-3, 3, -3, 3)),
}
SURFACE_NAMES = tuple(SURFACES)


def _beale(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Beale's function: a narrow curved valley with its minimum at (3, 0.5)."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


FIXED: dict[str, Fn] = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "beale": _beale,
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "saddle": lambda x, y: x**2 - y**2,
    "cubic": lambda x, y: 5 * x**3 + y**3,
    "monkey": lambda x, y: x**3 - 3 * x * y**2,
    "quartic": lambda x, y: 10 * x**4 + y**4,
}


def surface_fn(name: str, a: float = 1.0, b: float = 1.0, formula: str = DEFAULT_FORMULA) -> Fn:
    """The torch function of a surface; ``a``, ``b`` shape the quadratic, ``formula`` the user surface."""
    if name == "quadratic":
        return lambda x, y: a * x**2 + b * y**2
    if name == "formula":
        return compile_formula(formula)
    return FIXED[name]


def grid(fn: Fn, box: tuple[float, float, float, float], points: int, dtype: torch.dtype) -> pd.DataFrame:
    """f on a points x points grid over the box, long form (x, y, loss) for contour plots."""
    xs = torch.linspace(box[0], box[1], points, dtype=dtype)
    ys = torch.linspace(box[2], box[3], points, dtype=dtype)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    with torch.no_grad():
        z = fn(gx, gy)
    frame = {"x": gx.flatten(), "y": gy.flatten(), "loss": z.flatten()}
    return pd.DataFrame({k: v.double().numpy() for k, v in frame.items()})


def landmarks(name: str) -> pd.DataFrame:
    """Known minima and saddle points of a surface (theory, drawn on the contour)."""
    s = SURFACES[name]
    rows = [{"x": x, "y": y, "kind": "minimum"} for x, y in s.minima]
    rows += [{"x": x, "y": y, "kind": "saddle"} for x, y in s.saddles]
    return pd.DataFrame(rows, columns=["x", "y", "kind"])


def status(x: np.ndarray, y: np.ndarray, loss: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Per point: 'ok', 'outside' (left the plot box) or 'nonfinite' (x, y or loss is inf or nan)."""
    bad = ~(np.isfinite(x) & np.isfinite(y) & np.isfinite(loss))
    with np.errstate(invalid="ignore"):
        out = (x < box[0]) | (x > box[1]) | (y < box[2]) | (y > box[3])
    return np.where(bad, "nonfinite", np.where(out, "outside", "ok"))


# ---- parameters shared by the pages that draw these surfaces ----

def surface_param(default: str) -> str:
    """Which surface to descend on."""
    return param(default, choices=SURFACE_NAMES, vocab="surface")


def curvature_param(default: float) -> float:
    """A coefficient of the quadratic a*x^2 + b*y^2 (its curvature along one axis is twice it)."""
    return param(default, lo=0.01, hi=100.0, step=0.5)


def formula_param() -> str:
    """The user's own surface, checked safely (a bad formula falls back to the default with a warning)."""
    return param(DEFAULT_FORMULA, check=check_formula)


def start_param(default: float) -> float:
    """One coordinate of the (first) start point."""
    return param(default, lo=-5.0, hi=5.0, step=0.1)
