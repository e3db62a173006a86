"""Several runs of one figure in one Vega-Lite chart: overlaid, or side by side where overlaying cannot work.

Works on the finished Vega-Lite dicts, so every page's figures compare without page code. Overlaid runs keep
each series' colour; the runs differ by opacity and, for lines without a dash of their own, by dash, and one
legend names them. A heat map, a facet or a concatenation is drawn once per run, side by side, on shared
scales. Pinned runs' data are thinned so that the whole chart stays under :data:`CHART_ROWS` rows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pandas as pd

from stabviz.charts import thin

CHART_ROWS = 5000  # most rows one chart sends to the browser, all runs together
RUN_OPACITY = (1.0, 0.5, 0.38, 0.3, 0.24)  # live, then the pins
RUN_DASH = ([1, 0], [7, 3], [2, 2], [9, 3, 2, 3], [4, 4])
RUN_KEY = {"symbolType": "stroke", "symbolStrokeColor": "#333333", "symbolStrokeWidth": 2.5, "symbolSize": 500,
           "labelLimit": 400}  # the runs' legend: a long grey line in each run's dash and opacity
LEGEND_ENTRY_PX = 18  # one legend entry (label font 12) with its spacing; a title takes about as much
VIEW_KEYS = ("mark", "encoding", "transform", "data", "params", "projection")  # a single view's own keys
DASHED_MARKS = ("line", "rule", "trail")
LINE_MARKS = ("line", "trail")


def combine(specs: Sequence[dict], labels: Sequence[str], title: str = "Run") -> dict:
    """The runs' charts (the live run first) as one chart: overlaid if they can be, else side by side."""
    if len(specs) == 1:
        return specs[0]
    specs = _thinned(specs)
    return overlay(specs, labels, title) if all(can_overlay(s) for s in specs) else side_by_side(specs, labels)


def can_overlay(spec: dict) -> bool:
    """A layered or single view whose colours name series (not a heat map's values, not facets or concats)."""
    if not ("layer" in spec or "mark" in spec):
        return False
    return not any(_continuous_colour(layer) or _mark(layer) in ("rect", "bar", "image", "arc")
                   and not _faint(layer) for layer in _layers(spec))


def overlay(specs: Sequence[dict], labels: Sequence[str], title: str) -> dict:
    """Every run's layers in one layered chart; the live run's top-level settings (size, title, config)."""
    out = copy.deepcopy({k: v for k, v in specs[0].items() if k not in (*VIEW_KEYS, "layer", "datasets")})
    out["datasets"] = _datasets(specs)
    layers = []
    for i, spec in enumerate(specs):
        layers += [_run_layer(layer, i, labels, title) for layer in _layers(spec)]
    out["layer"] = layers
    _merge_scales(layers)
    _one_runs_legend(layers)
    if isinstance(out.get("height"), int | float):
        out["height"] = max(out["height"], _legend_height(layers, labels))
    return out


def side_by_side(specs: Sequence[dict], labels: Sequence[str]) -> dict:
    """One chart per run, two to a row (one per row for facets), titled by its run, on shared scales."""
    views = []
    for spec, label in zip(specs, labels, strict=True):
        view = copy.deepcopy({k: v for k, v in spec.items() if k not in ("datasets", "config", "$schema")})
        view["title"] = {"text": label, "subtitle": _title_text(spec.get("title"))}
        if isinstance(view.get("width"), int | float):
            view["width"] = min(view["width"], 420)
        views.append(view)
    nested = any("facet" in s or "concat" in s or "hconcat" in s or "vconcat" in s for s in specs)
    return {"$schema": specs[0].get("$schema"), "config": specs[0].get("config", {}), "datasets": _datasets(specs),
            "concat": views, "columns": 1 if nested else 2,
            "resolve": {"scale": {"x": "shared", "y": "shared", "color": "shared"}}}


def _title_text(title: Any) -> str:
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return "" if title is None else str(title)


def _layers(spec: dict) -> list[dict]:
    """A chart's layers, a single view as a one-layer list (nested layers flattened, their encodings inherited)."""
    if "layer" not in spec:
        return [{k: spec[k] for k in VIEW_KEYS if k in spec}]
    shared = spec.get("encoding", {})
    out = []
    for layer in spec["layer"]:
        layer = {**layer, "encoding": {**shared, **layer.get("encoding", {})}}
        if "data" not in layer and "data" in spec:
            layer["data"] = spec["data"]
        out += _layers(layer) if "layer" in layer else [layer]
    return out


def _mark(layer: dict) -> str:
    mark = layer.get("mark", "")
    return mark.get("type", "") if isinstance(mark, dict) else mark


def _faint(layer: dict) -> bool:
    """A shaded band drawn under the data (its opacity well below 1)."""
    mark = layer.get("mark", {})
    return isinstance(mark, dict) and mark.get("opacity", 1) < 0.5


def _continuous_colour(layer: dict) -> bool:
    enc = layer.get("encoding", {})
    return any(enc.get(c, {}).get("type") == "quantitative" for c in ("color", "fill", "stroke"))


def _run_layer(layer: dict, i: int, labels: Sequence[str], title: str) -> dict:
    """A layer of run ``i``: named in the runs' legend by opacity (and dash, for an undashed line)."""
    layer = copy.deepcopy(layer)
    mark = layer["mark"] if isinstance(layer["mark"], dict) else {"type": layer["mark"]}
    enc = layer.setdefault("encoding", {})
    own_opacity = "opacity" in mark or "opacity" in enc or "fillOpacity" in mark or "strokeOpacity" in mark
    if _mark(layer) == "text" and not own_opacity:  # a label: fainter, but not a legend entry (a text key is blank)
        mark["opacity"] = RUN_OPACITY[i]
    elif own_opacity:
        for key in ("opacity", "fillOpacity", "strokeOpacity"):
            if key in mark and i:
                mark[key] = round(mark[key] * RUN_OPACITY[i], 3)
    else:
        enc["opacity"] = _datum(labels, i, list(RUN_OPACITY[:len(labels)]), title)
    if _mark(layer) in LINE_MARKS and "strokeDash" not in mark and "strokeDash" not in enc:
        enc["strokeDash"] = _datum(labels, i, [list(d) for d in RUN_DASH[:len(labels)]], title)
    layer["mark"] = mark
    return layer


def _legend_height(layers: list[dict], labels: Sequence[str]) -> int:
    """The height the legends need, so that none is cut off: Streamlit draws a chart at its height, and its
    Vega-Lite draws a legend per channel (the series' colours and their shapes apart), each entry ~18 px."""
    entries = {c: len(enc[c]["scale"]["domain"]) for enc in (layer["encoding"] for layer in layers)
               for c in ("color", "shape", "strokeDash") if isinstance(enc.get(c), dict) and "field" in enc[c]
               and isinstance(enc[c].get("scale", {}).get("domain"), list)}
    return LEGEND_ENTRY_PX * (sum(entries.values()) + len(labels) + len(entries) + 1)


def _one_runs_legend(layers: list[dict]) -> None:
    """Name the runs in one legend: the dash's where a line carries one, else the opacity's. Streamlit's Vega-Lite
    (6.5 in Streamlit 1.67) draws one legend per channel where vl-convert merges channels over the same domain."""
    dashed = any("datum" in layer["encoding"].get("strokeDash", {}) for layer in layers)
    for layer in layers:
        opacity = layer["encoding"].get("opacity", {})
        if dashed and "datum" in opacity:
            opacity["legend"] = None


def _datum(labels: Sequence[str], i: int, values: list, title: str) -> dict:
    """A constant channel value from a scale over the run labels: the legend that names the runs."""
    scale = {"domain": list(labels), "range": values}
    return {"datum": labels[i], "scale": scale, "legend": RUN_KEY | {"title": title}}


def _merge_scales(layers: list[dict]) -> None:
    """One domain and range per channel over every run's series (each keeping its first colour, shape, dash)."""
    for channel in ("color", "shape", "strokeDash", "fill", "stroke"):
        pairs: dict = {}
        scales = [enc[channel]["scale"] for enc in (layer.get("encoding", {}) for layer in layers)
                  if isinstance(enc.get(channel), dict) and "field" in enc[channel]
                  and isinstance(enc[channel].get("scale", {}).get("domain"), list)]
        for scale in scales:
            rng = scale.get("range") if isinstance(scale.get("range"), list) else [None] * len(scale["domain"])
            for value, style in zip(scale["domain"], rng, strict=False):
                pairs.setdefault(_key(value), (value, style))
        for scale in scales:
            scale["domain"] = [v for v, _ in pairs.values()]
            if isinstance(scale.get("range"), list):
                scale["range"] = [s for _, s in pairs.values()]


def _key(value: Any) -> str:
    return repr(value)


def _datasets(specs: Sequence[dict]) -> dict:
    """Every run's named datasets (Altair names them by their content's hash, so names never clash)."""
    out: dict = {}
    for spec in specs:
        out |= spec.get("datasets", {})
    return out


def rows(spec: dict) -> int:
    """The rows a chart sends to the browser."""
    return sum(len(v) for v in spec.get("datasets", {}).values())


def _thinned(specs: Sequence[dict]) -> list[dict]:
    """The pinned runs' datasets thinned along their x field so that all runs together fit :data:`CHART_ROWS`."""
    live = set(specs[0].get("datasets", {}))
    pinned = {name: data for s in specs[1:] for name, data in s.get("datasets", {}).items() if name not in live}
    room = CHART_ROWS - rows(specs[0])
    if sum(len(d) for d in pinned.values()) <= room or not pinned:
        return list(specs)
    share = max(50, room // len(pinned))
    out = [specs[0]]
    for spec in specs[1:]:
        spec = {**spec, "datasets": dict(spec.get("datasets", {}))}
        for name in spec["datasets"]:
            if name in pinned and len(pinned[name]) > share:
                spec["datasets"][name] = _thin_rows(pinned[name], _x_field(spec, name), share)
        out.append(spec)
    return out


def _thin_rows(data: list[dict], x: str | None, most: int) -> list[dict]:
    """Rows at every k-th x (or every k-th row), keeping every row whose state is not finite (a marker)."""
    df = pd.DataFrame(data)
    if x is None or x not in df:
        return data[:: -(-len(data) // most)]
    keep = df["state"].ne("finite") if "state" in df else None
    return thin(df, x, max_rows=most, keep=keep).to_dict(orient="records")


def _x_field(spec: dict, dataset: str) -> str | None:
    """The x field of the first layer drawing ``dataset``."""
    for layer in _layers(spec):
        if layer.get("data", {}).get("name") == dataset:
            x = layer.get("encoding", {}).get("x", {})
            if isinstance(x, dict) and "field" in x:
                return x["field"]
    return None
