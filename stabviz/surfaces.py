"""Two-dimensional test surfaces as torch expressions, and a safely parsed user formula.

Shared by the optimizers and Newton pages. Every surface is ``f(x, y)`` on tensors of any
shape (elementwise), so autograd gives gradients and Hessians and one call evaluates a
whole batch of points or a contour grid. A user formula is compiled by `stabviz.formula`
(parsed, checked against a whitelist, never passed to ``eval``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.formula import Fn, check_formula, compile_formula
from stabviz.params import param

DEFAULT_FORMULA = "(x^2 + y - 11)^2 / 10 + sin(3*x) * cos(3*y)"
Box = tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi
START_LIMIT = 1e4  # largest |coordinate| of a start point
MAX_POINTS = 8  # start points a link may list
MAX_POINTS_TEXT = 200  # characters of such a list
PAD = 1.1  # a map fitted to its starts reaches 10% past the farthest one
FOLLOW = 2.0  # ... and follows the finite paths up to twice that far; past it a path is marked where it leaves


@dataclass(frozen=True)
class Surface:
    """A test function with its plot box and its stationary points (the theory marks)."""

    box: Box  # x_lo, x_hi, y_lo, y_hi of the plot
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


def grid(fn: Fn, box: Box, points: int, dtype: torch.dtype) -> pd.DataFrame:
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


def status(x: np.ndarray, y: np.ndarray, loss: np.ndarray, box: Box) -> np.ndarray:
    """Per point: 'ok', 'outside' (left the plot box) or 'nonfinite' (x, y or loss is inf or nan)."""
    bad = ~(np.isfinite(x) & np.isfinite(y) & np.isfinite(loss))
    with np.errstate(invalid="ignore"):
        out = (x < box[0]) | (x > box[1]) | (y < box[2]) | (y > box[3])
    return np.where(bad, "nonfinite", np.where(out, "outside", "ok"))


def plot_box(base: Box, starts: np.ndarray, paths: np.ndarray | None = None) -> Box:
    """The surface's own box if it holds every start; else a square about its centre fitted to the starts.

    The square reaches PAD past the farthest start, and grows to hold the finite path points up to FOLLOW
    times that reach, so a lesson's far start (0, 100) gets a map around it and a path that runs away is
    marked where it leaves. Square, so that a map drawn square shows right angles as right angles.
    """
    xy = np.asarray(starts, dtype=float).reshape(-1, 2)
    if ((xy[:, 0] >= base[0]) & (xy[:, 0] <= base[1]) & (xy[:, 1] >= base[2]) & (xy[:, 1] <= base[3])).all():
        return base
    centre = np.array([(base[0] + base[1]) / 2, (base[2] + base[3]) / 2])
    reach = PAD * max(float(np.abs(xy - centre).max()), (base[1] - base[0]) / 2, (base[3] - base[2]) / 2)
    half = reach
    if paths is not None:
        pts = np.asarray(paths, dtype=float).reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts):
            half = min(max(reach, PAD * float(np.abs(pts - centre).max())), FOLLOW * reach)
    cx, cy, half = float(centre[0]), float(centre[1]), _round_up(half)
    return cx - half, cx + half, cy - half, cy + half


def _round_up(v: float) -> float:
    """``v`` > 0 rounded up to two significant digits: a map from −110 to 110, not to 110.00000000000001."""
    v = float(f"{v:.12g}")
    unit = 10.0 ** (math.floor(math.log10(v)) - 1)
    return float(f"{math.ceil(v / unit) * unit:.12g}")


def box_table(box: Box, base: Box) -> pd.DataFrame:
    """The plotted box as a one-row table (the figures draw it; ``fitted``: not the surface's own box)."""
    return pd.DataFrame([{"x_lo": box[0], "x_hi": box[1], "y_lo": box[2], "y_hi": box[3], "fitted": box != base}])


def box_of(table: pd.DataFrame) -> tuple[Box, bool]:
    """The box stored by :func:`box_table`, and whether it was fitted to the starts."""
    row = table.iloc[0]  # values as given (an int bound stays an int: the chart's domain is written as it was)
    box = tuple(table[c].iloc[0].item() for c in ("x_lo", "x_hi", "y_lo", "y_hi"))
    return box, bool(row["fitted"])


def step_ratio(values: np.ndarray) -> float:
    """The median of v[t+1]/v[t] over steps where both are finite and v[t] != 0 (nan if none).

    A linear rate's per-step factor: 1 − 2·a·lr for gradient descent on a·x², 2/3 for Newton on x⁴.
    """
    v = np.asarray(values, dtype=float)
    prev, nxt = v[:-1], v[1:]
    ok = np.isfinite(prev) & np.isfinite(nxt) & (prev != 0)
    return float(np.median(nxt[ok] / prev[ok])) if ok.any() else float("nan")


def diverged_at(loss: np.ndarray) -> int | None:
    """The step from which the loss stays above its start (or inf/nan) to the end; None if it ends no higher."""
    above = ~(np.asarray(loss, dtype=float) <= loss[0])  # nan counts as above
    if not above[-1]:
        return None
    settled = np.flatnonzero(~above)
    return int(settled[-1] + 1) if len(settled) else 0


def runs_of(chosen: Sequence[str], assigned: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Each method that runs and the indices of its starts, given each start's method ("" for any).

    A start named ``m@`` runs only with m, any other start with every chosen method; the chosen methods come
    first, in their order, then the named ones, and a method with no start is left out.
    """
    names = dict.fromkeys([*chosen, *(m for m in assigned if m)])
    found = [(n, [i for i, m in enumerate(assigned) if m == n or (not m and n in chosen)]) for n in names]
    return [(n, idx) for n, idx in found if idx]


@dataclass(frozen=True)
class Start:
    """A start point from a link, and the method that runs from it ("" for every chosen method)."""

    x: float
    y: float
    method: str = ""


def parse_points(text: str, methods: Sequence[str], most: int = MAX_POINTS, limit: float = START_LIMIT,
                 axes: str = "x,y") -> tuple[Start, ...]:
    """Start points written ``x,y;x,y``, each maybe prefixed ``method@`` (one of ``methods``; none where there are
    none); ValueError says what is wrong. At most ``most`` points, coordinates finite and within ±``limit``, the
    text at most MAX_POINTS_TEXT characters; empty text: no points. ``axes`` names the coordinates in messages
    (the loss-pairing neuron's starts are ``w,b``)."""
    if len(text) > MAX_POINTS_TEXT:
        raise ValueError(f"longer than {MAX_POINTS_TEXT} characters")
    items = [item.strip() for item in text.split(";") if item.strip()]
    if len(items) > most:
        raise ValueError(f"at most {most} points")
    return tuple(_start(item, methods, limit, axes) for item in items)


def _start(item: str, methods: Sequence[str], limit: float, axes: str) -> Start:
    """One ``[method@]x,y`` item."""
    method, _, coords = item.rpartition("@") if methods else ("", "", item)
    method = method.strip().lower()
    if method and method not in methods:
        raise ValueError(f"'{method[:20]}' is not one of {', '.join(methods)}")
    try:
        x, y = (float(c) for c in coords.split(","))
    except ValueError:
        written = f"{axes};{axes}" + (f" or method@{axes}" if methods else "")
        raise ValueError(f"'{item[:30]}' is not {axes} (points are written {written})") from None
    if not (abs(x) <= limit and abs(y) <= limit):  # also refuses inf and nan
        raise ValueError(f"{axes.replace(',', ' and ')} must lie within ±{limit:g}")
    return Start(x, y, method)


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
    """One coordinate of the (first) start point, used when no points are listed."""
    return param(default, lo=-START_LIMIT, hi=START_LIMIT, step=0.1)


def points_param(methods: Sequence[str]) -> str:
    """Start points listed in a link, ``x,y;x,y`` with an optional ``method@`` each; empty: (x0, y0) as before."""
    names = tuple(methods)

    def check(text: str) -> None:
        """Raise ValueError for a malformed or out-of-bounds list (the link then falls back to x0, y0)."""
        parse_points(text, names)

    return param("", check=check)
