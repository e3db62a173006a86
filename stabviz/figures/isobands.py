"""Filled contour bands of a gridded surface as polygons (contourpy, matplotlib's contour engine).

Vega-Lite has no polygon mark, so each polygon is drawn as one filled line: its rings follow
each other in ``order`` and are separated by a row of NaN, which breaks the path into sub-paths;
contourpy winds holes against their outer ring, so SVG's and canvas's nonzero fill leaves them
empty. A dozen bands are a few dozen paths, where grid cells would be thousands of rects.
"""

from __future__ import annotations

import contourpy
import numpy as np
import pandas as pd

COLUMNS = ["x", "y", "order", "poly", "level"]


def edges(z: np.ndarray, bands: int) -> np.ndarray:
    """``bands + 1`` strictly increasing, equally spaced level boundaries over the finite values of ``z``.

    A flat surface (or one flat to float precision) gets bands around its value; a range up to ±1e308
    does not overflow, since no difference of the extremes is taken.
    """
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    t = np.linspace(0.0, 1.0, bands + 1)
    levels = lo * (1 - t) + hi * t
    if np.all(np.diff(levels) > 0):
        return levels
    half = max(abs(lo), 1.0) * 1e-3
    return (lo - half) * (1 - t) + (lo + half) * t


def isobands(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels: np.ndarray,
             max_vertices: int | None = None) -> pd.DataFrame | None:
    """Polygons where z lies between ``levels[k]`` and ``levels[k+1]``, over the grid z[iy, ix]; inf/nan points cut out.

    One row per vertex: x, y, ``order`` within its polygon, ``poly`` (an id) and ``level`` (the band's
    middle, so a quantize colour scale over [levels[0], levels[-1]] gives each band its own colour).
    None if the bands need more than ``max_vertices``: a surface that oscillates faster than the grid.
    """
    gen = contourpy.contour_generator(xs, ys, np.ma.masked_invalid(z), fill_type="OuterOffset", corner_mask=False)
    bands = gen.multi_filled(np.concatenate([[-np.inf], levels[1:-1], [np.inf]]))  # the extremes in the end bands
    if max_vertices is not None and sum(len(p) for points, _ in bands for p in points) > max_vertices:
        return None
    polygons, middles = [], []
    for k, (points, offsets) in enumerate(bands):
        for pts, offs in zip(points, offsets, strict=True):
            polygons.append(_polygon(pts, offs))
            middles.append((levels[k] + levels[k + 1]) / 2)
    if not polygons:
        return pd.DataFrame(columns=COLUMNS)
    lengths = [len(xy) for xy in polygons]
    xy = np.concatenate(polygons)
    return pd.DataFrame({
        "x": xy[:, 0], "y": xy[:, 1], "order": np.concatenate([np.arange(n) for n in lengths]),
        "poly": np.repeat(np.arange(len(polygons)), lengths), "level": np.repeat(middles, lengths),
    })


def _polygon(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A polygon's rings, each without its collinear vertices, with a NaN row between rings."""
    rings = [_simplify(points[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    return np.concatenate([np.vstack([r, [[np.nan, np.nan]]]) for r in rings])[:-1]


def _simplify(ring: np.ndarray) -> np.ndarray:
    """The closed ring without repeated vertices and without vertices on a straight run (the box edges)."""
    ring = ring[np.r_[True, np.any(np.diff(ring, axis=0) != 0, axis=1)]]  # contourpy repeats a node it passes through
    if len(ring) < 4:
        return ring
    body = ring[:-1]
    d1, d2 = body - np.roll(body, 1, axis=0), np.roll(body, -1, axis=0) - body
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    kept = body[np.abs(cross) > 1e-9 * np.hypot(*d1.T) * np.hypot(*d2.T)]
    return np.vstack([kept, kept[:1]]) if len(kept) >= 3 else ring
