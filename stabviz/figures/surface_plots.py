"""Contour maps of 2-D surfaces with trajectories drawn on them (optimizers and Newton pages).

Vega-Lite has no contour mark: the surface is drawn as filled bands between equally spaced
levels (polygons from :mod:`isobands`), of log10 of the loss where the surface is non-negative,
coloured by a quantize scale whose colour bar has one colour per band. A trajectory is drawn
while it stays in the box; where it leaves the box (or becomes inf/nan) it gets a marker at
that place: the exit point on the box edge (▲) or the last finite point (✕).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.chart_style import MARK_FILTER, marked, point_layer, series_scales
from stabviz.chart_style import names as in_order
from stabviz.charts import HEIGHT, WIDTH, X_SHAPE, resolve, series, thin, tooltips
from stabviz.figures.isobands import edges, isobands
from stabviz.i18n import tr
from stabviz.logscale import symlog_axis

BANDS = 12  # colour levels of the contour map
UNDEFINED_GREY = "#bbbbbb"  # where the surface itself is inf or nan
MAX_VERTICES = 8000  # band vertices sent at most (the pages' surfaces need <= 4,800); past it: one cell per point
TRAJECTORY_ROWS = 1000  # trajectory rows sent to the browser per chart (the contour bands come on top)
ITERATE_ROWS = 300  # paths of at most this many rows in all show every iterate, longer ones a few (chart_style.marked)
EXIT_SHAPES = {"outside": "triangle-up", "nonfinite": X_SHAPE}
LANDMARK_SHAPES = {"minimum": "diamond", "saddle": "square"}


def names(lang: str) -> dict[str, str]:
    """Translated legend names of the map's markers and colour bar."""
    keys = ("outside", "nonfinite", "minimum", "saddle", "loss", "undefined")
    return {k: tr(f"surfaces.names.{k}", lang) for k in keys}


def is_signed(contour: pd.DataFrame) -> bool:
    """Whether the surface takes negative values in the box (then levels and loss axes are linear)."""
    z = contour["loss"].to_numpy()
    finite = z[np.isfinite(z)]
    return bool(finite.size and finite.min() < 0)


def _levels(z: np.ndarray, log: bool) -> np.ndarray:
    """What the colour bands encode: log10 of the loss (floored 4 decades below its max) or the loss."""
    if not log:
        return z
    finite = z[np.isfinite(z)]
    floor = max(float(finite.max()) * 1e-4, 1e-12) if finite.size else 1.0
    return np.log10(np.maximum(z, floor))


def contour(grid: pd.DataFrame, box: tuple[float, float, float, float], level_title: str,
            axes: tuple[str, str] = ("x", "y"), undefined: str = "inf/nan") -> alt.LayerChart:
    """Banded filled contours of a long-form (x, y, loss) grid over the box (axes titled ``axes``); inf/nan
    grey, named ``undefined`` in the legend.

    The bands are polygons (:mod:`isobands`), drawn opaque with an outline of their own colour, so that
    neighbouring bands meet without a seam; the grid's inf/nan points are grey squares of one cell. A
    surface whose bands would need more than MAX_VERTICES (a formula oscillating faster than the grid
    resolves) is drawn as one cell per grid point instead.
    """
    log = not is_signed(grid)
    level = _levels(grid["loss"].to_numpy(), log)
    z = grid.assign(level=level).pivot(index="y", columns="x", values="level")
    step = (z.columns[1] - z.columns[0], z.index[1] - z.index[0])
    digits = 2 + int(np.ceil(-np.log10(min(step))))  # coordinates to 1/100 of a cell: less JSON, no visible change
    levels = edges(z.to_numpy(), BANDS)
    scale = alt.Scale(type="quantize", domain=[levels[0], levels[-1]], scheme={"name": "viridis", "count": BANDS},
                      nice=False)
    x = alt.X("x:Q", scale=alt.Scale(domain=list(box[:2]), nice=False, zero=False), title=axes[0])
    y = alt.Y("y:Q", scale=alt.Scale(domain=list(box[2:]), nice=False, zero=False), title=axes[1])
    enc = {"x": x, "y": y, "color": alt.Color("level:Q", scale=scale, title=("log10 " if log else "") + level_title),
           "stroke": alt.Stroke("level:Q", scale=scale, legend=None)}  # an outline in the fill's colour: no seams
    polys = isobands(z.columns.to_numpy(), z.index.to_numpy(), z.to_numpy(), levels, MAX_VERTICES)
    if polys is None:
        shapes = _squares(grid, (step[0] / 2, step[1] / 2)).round(digits).assign(level=level)[np.isfinite(level)]
        shaded = alt.Chart(shapes).mark_rect(strokeWidth=0.5, clip=True, aria=False).encode(
            x2=alt.X2("x2:Q"), y2=alt.Y2("y2:Q"), **enc)
    else:
        shapes = polys.round({"x": digits, "y": digits})
        shaded = alt.Chart(shapes).mark_line(filled=True, strokeWidth=0.6, clip=True, aria=False).encode(
            order=alt.Order("order:Q"), detail=alt.Detail("poly:N"), **enc)
    bands = [shaded] if len(shapes) else []  # all inf/nan: no bands, and no colour bar for them
    grey = _nonfinite(grid, x, y, undefined, step)
    return alt.layer(*bands, *grey, resolve=resolve(stroke="independent"))  # per map


def _squares(points: pd.DataFrame, half: tuple[float, float]) -> pd.DataFrame:
    """A rectangle x..x2, y..y2 around each point, ``half`` its half-width and half-height."""
    return pd.DataFrame({"x": points["x"] - half[0], "x2": points["x"] + half[0],
                         "y": points["y"] - half[1], "y2": points["y"] + half[1]})


def _nonfinite(grid: pd.DataFrame, x: alt.X, y: alt.Y, name: str, step: tuple[float, float]) -> list[alt.Chart]:
    """Grey squares over the grid's inf/nan points, a grid ``step`` wide each way (the quads the bands leave
    out), with a legend entry ``name``."""
    bad = grid[~np.isfinite(grid["loss"])]
    if bad.empty:
        return []
    fill = alt.Fill("state:N", title=None, scale=alt.Scale(domain=[name], range=[UNDEFINED_GREY]))
    return [alt.Chart(_squares(bad, step).assign(state=name)).mark_rect(clip=True, aria=False).encode(
        x=x, x2=alt.X2("x2:Q"), y=y, y2=alt.Y2("y2:Q"), fill=fill)]


def thin_paths(paths: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every k-th step of each trajectory, plus its last step and its first step outside or inf/nan."""
    first_bad = paths["step"].where(paths["status"] != "ok").groupby([paths[c] for c in keys], sort=False)
    return thin(paths, "step", keys, TRAJECTORY_ROWS, keep=paths["step"] == first_bad.transform("min"))


def _clip_to_box(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The nearest points on or inside the box (where a path that left it is marked)."""
    return np.clip(x, box[0], box[1]), np.clip(y, box[2], box[3])


def visible(paths: pd.DataFrame, keys: list[str],
            box: tuple[float, float, float, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The in-box part of each trajectory (up to its exit, drawn on the edge) and its exit markers."""
    lines, exits = [], []
    for _, g in paths.groupby(keys, sort=False):
        bad = np.flatnonzero(g["status"].to_numpy() != "ok")
        if not len(bad):
            lines.append(g)
            continue
        first = g.iloc[bad[0]]
        where = g.iloc[bad[0] if first["status"] == "outside" else max(bad[0] - 1, 0)]
        x, y = _clip_to_box(np.array([where["x"]]), np.array([where["y"]]), box)
        exit_row = first.to_frame().T.assign(x=x[0], y=y[0])
        lines.append(pd.concat([g.iloc[: bad[0]], exit_row]))
        exits.append(exit_row)
    empty = paths.iloc[:0]
    return pd.concat(lines or [empty]), pd.concat(exits or [empty])


def trajectory_layers(paths: pd.DataFrame, keys: list[str], color: str, box: tuple[float, float, float, float],
                      exit_names: dict[str, str]) -> list[alt.Chart]:
    """Lines (ordered by step) on a white halo, iterates and start dots, and ▲/✕ markers where a path left the box
    or blew up.

    Each ``color`` series has its colour, its shape (start dot and iterates: every one of a short path, a few
    along a long one) and its dash (a map has no theory line, so dashes are free here); one legend shows colour
    and shape with the exits' ▲ ✕. The halo keeps every path readable on the dark and the light bands alike.
    """
    lines, exits = visible(paths, keys, box)
    lines = lines.astype({"x": float, "y": float})
    lines = lines.assign(marked=marked(lines, keys).to_numpy() | (len(lines) <= ITERATE_ROWS))  # one dataset for all
    scales = series_scales(in_order(lines[color]), states={exit_names[s]: EXIT_SHAPES[s] for s in EXIT_SHAPES})
    tip = [*tooltips([*keys, "step"]), alt.Tooltip("loss:Q", format=".4g"), alt.Tooltip("status:N")]
    detail = [alt.Detail(k) for k in keys]
    col = series(color, scale=scales["color"])
    halo = alt.Chart(lines).mark_line(color="white", strokeWidth=4.5, opacity=0.8, strokeJoin="round", aria=False)
    halo = halo.encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), order=alt.Order("step:Q"), detail=detail)
    path = alt.Chart(lines).mark_line(strokeWidth=2, strokeJoin="round").encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), order=alt.Order("step:Q"), color=col, detail=detail, tooltip=tip,
        strokeDash=series(color, alt.StrokeDash, legend=None, scale=scales["strokeDash"]))
    shape = series(color, alt.Shape, scale=scales["shape"])
    iterates = alt.Chart(lines, transform=[MARK_FILTER]).mark_point(
        size=45, filled=True, stroke="white", strokeWidth=0.8, opacity=1).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), color=col, shape=shape, tooltip=tip)
    starts = alt.Chart(lines[lines["step"] == 0]).mark_point(
        size=90, filled=True, stroke="white", strokeWidth=1.5, opacity=1).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), color=col, shape=shape, tooltip=tip)
    exits = exits.assign(status=[exit_names[s] for s in exits["status"]]).astype({"x": float, "y": float})
    marks = alt.Chart(exits).mark_point(size=160, filled=True, stroke="black", strokeWidth=1).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), color=col, shape=series("status", alt.Shape, scale=scales["shape"]),
        tooltip=tip)
    return [halo, path, iterates, starts, *([marks] if len(exits) else [])]  # an empty layer's legend breaks the layout


def landmark_layer(marks: pd.DataFrame, names: dict[str, str]) -> alt.Chart:
    """Known minima (◆) and saddle points (■), the theory's stationary points."""
    kinds = [k for k in ("minimum", "saddle") if k in set(marks["kind"])]
    scale = alt.Scale(domain=[names[k] for k in kinds], range=[LANDMARK_SHAPES[k] for k in kinds])
    data = marks.assign(kind=[names[k] for k in marks["kind"]])
    return alt.Chart(data).mark_point(size=220, filled=True, color="white", stroke="black", strokeWidth=1.2).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), shape=alt.Shape("kind:N", title=None, scale=scale),
        tooltip=tooltips(["kind:N", "x:Q", "y:Q"]))


def square() -> dict[str, int]:
    """A square map's width and height: a box fitted to its starts is square, so both axes share one scale
    and a step that crosses a contour at a right angle is drawn at one."""
    return {"width": HEIGHT + 120, "height": HEIGHT + 120}


def surface_map(grid: pd.DataFrame, paths: pd.DataFrame, marks: pd.DataFrame, *, keys: list[str], color: str,
                box: tuple[float, float, float, float], names: dict[str, str], title: str,
                axes: tuple[str, str] = ("x", "y"), width: int = WIDTH, height: int = HEIGHT + 120) -> alt.LayerChart:
    """Contour map, landmarks (if any) and every trajectory, on one pair of axes fixed to the box.

    ``names`` holds the colour bar's title (``loss``) and the marker names (see :func:`names`).
    """
    paths = alt.layer(*trajectory_layers(thin_paths(paths, keys), keys, color, box, names))  # one legend for all paths
    landmarks = [landmark_layer(marks, names)] if len(marks) else []
    layers = [contour(grid, box, names["loss"], axes, names["undefined"]), paths, *landmarks]
    return alt.layer(*layers, resolve=resolve(color="independent", shape="independent"), title=title, width=width,
                     height=height)


def signed_chart(df: pd.DataFrame, x: str, y: str, color: str, *, x_title: str, y_title: str, title: str,
                 nonfinite: str, dash: str | None = None) -> alt.LayerChart:
    """A signed series on a symlog axis (it may run to -inf), each its colour and shape (as `charts.log_profile`);
    inf/nan drawn as ✕ at the axis edge, in the series' colour."""
    finite = df[np.isfinite(df[y])]
    lo, hi = (float(finite[y].min()), float(finite[y].max())) if len(finite) else (-1.0, 1.0)
    bad = df[~np.isfinite(df[y])].assign(**{y: lambda d: np.where(d[y] == -np.inf, lo, hi)}, state=nonfinite)
    scales = series_scales(in_order(df[color]), states={nonfinite: X_SHAPE})
    x_enc, colour = alt.X(f"{x}:Q", title=x_title), series(color, scale=scales["color"])
    y_enc = alt.Y(f"{y}:Q", title=y_title, axis=symlog_axis(lo, hi),
                  scale=alt.Scale(type="symlog", domain=[lo, hi], nice=False))
    tip = tooltips(df.columns)
    finite = finite.assign(marked=marked(finite, [color, dash]).to_numpy())
    dashed = {"strokeDash": series(dash, alt.StrokeDash)} if dash else {}
    line = alt.Chart(finite).mark_line().encode(x=x_enc, y=y_enc, color=colour, tooltip=tip, **dashed)
    points = point_layer(finite, x=x_enc, y=y_enc, color=colour, shape=series(color, alt.Shape, scale=scales["shape"]),
                         tooltip=tip)
    marks = alt.Chart(bad).mark_point(size=90, filled=True).encode(
        x=x_enc, y=y_enc, color=colour, shape=series("state", alt.Shape, scale=scales["shape"]),
        tooltip=tooltips([*df.columns, "state:N"]))
    return alt.layer(line, points, *([marks] if len(bad) else []), title=title, width=WIDTH, height=HEIGHT)
