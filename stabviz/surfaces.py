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

from stabviz.formula import FUNCTIONS, Fn, check_formula, compile_formula
from stabviz.params import Text, param

DEFAULT_FORMULA = "(x^2 + y - 11)^2 / 10 + sin(3*x) * cos(3*y)"


@dataclass(frozen=True)
class Surface:
    """A test function with its plot box and its stationary points (the theory marks)."""

    label: Text  # display name, with the formula
    box: tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi of the plot
    minima: tuple[tuple[float, float], ...] = ()  # known minima (for a*x^2+b*y^2: the origin)
    saddles: tuple[tuple[float, float], ...] = ()  # known saddle points


SURFACES: dict[str, Surface] = {
    "quadratic": Surface(Text("a·x² + b·y² (ill-conditioned quadratic)", "a·x² + b·y²（病态二次函数）"),
                         (-2, 2, -2, 2), ((0, 0),)),
    "rosenbrock": Surface(Text("Rosenbrock (1−x)² + 100(y−x²)²", "Rosenbrock 函数 (1−x)² + 100(y−x²)²"),
                          (-2, 2, -1, 3), ((1, 1),)),
    "beale": Surface(Text("Beale", "Beale 函数"), (-4.5, 4.5, -4.5, 4.5), ((3, 0.5),)),
    "himmelblau": Surface(Text("Himmelblau", "Himmelblau 函数"), (-5, 5, -5, 5),
                          ((3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))),
    "saddle": Surface(Text("saddle x² − y²", "鞍面 x² − y²"), (-2, 2, -2, 2), (), ((0, 0),)),
    "cubic": Surface(Text("cubic saddle 5x³ + y³", "三次鞍点 5x³ + y³"), (-2, 2, -2, 2), (), ((0, 0),)),
    "monkey": Surface(Text("monkey saddle x³ − 3xy²", "猴鞍 x³ − 3xy²"), (-2, 2, -2, 2), (), ((0, 0),)),
    "quartic": Surface(Text("degenerate minimum 10x⁴ + y⁴", "退化极小值 10x⁴ + y⁴"), (-2, 2, -2, 2), ((0, 0),)),
    "formula": Surface(Text("your formula f(x, y)", "自定义公式 f(x, y)"), (-3, 3, -3, 3)),
}
SURFACE_NAMES = tuple(SURFACES)
SURFACE_LABELS = {k: s.label for k, s in SURFACES.items()}


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
    return param(default, Text("Surface", "曲面"), Text("The function f(x, y) being minimized.", "要最小化的函数 f(x, y)。"),
                 choices=SURFACE_NAMES, labels=SURFACE_LABELS)


def curvature_param(name: str, default: float) -> float:
    """A coefficient of the quadratic a*x^2 + b*y^2 (its curvature along one axis is twice it)."""
    axis = "x" if name == "a" else "y"
    return param(default, Text(f"Quadratic: {name}", f"二次函数：{name}"),
                 Text(f"Coefficient of {axis}² in a·x² + b·y²; the curvature along {axis} is 2{name}.",
                      f"a·x² + b·y² 中 {axis}² 的系数；沿 {axis} 方向的曲率为 2{name}。"),
                 lo=0.01, hi=100.0, step=0.5)


def formula_param() -> str:
    """The user's own surface, checked safely (a bad formula falls back to the default with a warning)."""
    return param(DEFAULT_FORMULA, Text("Formula f(x, y)", "公式 f(x, y)"),
                 Text("Used when the surface is 'your formula'. Operators + - * / ^ (or **), numbers, x, y, pi, e, "
                      "and " + ", ".join(FUNCTIONS) + ".",
                      "曲面选“自定义公式”时使用。可用运算 + - * / ^（或 **）、数字、x、y、pi、e，以及函数 "
                      + "、".join(FUNCTIONS) + "。"),
                 check=check_formula)


def start_param(axis: str, default: float) -> float:
    """One coordinate of the (first) start point."""
    return param(default, Text(f"Start {axis}₀", f"起点 {axis}₀"),
                 Text(f"The {axis} coordinate of the first start point.", f"第一个起点的 {axis} 坐标。"),
                 lo=-5.0, hi=5.0, step=0.1)
