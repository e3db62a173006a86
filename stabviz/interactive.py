"""Zoom, pan and legend highlighting for the exported HTML figures (the live page's charts stay as they are).

``interactive(spec)`` returns a copy of a chart's Vega-Lite dict in which

- every view (a single chart, or a stack of layers that share their x and y scales) with a continuous x or y gets an
  interval selection bound to those scales: the mouse wheel zooms, a drag pans, a double click goes back;
- every view coloured by a series (a nominal field with a legend) gets a point selection on that field bound to the
  legend: a click on an entry keeps that series and fades the others, a shift-click adds one, a double click clears.

Each selection is declared once per view, on one of its layers: the layers share the scales and the legend, and a
second declaration would give Vega two signals of one name. Concatenated charts get one selection each, named apart.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

FADED = 0.15  # the share of its opacity a series keeps while another one is picked
CONTINUOUS = frozenset({"quantitative", "temporal"})
DISCRETE_SCALES = frozenset({"ordinal", "band", "point", "quantize", "quantile", "threshold", "bin-ordinal"})
SERIES_TYPES = frozenset({"nominal", "ordinal"})
POINT_MARKS = frozenset({"point", "tick", "circle", "square"})  # Vega-Lite draws these at opacity 0.7 unless told
SHOWN = frozenset({"tooltip", "text", "href", "description", "url"})  # channels that show a field, not group by it
CONCATS = ("hconcat", "vconcat", "concat")
AXES = ("x", "y")

Leaf = tuple[dict, dict]  # a single-mark spec and its encoding with its parent layers' merged in


def interactive(spec: dict) -> dict:
    """A copy of ``spec`` with zoom and pan on its continuous axes and its series picked from the legend."""
    out = {k: copy.deepcopy(v) for k, v in spec.items() if k != "datasets"}
    if "datasets" in spec:
        out["datasets"] = spec["datasets"]  # rows are read, never changed: thousands of them are not copied
    names = itertools.count(1)
    for view, fixed in _views(out, frozenset()):
        leaves = list(_leaves(view, {}))
        _zoom(leaves, fixed | _independent(view), names)
        _legend(leaves, names)
    return out


def _views(node: dict, fixed: frozenset[str]) -> Iterator[tuple[dict, frozenset[str]]]:
    """The views of a chart, each with the axes it may not zoom: concatenated charts one by one (an axis they share
    is left alone: one scale, one binding), a facet's or a repeat's inner chart with neither (each cell holds its
    own copy of the selection's signals, so the clip of the cells not under the mouse would not follow the zoom)."""
    if any(k in node for k in CONCATS):
        for child in (c for k in CONCATS for c in node.get(k, [])):
            yield from _views(child, fixed | _resolved(node, "shared"))
    elif "spec" in node:
        yield from _views(node["spec"], frozenset(AXES))
    else:
        yield node, fixed


def _resolved(node: dict, how: str) -> frozenset[str]:
    """The axes a composite's ``resolve`` makes ``how`` ("shared" or "independent")."""
    scales = node.get("resolve", {}).get("scale", {})
    return frozenset(a for a in AXES if scales.get(a) == how)


def _independent(view: dict) -> frozenset[str]:
    """The axes some layer of a stack resolves independent (then no single zoom could drive both)."""
    inner = frozenset().union(*(_independent(child) for child in view.get("layer", [])))
    return _resolved(view, "independent") | inner


def _leaves(node: dict, inherited: dict) -> Iterator[Leaf]:
    """Every single-mark spec of a stack of layers, with the encoding it inherits merged under its own."""
    encoding = {**inherited, **node.get("encoding", {})}
    if "layer" in node:
        for child in node["layer"]:
            yield from _leaves(child, encoding)
    else:
        yield node, encoding


def _has_field(channel: Any) -> bool:
    """Whether an encoding channel is driven by data (not a constant value)."""
    return isinstance(channel, dict) and ("field" in channel or "aggregate" in channel)


def _continuous(channels: list[Any]) -> bool:
    """Whether a shared axis is data-driven and continuous in every layer that draws on it (zoom needs a range)."""
    fields = [c for c in channels if _has_field(c)]
    return bool(fields) and all(c.get("type") in CONTINUOUS and not c.get("bin")
                                and (c.get("scale") or {}).get("type") not in DISCRETE_SCALES for c in fields)


def _zoom(leaves: list[Leaf], fixed: frozenset[str], names: Iterator[int]) -> None:
    """An interval selection bound to the view's continuous scales, on the layer that encodes the most of them."""
    axes = [a for a in AXES if a not in fixed and _continuous([enc.get(a) for _, enc in leaves])]
    if not axes:
        return
    host, hosted = max(leaves, key=lambda leaf: sum(_has_field(leaf[1].get(a)) for a in axes))
    axes = [a for a in axes if _has_field(hosted.get(a))]
    name = f"zoom_{next(names)}"
    host.setdefault("params", []).append({"name": name, "select": {"type": "interval", "encodings": axes},
                                          "bind": "scales"})
    # Zoomed or panned, the marks are clipped to the plot, or those moved out of it would cover the axes; not before,
    # where a marker on the axis's ceiling is drawn whole. The test is the selection's tuple, set by the first wheel
    # or drag and cleared by the double click: its store changes one pulse later, after the title and the legends
    # were placed around the marks still unclipped. A mark's own clip stays.
    for leaf, encoding in leaves:
        leaf["mark"] = {"clip": {"expr": f"isValid({name}_tuple)"}, **_mark(leaf)}
        for scale in (encoding[a].get("scale") or {} for a in axes if _has_field(encoding.get(a))):
            if scale.get("clamp") is True:  # a log axis pinning underflows to its floor: zoomed in, a clamp would
                # draw the curves beyond the view as lines along its edges. The store, not the tuple: a concat's
                # scales are declared above its views, out of reach of their signals; the domain follows it too.
                scale["clamp"] = {"expr": f"!length(data('{name}_store'))"}


def _series(channel: Any) -> str | None:
    """The field a colour channel names series by (nominal or ordinal, with a legend), else None."""
    if not _has_field(channel) or channel.get("type") not in SERIES_TYPES or not isinstance(channel["field"], str):
        return None
    return None if "legend" in channel and channel["legend"] is None else channel["field"]


def _legend(leaves: list[Leaf], names: Iterator[int]) -> None:
    """A point selection on the view's series field bound to its legend, declared on the first layer that draws
    that legend; every layer drawn per value of the field (its colour, or the white halo under a line) is opaque when
    its series is picked (or none is), faded if not."""
    field = next((f for _, enc in leaves if (f := _series(enc.get("color")))), None)
    if field is None:
        return
    name = f"legend_{next(names)}"
    host = next(leaf for leaf, enc in leaves if _series(enc.get("color")) == field)
    host.setdefault("params", []).append({"name": name, "select": {"type": "point", "fields": [field]},
                                          "bind": "legend"})
    for leaf, enc in leaves:
        if field in _grouped_by(enc) and "opacity" not in enc:
            full = _opacity(leaf, enc)
            leaf.setdefault("encoding", {})["opacity"] = {"condition": {"param": name, "value": full},
                                                          "value": round(FADED * full, 3)}


def _grouped_by(encoding: dict) -> set[str]:
    """The fields a layer's marks are coloured, shaped or grouped by (tooltips and texts do not count)."""
    channels = [c for name, c in encoding.items() if name not in SHOWN]
    defs = [d for c in channels for d in (c if isinstance(c, list) else [c])]
    return {d["field"] for d in defs if _has_field(d) and isinstance(d.get("field"), str)}


def _mark(leaf: dict) -> dict:
    """A layer's mark as a dict (``"line"`` -> ``{"type": "line"}``)."""
    mark = leaf["mark"]
    return {"type": mark} if isinstance(mark, str) else dict(mark)


def _opacity(leaf: dict, encoding: dict) -> float:
    """The opacity Vega-Lite gives a layer's marks when its encoding says none: the mark's own, else 0.7 for
    points and ticks of raw data, else 1 (an opacity encoding replaces that default, so it must repeat it)."""
    mark = _mark(leaf)
    if "opacity" in mark:
        return float(mark["opacity"])
    aggregated = any(isinstance(c, dict) and "aggregate" in c for c in encoding.values())
    return 0.7 if mark["type"] in POINT_MARKS and not aggregated else 1.0
