"""Shared Altair builders. Log axes never break: zero, inf and nan become visible markers.

Values are classified into a ``state`` (finite / zero / inf / nan: `stabviz.logscale`); finite values
are drawn as they are, zeros as ▼ on the floor of the axis ("underflow to 0"), inf as ▲ on its ceiling
("overflow") and nan as ✕ on the ceiling. A dtype's representable range can be drawn as rules. Series differ
in colour and in shape, theory is dashed (`stabviz.chart_style`).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from stabviz.chart_style import PALETTE, THEORY_DASH, marked, names, point_layer, series, series_scales
from stabviz.i18n import tr
from stabviz.logscale import exact_text, for_log, log_domain, log_y
from stabviz.runtime import dtype_range
from stabviz.states import state_of

WIDTH, HEIGHT = 640, 320  # export size in CSS pixels (PNG is rendered at 2x)
CJK_FONT = "WenQuanYi Micro Hei"
# ✕ (Vega's "cross" is ✚)
X_SHAPE = "M-1,-0.6L-0.6,-1L0,-0.4L0.6,-1L1,-0.6L0.4,0L1,0.6L0.6,1L0,0.4L-0.6,1L-1,0.6L-0.4,0Z"
STATE_SHAPES = {"zero": "triangle-down", "inf": "triangle-up", "nan": X_SHAPE}


LAYER_ROWS = 2400  # most rows one chart layer sends to the browser (each costs it ~0.1 ms: bench/README.md)
LINE_KEY = alt.Legend(symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=2)  # a legend key drawn as the line


def tooltips(fields) -> list[alt.Tooltip]:
    """A typed tooltip per field (faster than Altair parsing bare strings: bench/README.md)."""
    return [alt.Tooltip(f) for f in fields]


def resolve(**scales: str) -> alt.Resolve:
    """Scale resolution for a layer's or concat's constructor, e.g. ``resolve(color="independent")``
    (``.resolve_scale()`` deep-copies the whole chart, and copying a layer copies its layers again)."""
    return alt.Resolve(scale=alt.ScaleResolveMap(**scales))


def log_profile(
    df: pd.DataFrame, x: str, y: str, color: str, *, lang: str, x_title: str, y_title: str,
    title: str = "", dash: str | None = None, theory: pd.DataFrame | None = None,
    dtype: str | Sequence[str] | None = None, x_log: bool = False,
) -> alt.LayerChart:
    """Measured series on a log y axis (each its colour and shape), optional dashed theory lines, markers for
    0/inf/nan, dtype rules."""
    values = [df[y]] + ([theory[y]] if theory is not None else [])
    domain = log_domain(np.concatenate([np.asarray(v, dtype=float) for v in values]))
    if dtype:
        domain = _with_dtype(domain, dtype)
    data = for_log(df, y, domain).rename(columns={y: "y"})
    x_scale = alt.Scale(type="log") if x_log else alt.Undefined
    x_enc = alt.X(f"{x}:Q", title=x_title, axis=_counting(df[x]), scale=x_scale)
    measured = names(df[color])
    states = {tr(f"common.state.{s}", lang): shape for s, shape in STATE_SHAPES.items()}
    scales = series_scales(measured, _theory_only(theory, color, measured), states)
    finite = data[data["state"] == "finite"]
    finite = finite.assign(kind=tr("common.chart.measured", lang), marked=marked(finite, [color, dash]))
    layers = [_lines(finite, x_enc, color, dash, scales, _tooltip(data))]
    if theory is not None:
        layers.append(_theory_lines(for_log(theory, y, domain).rename(columns={y: "y"}), x, x_enc, color, lang,
                                    scales))
    layers.append(point_layer(finite, x=x_enc, color=series(color, scale=scales["color"]),
                              shape=series(color, alt.Shape, scale=scales["shape"]), tooltip=_tooltip(data)))
    layers.append(_markers(data, x_enc, color, lang, scales))
    if dtype:
        layers += dtype_rules(dtype, domain, lang)
    chart = alt.layer(*layers, title=title, width=WIDTH, height=HEIGHT, resolve=resolve(color="shared"))
    return chart.encode(y=log_y(y_title, domain))


def _counting(x: pd.Series) -> alt.Axis | alt.UndefinedType:
    """An axis without fractional ticks for a count (steps, layers, iterations): no "step 1.5"."""
    return alt.Axis(tickMinStep=1) if pd.api.types.is_integer_dtype(x) else alt.Undefined


def _theory_only(theory: pd.DataFrame | None, color: str, measured: list) -> list:
    """The series that have a theory line and no measured one (a chart's single "theory" curve)."""
    return [] if theory is None else [n for n in names(theory[color]) if n not in measured]


def _lines(finite: pd.DataFrame, x_enc: alt.X, color: str, dash: str | None, scales: dict[str, alt.Scale],
           tooltip: list[alt.Tooltip]) -> alt.Chart:
    """The measured lines through the finite rows, in their series' colour (and ``dash`` field's dash)."""
    enc = {"color": series(color, scale=scales["color"]), "tooltip": tooltip}
    if dash:
        enc["strokeDash"] = series(dash, alt.StrokeDash)
        enc["detail"] = alt.Detail(f"{dash}:N")
    return alt.Chart(finite).mark_line().encode(x=x_enc, **enc)


def _theory_lines(theory: pd.DataFrame, x: str, x_enc: alt.X, color: str, lang: str,
                  scales: dict[str, alt.Scale]) -> alt.Chart:
    finite = theory[theory["state"] == "finite"].assign(kind=tr("common.chart.theory", lang))
    detail = [c for c in theory.columns if c not in ("y", "state", "exact", "kind", x, color)]
    return alt.Chart(finite).mark_line(strokeDash=list(THEORY_DASH), strokeOpacity=0.8).encode(
        x=x_enc, color=series(color, scale=scales["color"]), detail=[alt.Detail(c) for c in detail],
        tooltip=[alt.Tooltip("kind:N", title=""), *_tooltip(theory)],
    )


def _markers(data: pd.DataFrame, x_enc: alt.X, color: str, lang: str, scales: dict[str, alt.Scale]) -> alt.Chart:
    """▼ zero, ▲ inf, ✕ nan, drawn at the floor/ceiling of the axis in their series' colour; in the series'
    legend, by their translated names."""
    bad = data[data["state"] != "finite"].copy()
    bad["state"] = [tr(f"common.state.{s}", lang) for s in bad["state"]]
    return alt.Chart(bad).mark_point(size=90, filled=True, opacity=0.9).encode(
        x=x_enc, color=series(color, scale=scales["color"]), shape=series("state", alt.Shape, scale=scales["shape"]),
        tooltip=_tooltip(data),
    )


def _tooltip(data: pd.DataFrame) -> list[alt.Tooltip]:
    return tooltips([c for c in data.columns if c not in ("y", "state")] + ["state:N"])


def _as_list(dtypes: str | Sequence[str]) -> list[str]:
    return [dtypes] if isinstance(dtypes, str) else list(dtypes)


def _with_dtype(domain: tuple[float, float], dtypes: str | Sequence[str]) -> tuple[float, float]:
    """Widen the domain to show a dtype's limits when the data comes within 1e6 of them."""
    lo, hi = domain
    for dt in _as_list(dtypes):
        sub, _, big = dtype_range(dt)
        if lo / 1e6 < big < hi * 1e6:
            hi = max(hi, big * 10)
        if sub < hi and lo < sub * 1e6:
            lo = min(lo, sub / 10)
    return lo, hi


def label(data: pd.DataFrame, mark: dict, **encoding: alt.FieldChannelMixin | alt.ValueChannelMixin) -> list[alt.Chart]:
    """Text over a white outline of itself, so that a rule's label stays readable across lines and bands: two
    layers, to splat into the caller's (a nested layer costs Altair deep copies of its own)."""
    halo = alt.Chart(data).mark_text(**mark, stroke="white", strokeWidth=4, strokeJoin="round", opacity=0.85)
    return [halo.encode(**encoding), alt.Chart(data).mark_text(**mark).encode(**encoding)]


def dtype_rules(dtypes: str | Sequence[str], domain: tuple[float, float], lang: str) -> list[alt.Chart]:
    """Rules at each dtype's largest finite, smallest normal and smallest subnormal values in view, labelled
    (layers for the caller's own layer: not a nested one, which Altair deep-copies whenever the chart changes)."""
    labels: dict[float, list[str]] = {}
    for dt in _as_list(dtypes):
        sub, normal, big = dtype_range(dt)
        for v, k in ((big, "max"), (normal, "normal"), (sub, "subnormal")):
            if domain[0] <= v <= domain[1]:
                text = tr(f"common.limit.{k}", lang, dtype=dt, value=f"{v:.3g}")
                labels.setdefault(float(f"{v:.3g}"), []).append(text)
    df = pd.DataFrame([{"y": v, "label": " / ".join(t)} for v, t in sorted(labels.items())], columns=["y", "label"])
    rule = alt.Chart(df).mark_rule(color="#b00020", strokeDash=[2, 2], opacity=0.7).encode(y=alt.Y("y:Q"))
    style = {"baseline": "bottom", "color": "#b00020", "fontSize": 11}
    left = label(df.iloc[::2], {"align": "left", **style}, y=alt.Y("y:Q"), x=alt.XValue(4), text=alt.Text("label:N"))
    right = label(df.iloc[1::2], {"align": "right", **style}, y=alt.Y("y:Q"), x=alt.XValue(WIDTH - 4),
                  text=alt.Text("label:N"))
    return [rule, *left, *right]


def hline(y: float, name: str) -> alt.Chart:
    """A dashed black horizontal line at ``y`` (a theory value or a threshold), named in its tooltip."""
    df = pd.DataFrame({"y": [y], "label": [name]})
    return alt.Chart(df).mark_rule(strokeDash=list(THEORY_DASH), color="black").encode(
        y=alt.Y("y:Q"), tooltip=tooltips(["label:N", "y:Q"]))


def line_chart(
    df: pd.DataFrame, x: str, y: str, color: str, *, x_title: str, y_title: str, title: str = "",
    dash: str | None = None, theory: pd.DataFrame | None = None, lang: str = "en",
) -> alt.LayerChart:
    """Plain linear axes, each series its colour and shape, optional dashed theory lines (same column names as
    ``df``)."""
    x_enc = alt.X(f"{x}:Q", title=x_title, axis=_counting(df[x]))
    y_enc = alt.Y(f"{y}:Q", title=y_title)
    measured = names(df[color])
    scales = series_scales(measured, _theory_only(theory, color, measured))
    enc = {"color": series(color, scale=scales["color"])}
    if dash:
        enc["strokeDash"] = series(dash, alt.StrokeDash)
    tips = tooltips(df.columns)
    data = df.assign(marked=marked(df, [color, dash]))
    layers = [alt.Chart(data).mark_line().encode(x=x_enc, y=y_enc, tooltip=tips, **enc)]
    if theory is not None:
        t = theory.assign(kind=tr("common.chart.theory", lang))
        layers.append(alt.Chart(t).mark_line(strokeDash=list(THEORY_DASH)).encode(
            x=x_enc, y=y_enc, color=enc["color"], tooltip=tooltips(t.columns)))
    layers.append(point_layer(data, x=x_enc, y=y_enc, color=enc["color"],
                              shape=series(color, alt.Shape, scale=scales["shape"]), tooltip=tips))
    return alt.layer(*layers, title=title, width=WIDTH, height=HEIGHT)


def heatmap(
    df: pd.DataFrame, x: str, y: str, z: str, *, x_title: str, y_title: str, z_title: str,
    title: str = "", scheme: str = "redblue", mid: float | None = 0.0, lang: str = "en",
) -> alt.LayerChart:
    """Rect heatmap of a finite ``z``; non-finite cells drawn grey with a marker."""
    data = df.copy()
    data["state"] = state_of(data[z].where(data[z] != 0, 1.0))  # zero is a fine value here
    data["exact"] = [exact_text(v) for v in data[z]]
    data[z] = data[z].where(data["state"] == "finite")
    scale = alt.Scale(scheme=scheme, domainMid=mid) if mid is not None else alt.Scale(scheme=scheme)
    x_enc, y_enc = alt.X(f"{x}:O", title=x_title), alt.Y(f"{y}:O", title=y_title, sort="descending")
    tip = tooltips([x, y, "exact:N", "state:N"])
    finite = data[data["state"] == "finite"]
    rect = alt.Chart(finite).mark_rect().encode(
        x_enc, y_enc, alt.Color(f"{z}:Q", title=z_title, scale=scale), tooltip=tip)
    bad = data[data["state"] != "finite"].assign(state=lambda d: [tr(f"common.state.{s}", lang) for s in d["state"]])
    grey = alt.Chart(bad).mark_rect(color="#bbbbbb").encode(x_enc, y_enc, tooltip=tip)
    marks = alt.Chart(bad).mark_text(text="✕", color="black").encode(x_enc, y_enc)
    return alt.layer(rect, grey, marks, title=title, width=WIDTH, height=HEIGHT)


def themed(chart: alt.TopLevelMixin, lang: str) -> dict:
    """The chart's Vega-Lite dict with slide-readable sizes, and a CJK font for Chinese (registered for static export).

    The config is set on the dict, not with Altair's ``configure_*``: each of those deep-copies the whole chart.
    """
    spec = chart.to_dict(validate=False)
    spec["config"] = {
        **spec.get("config", {}),
        "font": CJK_FONT if lang == "zh" else "sans-serif",
        "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelSeparation": 4},  # touching labels get thinned
        "title": {"fontSize": 15, "anchor": "start"},
        "legend": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 260},
        "range": {"category": list(PALETTE)},  # every nominal colour without a range of its own: chart_style
    }
    return spec


def thin(df: pd.DataFrame, x: str, keys: Sequence[str] = (), max_rows: int = LAYER_ROWS,
         keep: pd.Series | None = None) -> pd.DataFrame:
    """Rows at every k-th distinct ``x`` (about ``max_rows`` in all), each series' last ``x``, and the rows ``keep``
    marks (where a marker must survive: a state change, a path's exit)."""
    xs = np.unique(df[x])
    k = max(1, int(np.ceil(len(df) / max_rows)))
    last = df.groupby(list(keys), sort=False)[x].transform("max") if keys else df[x].max()
    rows = df[x].isin(xs[::k]) | (df[x] == last)
    return df[rows if keep is None else rows | keep]


def changes(df: pd.DataFrame, keys: Sequence[str], states: pd.Series | np.ndarray) -> pd.Series:
    """Where each series' state differs from its previous row's (its first row included): rows thin() must keep."""
    s = pd.Series(np.asarray(states), index=df.index)
    return s.groupby([df[k] for k in keys], sort=False).transform(lambda g: g != g.shift())
