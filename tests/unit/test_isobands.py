"""Contour maps: the bands tile the box, every grid point lies in the band of its own value, holes are
wound against their outer ring (so the nonzero fill leaves them empty), and inf/nan points are cut out."""

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
import torch
import vl_convert
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stabviz.figures.isobands import edges, isobands
from stabviz.figures.surface_plots import MAX_VERTICES, contour
from stabviz.surfaces import SURFACES, grid, surface_fn

BOX = (-2.0, 2.0, -1.0, 3.0)


def _grid(f, n: int = 41, box: tuple[float, float, float, float] = BOX):
    xs, ys = np.linspace(*box[:2], n), np.linspace(*box[2:], n)
    return xs, ys, f(*np.meshgrid(xs, ys))


def _long(xs: np.ndarray, ys: np.ndarray, z) -> pd.DataFrame:
    """The grid in long form (x, y, loss), as the pages pass it to ``contour``."""
    gx, gy = np.meshgrid(xs, ys)
    return pd.DataFrame({"x": gx.ravel(), "y": gy.ravel(), "loss": np.broadcast_to(z, gx.shape).ravel()})


def _rosenbrock(x, y):
    return np.log10((1 - x) ** 2 + 100 * (y - x**2) ** 2 + 1e-3)


def _polygons(df: pd.DataFrame) -> list[tuple[float, list[np.ndarray]]]:
    """(level, rings) per polygon: the rows in order, split at the NaN rows."""
    out = []
    for _, g in df.groupby("poly"):
        xy = g.sort_values("order")[["x", "y"]].to_numpy()
        rings = [r[~np.isnan(r[:, 0])] for r in np.split(xy, np.flatnonzero(np.isnan(xy[:, 0])))]
        out.append((g["level"].iloc[0], rings))
    return out


def _area(ring: np.ndarray) -> float:
    """Signed (shoelace) area: positive anticlockwise."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _inside(point: np.ndarray, rings: list[np.ndarray]) -> bool:
    """Even-odd rule over all rings of a polygon (ray casting to +x)."""
    crossings = 0
    for r in rings:
        (x1, y1), (x2, y2) = r[:-1].T, r[1:].T
        spans = (y1 > point[1]) != (y2 > point[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (point[1] - y1) * (x2 - x1) / (y2 - y1)
        crossings += int(np.sum(spans & (point[0] < at)))
    return crossings % 2 == 1


def _band(value: float, levels: np.ndarray) -> int:
    return int(np.clip(np.searchsorted(levels, value, side="left") - 1, 0, len(levels) - 2))


def _page_quadratic(x, y):
    """log10(10x² + y²) floored 4 decades down, on the optimizers page's default grid: its band edges pass
    exactly through grid points, where contourpy repeats the point."""
    z = 10 * x**2 + y**2
    return np.log10(np.maximum(z, z.max() * 1e-4))


@pytest.mark.parametrize(("f", "n", "box"), [(_rosenbrock, 41, BOX), (lambda x, y: x**2 - y**2, 41, BOX),
                                             (_page_quadratic, 61, (-2.0, 2.0, -2.0, 2.0))],
                         ids=["rosenbrock", "saddle", "edges through grid points"])
def test_bands_tile_the_box(f, n, box):
    xs, ys, z = _grid(f, n, box)
    polys = _polygons(isobands(xs, ys, z, edges(z, 12)))
    area = (box[1] - box[0]) * (box[3] - box[2])
    assert sum(_area(r) for _, rings in polys for r in rings) == pytest.approx(area, rel=1e-9)


def test_every_grid_point_lies_in_the_band_of_its_own_value():
    xs, ys, z = _grid(_rosenbrock, n=21)
    levels = edges(z, 12)
    polys = _polygons(isobands(xs, ys, z, levels))
    checked = 0
    for iy in range(1, len(ys) - 1):
        for ix in range(1, len(xs) - 1):
            if np.min(np.abs(levels - z[iy, ix])) < 1e-6:
                continue  # on a band edge: on two polygons' boundary
            holders = [level for level, rings in polys if _inside(np.array([xs[ix], ys[iy]]), rings)]
            assert len(holders) == 1
            assert _band(holders[0], levels) == _band(z[iy, ix], levels)
            checked += 1
    assert checked > 300


def test_holes_wind_against_their_outer_ring():
    xs, ys, z = _grid(lambda x, y: x**2 + (y - 1) ** 2)  # a bowl: the bands around its bottom have a hole
    polys = _polygons(isobands(xs, ys, z, edges(z, 12)))
    holed = [rings for _, rings in polys if len(rings) > 1]
    assert len(holed) >= 3
    for rings in holed:
        assert _area(rings[0]) > 0 and all(_area(r) < 0 for r in rings[1:])


def test_a_flat_surface_is_one_rectangle_without_its_straight_runs():
    xs, ys, z = _grid(lambda x, y: np.full_like(x, 7.0))
    df = isobands(xs, ys, z, edges(z, 12))
    assert len(df) == 5 and df["poly"].nunique() == 1  # four corners and the closing vertex
    assert set(zip(df["x"], df["y"], strict=True)) == {(-2.0, -1.0), (2.0, -1.0), (2.0, 3.0), (-2.0, 3.0)}


def test_nonfinite_points_are_cut_out_and_drawn_grey():
    xs, ys, z = _grid(lambda x, y: x**2 + y**2, n=5)  # spacing 1 in both directions
    z[2, 2] = np.nan
    polys = _polygons(isobands(xs, ys, z, edges(z, 12)))
    assert sum(_area(r) for _, rings in polys for r in rings) == pytest.approx(16.0 - 4.0)  # the 4 quads around it
    grid = _long(xs, ys, z)
    spec = contour(grid, BOX, "loss", undefined="no loss here").to_dict()
    grey = spec["layer"][-1]
    assert grey["encoding"]["fill"]["scale"] == {"domain": ["no loss here"], "range": ["#bbbbbb"]}  # in the legend
    cut = [{"x": -1.0, "x2": 1.0, "y": 0.0, "y2": 2.0, "state": "no loss here"}]  # the four quads around the point
    assert spec["datasets"][grey["data"]["name"]] == cut


def test_the_colour_scale_spans_the_finite_levels():
    xs, ys, z = _grid(lambda x, y: x**2 + y**2)
    grid = _long(xs, ys, z)
    spec = contour(grid, BOX, "loss").to_dict()
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["type"] == "quantize"
    floor = np.log10(z.max() * 1e-4)  # log levels are floored 4 decades below the maximum
    assert scale["domain"] == pytest.approx([floor, np.log10(z.max())])


def test_each_band_is_outlined_in_its_own_fill_colour_also_side_by_side():
    """The outline hides the seams between bands; a scale shared across two maps would draw wrong-coloured ones."""
    maps = []
    for scale in (1.0, 50.0):
        xs, ys, z = _grid(lambda x, y, s=scale: s * x**2 + y**2 + 1)
        maps.append(contour(_long(xs, ys, z), BOX, "loss"))
    vega = vl_convert.vegalite_to_vega(alt.hconcat(*maps).resolve_scale(color="independent").to_dict())
    marks, scales = _walk(vega)
    bands = [m for m in marks if m["type"] == "line" and "fill" in m["encode"]["update"]]
    assert len(bands) == 2
    for m in bands:
        fill, stroke = m["encode"]["update"]["fill"]["scale"], m["encode"]["update"]["stroke"]["scale"]
        assert fill != stroke and scales[fill] == scales[stroke]


def _walk(spec: dict) -> tuple[list[dict], dict[str, dict]]:
    """Every mark of a Vega spec, groups opened, and every scale by name (without the name)."""
    marks, scales = [], {s["name"]: {k: v for k, v in s.items() if k != "name"} for s in spec.get("scales", [])}
    for m in spec.get("marks", []):
        if m["type"] == "group":
            inner, inner_scales = _walk(m)
            marks, scales = marks + inner, scales | inner_scales
        else:
            marks.append(m)
    return marks, scales


def test_an_all_nan_surface_is_grey_without_a_colour_bar():
    xs, ys, _ = _grid(lambda x, y: x, n=5)
    spec = contour(_long(xs, ys, np.nan), BOX, "loss").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect"]
    assert "color" not in spec["layer"][0]["encoding"]  # no colour bar: there are no bands


@settings(max_examples=100, deadline=None)
@given(z=arrays(np.float64, st.tuples(st.integers(2, 7), st.integers(2, 7)),
                elements=st.one_of(st.floats(-1e300, 1e300), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e-300]))))
def test_any_grid_tiles_its_finite_quads_and_draws(z):
    """Whatever the values (huge, tiny, flat, inf, nan): the bands cover exactly the quads with four finite corners."""
    xs, ys = np.linspace(0.0, 1.0, z.shape[1]), np.linspace(0.0, 2.0, z.shape[0])
    polys = _polygons(isobands(xs, ys, z, edges(z, 12)))
    finite = np.isfinite(z)
    whole = finite[:-1, :-1] & finite[1:, :-1] & finite[:-1, 1:] & finite[1:, 1:]
    quad = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert sum(_area(r) for _, rings in polys for r in rings) == pytest.approx(whole.sum() * quad, rel=1e-6, abs=1e-12)
    json.dumps(contour(_long(xs, ys, z), (0, 1, 0, 2), "f").to_dict(), allow_nan=False)


def test_a_surface_finer_than_the_grid_is_drawn_as_one_cell_per_point():
    """An oscillating formula would need thousands of polygons (85,000 vertices here): cells instead."""
    xs, ys, z = _grid(lambda x, y: np.sin(40 * x) * np.cos(40 * y), n=61)
    assert isobands(xs, ys, z, edges(z, 12), max_vertices=MAX_VERTICES) is None
    spec = contour(_long(xs, ys, z), BOX, "loss").to_dict()
    cells = spec["layer"][0]
    assert cells["mark"]["type"] == "rect" and cells["encoding"]["stroke"]["field"] == "level"  # outlined: no seams
    assert len(spec["datasets"][cells.get("data", spec.get("data"))["name"]]) == z.size


@pytest.mark.parametrize("points", [11, 61])
def test_the_surfaces_of_the_pages_are_drawn_as_bands(points):
    """Every built-in surface stays within the vertex budget, on the coarsest grid and on the optimizers' grid."""
    for name, surface in SURFACES.items():
        g = grid(surface_fn(name, 10, 1), surface.box, points, torch.float64)
        layer = contour(g, surface.box, "loss").to_dict()["layer"][0]
        assert layer["mark"]["type"] == "line", name
