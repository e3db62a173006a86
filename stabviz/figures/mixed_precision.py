"""Figures of the mixed-precision page: where the gradients fall against float16's and bfloat16's bands, the
shift by log2 S under loss scaling, and the formats side by side (training and master weights: their own module).
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from stabviz.chart_style import marked, point_layer, series, series_scales
from stabviz.charts import HEIGHT, WIDTH, log_profile, tooltips
from stabviz.experiments import Result
from stabviz.experiments.mixed_precision import Params
from stabviz.experiments.mixed_precision_formats import FORMATS, limits
from stabviz.figures import Block, Figure, Table
from stabviz.figures.mixed_precision_train import master_view, training_view, vertical_labels, vertical_rules
from stabviz.i18n import choice_label, scoped, tr

_t = scoped("mixed_precision")
BAND_INK = {"zero": "#D55E00", "subnormal": "#E69F00", "inf": "#D55E00"}  # float16's lossy bands, shaded


def g(x: float) -> str:
    """A number for a sentence: 4 significant digits, nan as a dash."""
    return "—" if math.isnan(x) else f"{x:.4g}"


def pct(x: float) -> str:
    """A share as a percentage for a sentence."""
    return "—" if math.isnan(x) else f"{100 * x:.3g}%"


def _bands(lo: float, hi: float, height: int, lang: str) -> tuple[list[alt.Chart], list[alt.Chart]]:
    """float16's bands on a log2|g| axis from lo to hi, shaded: to 0, subnormal (precision lost), to inf (drawn
    behind the data); and a labelled rule at each limit of both half formats inside the axis (drawn over it)."""
    lim = limits("float16")
    edges = {"zero": (lo, math.log2(lim["smallest_subnormal"]) - 1),
             "subnormal": (math.log2(lim["smallest_subnormal"]) - 1, math.log2(lim["smallest_normal"])),
             "inf": (math.log2(lim["max"]), hi)}
    rects = pd.DataFrame([{"x": max(lo, a), "x2": min(hi, b), "band": _t(f"band.{k}", lang), "ink": BAND_INK[k]}
                          for k, (a, b) in edges.items() if a < hi and b > lo])
    shade = [alt.Chart(part).mark_rect(opacity=0.13, color=ink).encode(
        x=alt.X("x:Q"), x2=alt.X2("x2"), tooltip=tooltips(["band:N"])) for ink, part in rects.groupby("ink")]
    rules = []
    for fmt in FORMATS:
        f = limits(fmt)
        for key in ("max", "smallest_normal", "smallest_subnormal"):
            v = math.log2(f[key])
            if lo <= v <= hi:
                rules.append({"x": v, "label": _t(f"limit.{key}", lang, fmt=fmt, value=f"{f[key]:.3g}")})
    df = pd.DataFrame(rules, columns=["x", "label"])
    rule = alt.Chart(df).mark_rule(color="#b00020", strokeDash=[2, 2]).encode(x=alt.X("x:Q"),
                                                                              tooltip=tooltips(["label:N"]))
    return shade, [rule, *vertical_labels(df, height, "#b00020")]


def _axis_range(bins: pd.Series) -> tuple[float, float]:
    """The log2 axis: the finite binades, widened to show float16's range from below 2^-25 to 2^16."""
    finite = bins[np.isfinite(bins)]
    lo = min(float(finite.min()) if len(finite) else -30.0, -27.0)
    hi = max(float(finite.max()) + 1 if len(finite) else 0.0, 18.0)
    return lo - 1, hi + 1


def _histogram_chart(hist: pd.DataFrame, lang: str, title: str, rows: str) -> alt.LayerChart:
    """Binades as cells (x: log2|g|, y: ``rows``, colour: share), float16's bands behind them, exact zeros of
    float32 as ▼ at the left edge and inf / nan as ▲ / ✕ at the right (the empty binades are not drawn)."""
    hist = hist[hist["count"] > 0]
    finite = hist[np.isfinite(hist["log2_bin"])].assign(x2=lambda d: d["log2_bin"] + 1)
    lo, hi = _axis_range(hist["log2_bin"])
    x = alt.X("log2_bin:Q", title=_t("hist.x", lang), scale=alt.Scale(domain=[lo, hi], nice=False))
    y = alt.Y(f"{rows}:N", title=_t(f"hist.{rows}", lang), sort=None)
    cells = alt.Chart(finite).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, x2=alt.X2("x2"), y=y, color=alt.Color("share:Q", title=_t("hist.share", lang),
                                                     scale=alt.Scale(scheme="viridis")),
        tooltip=tooltips([f"{rows}:N", "log2_bin:Q", "count:Q", "share:Q"]))
    special = hist[~np.isfinite(hist["log2_bin"])]
    special = special.assign(where=[lo + 0.5 if v < 0 else hi - 0.5 for v in special["log2_bin"]],
                             state=[tr(f"common.state.{_state(v)}", lang) for v in special["log2_bin"]])
    states = {tr(f"common.state.{s}", lang): shape for s, shape in
              (("zero", "triangle-down"), ("inf", "triangle-up"), ("nan", "cross"))}
    marks = alt.Chart(special).mark_point(filled=True, size=90, color="black").encode(
        x=alt.X("where:Q"), y=y, shape=alt.Shape("state:N", title=None, scale=alt.Scale(
            domain=list(states), range=list(states.values()))), tooltip=tooltips([f"{rows}:N", "state:N", "count:Q"]))
    height = max(HEIGHT * 3 // 4, 24 * hist[rows].nunique())
    behind, over = _bands(lo, hi, height, lang)
    return alt.layer(*behind, cells, marks, *over, title=title, width=WIDTH, height=height)


def _state(v: float) -> str:
    return "nan" if math.isnan(v) else ("zero" if v < 0 else "inf")


def gradients_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The binades of every tensor's gradient against float16's bands; the share lost per tensor, measured by
    casting (solid) and predicted from finfo's thresholds (dashed); the table; the findings."""
    hist, bands, f = result.tables["histogram"], result.tables["bands"], result.findings
    net = choice_label("mp_net", p.net, lang)
    heat = _histogram_chart(hist, lang, _t("gradients.hist_title", lang, net=net), "tensor")
    return [
        Figure("mixed_precision_gradients", heat, _t("gradients.hist_caption", lang)),
        Figure("mixed_precision_lost", _lost_chart(bands, lang), _t("gradients.lost_caption", lang)),
        _t("gradients.findings", lang, lost16=pct(f["lost_share_measured_float16"]),
           theory16=pct(f["lost_share_theory_float16"]), sub16=pct(f["subnormal_share_measured_float16"]),
           lostbf=pct(f["lost_share_measured_bfloat16"]), first=pct(f["lost_share_first_tensor_float16"]),
           lo=g(f["grad_log2_min"]), med=g(f["grad_log2_median"]), hi=g(f["grad_log2_max"])),
        Table("mixed_precision_bands", _bands_table(bands, lang), _t("gradients.table_caption", lang)),
    ]


def _lost_chart(bands: pd.DataFrame, lang: str) -> alt.LayerChart:
    """Share of each tensor's nonzero entries that a format sends to 0 or inf, and float16's subnormal share."""
    picks = [("float16", ("zero", "inf"), "lost"), ("float16", ("subnormal",), "subnormal"),
             ("bfloat16", ("zero", "inf"), "lost")]
    measured, theory = [], []
    for fmt, kinds, what in picks:
        rows = bands[(bands["format"] == fmt) & bands["band"].isin(kinds)]
        per = rows.groupby(["layer", "tensor"], sort=False)[["share", "theory_share"]].sum().reset_index()
        name = _t(f"gradients.series_{what}", lang, fmt=fmt)
        measured.append(per[["layer", "tensor", "share"]].assign(series=name))
        theory.append(per[["layer", "tensor"]].assign(share=per["theory_share"], series=name))
    return log_profile(pd.concat(measured, ignore_index=True), "layer", "share", "series", lang=lang,
                       x_title=_t("gradients.lost_x", lang), y_title=_t("gradients.lost_y", lang),
                       title=_t("gradients.lost_title", lang), theory=pd.concat(theory, ignore_index=True))


def _bands_table(bands: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Per tensor and format, the share in each band (measured by casting) and the theory's lost share."""
    wide = bands.pivot_table(index=["layer", "tensor", "format"], columns="band", values="share", sort=False)
    lost = bands[bands["band"].isin(["zero", "inf"])].groupby(["layer", "tensor", "format"], sort=False)
    wide["theory_lost"] = lost["theory_share"].sum()
    wide = wide.reset_index().drop(columns="layer")
    return wide.rename(columns={c: _t(f"col.{c}", lang) for c in wide.columns})


def scaling_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The pooled binades with S = 1 and S = 2^k; float16's and bfloat16's losses as k sweeps, with the chosen k
    and the theory's best k."""
    f = result.findings
    hist = result.tables["scaled_histogram"]
    hist = hist.assign(scale=[("S = 1" if s == "1" else f"S = 2^{p.scale_exp}") for s in hist["scale"]])
    heat = _histogram_chart(hist, lang, _t("scaling.hist_title", lang, k=p.scale_exp), "scale")
    return [
        Figure("mixed_precision_scaled", heat, _t("scaling.hist_caption", lang)),
        Figure("mixed_precision_sweep", _sweep_chart(result, p, lang), _t("scaling.sweep_caption", lang)),
        _t("scaling.findings", lang, shift=g(f["shift_log2_measured"]), k=p.scale_exp,
           inexact=pct(f["shift_inexact_share"]), before=pct(f["unscaled_lost_share_float16"]),
           after=pct(f["scaled_lost_share_float16"]), inf=pct(f["scaled_inf_share_float16"]),
           best=g(f["best_scale_log2_measured"]), best_theory=g(f["best_scale_log2_theory"]),
           top=g(f["best_scale_largest"]), largest=g(f["grad_largest"])),
    ]


def _sweep_chart(result: Result, p: Params, lang: str) -> alt.LayerChart:
    """Share of nonzero entries lost against log2 S, with rules at the chosen k and at the best k of theory."""
    sweep = result.tables["scale_sweep"]
    parts = [("float16", "zero"), ("float16", "inf"), ("bfloat16", "lost")]
    df = pd.concat([sweep[sweep["format"] == fmt][["log2_scale", col]].rename(columns={col: "share"}).assign(
        series=_t(f"scaling.series_{col}", lang, fmt=fmt)) for fmt, col in parts], ignore_index=True)
    chart = log_profile(df, "log2_scale", "share", "series", lang=lang, x_title=_t("scaling.sweep_x", lang),
                        y_title=_t("scaling.sweep_y", lang), title=_t("scaling.sweep_title", lang))
    best = result.findings["best_scale_log2_theory"]
    rules = pd.DataFrame([{"x": p.scale_exp, "label": _t("scaling.chosen", lang, k=p.scale_exp)}]
                         + ([{"x": best, "label": _t("scaling.best", lang, k=g(best))}] if math.isfinite(best) else []))
    chart.layer += vertical_rules(rules)
    return chart


def formats_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Each format's normal and subnormal range on a log2 axis; the finfo table with the measured limits; the probe."""
    table, probe = result.tables["formats"], result.tables["probe"]
    ranges = pd.concat([
        table[["format"]].assign(lo=table["log2_smallest_subnormal"], hi=table["log2_smallest_normal"],
                                 band=_t("formats.subnormal", lang)),
        table[["format"]].assign(lo=table["log2_smallest_normal"], hi=table["log2_max"],
                                 band=_t("formats.normal", lang))], ignore_index=True)
    scales = series_scales(list(ranges["band"].unique()))
    y = alt.Y("format:N", title=None, sort=list(table["format"]))
    bars = alt.Chart(ranges.assign(marked=True)).mark_bar(height=18).encode(
        x=alt.X("lo:Q", title=_t("formats.x", lang)), x2=alt.X2("hi"), y=y, color=series("band", scale=scales["color"]),
        tooltip=tooltips(["format:N", "band:N", "lo:Q", "hi:Q"]))
    ends = point_layer(ranges.assign(marked=marked(ranges, ["band"])), x=alt.X("hi:Q"), y=y,
                       color=series("band", scale=scales["color"]), shape=series("band", alt.Shape,
                                                                               scale=scales["shape"]))
    chart = alt.layer(bars, ends, title=_t("formats.chart_title", lang), width=WIDTH, height=HEIGHT // 2)
    shown = table.drop(columns=["log2_max", "log2_smallest_normal", "log2_smallest_subnormal"])
    shown = shown.rename(columns={c: _t(f"formats.col.{c}", lang) for c in shown.columns})
    probe_shown = probe.rename(columns={c: _t(f"formats.col.{c}", lang) for c in probe.columns})
    return [
        Figure("mixed_precision_formats", chart, _t("formats.chart_caption", lang)),
        Table("mixed_precision_formats", shown, _t("formats.table_caption", lang)),
        Table("mixed_precision_probe", probe_shown, _t("formats.probe_caption", lang, x=f"{p.probe:.6g}")),
    ]


VIEWS = {"gradients": gradients_view, "scaling": scaling_view, "training": training_view, "master": master_view,
         "formats": formats_view}
