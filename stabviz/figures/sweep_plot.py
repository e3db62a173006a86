"""A sweep's figure: one finding against one knob, measured (solid, a shape per series) and theory (dashed).

The y axis is logarithmic when the finite values are positive and span more than :data:`LOG_SPAN`; zeros, infs
and nans are drawn as markers at the axis' edge, as on every other chart.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.chart_style import THEORY_DASH, marked, names, point_layer, series, series_scales
from stabviz.charts import HEIGHT, STATE_SHAPES, WIDTH, tooltips
from stabviz.experiments import Section
from stabviz.figures import Figure, Table
from stabviz.figures.compare import finding_label
from stabviz.i18n import choice_label, param_label, tr
from stabviz.logscale import exact_text, for_log, log_domain, log_y
from stabviz.params import ParamsBase
from stabviz.sweep import Sweep, finding_of

LOG_SPAN = 30.0  # finite positive values spanning more than this factor get a log axis


def blocks(df: pd.DataFrame, page: str, section: Section, params: ParamsBase, sweep: Sweep, lang: str) -> list:
    """The sweep's figure and its table (the CSV of every point)."""
    finding = finding_of(section, sweep.finding)
    spec = params.specs()[sweep.knob]
    knob = param_label(page, sweep.knob, lang)
    y_title = tr(f"{page}.finding.{finding.name}.label", lang)
    data = df.assign(series=[finding_label(page, finding, s, lang) if s else y_title for s in df["series"]],
                     kind=[tr(f"common.chart.{k}", lang) for k in df["kind"]])
    if spec.choices or spec.kind is bool:
        data["value"] = [choice_label(spec.vocab, v, lang) if spec.choices else str(v).lower() for v in data["value"]]
    title = tr("common.sweep.chart_title", lang, finding=y_title, knob=knob)
    chart = sweep_chart(data, knob, y_title, title, lang, numeric=not (spec.choices or spec.kind is bool),
                        x_log=sweep.scale == "log")
    caption = tr(f"{page}.finding.{finding.name}.help", lang) + " " + tr("common.sweep.caption", lang)
    name = f"{page}_{section.name}_sweep_{finding.name}_{sweep.knob}"
    return [Figure(name, chart, caption), Table(name, df)]


def sweep_chart(data: pd.DataFrame, x_title: str, y_title: str, title: str, lang: str, *, numeric: bool,
                x_log: bool) -> alt.LayerChart:
    """Measured lines with shapes, dashed theory, and markers for zero/inf/nan (log or linear y)."""
    finite = data["y"][np.isfinite(data["y"])]
    log = bool(len(finite)) and bool((finite > 0).all()) and finite.max() > LOG_SPAN * finite.min()
    x_enc = alt.X("value:Q", title=x_title, scale=alt.Scale(type="log") if x_log else alt.Undefined) if numeric \
        else alt.X("value:N", title=x_title, sort=None)
    placed, y_enc = _placed(data, y_title, log)
    measured = placed[placed["kind"] == tr("common.chart.measured", lang)]
    theory = placed[placed["kind"] == tr("common.chart.theory", lang)]
    states = {tr(f"common.state.{s}", lang): shape for s, shape in STATE_SHAPES.items()}
    scales = series_scales(names(measured["series"]), [n for n in names(theory["series"])
                                                       if n not in set(measured["series"])], states)
    color, tips = series("series", scale=scales["color"]), tooltips(["value", "series:N", "kind:N", "exact:N"])
    ok = measured[measured["state"] == "finite"]
    ok = ok.assign(marked=marked(ok, ["series"]))
    layers = [alt.Chart(ok).mark_line().encode(x=x_enc, y=y_enc, color=color, tooltip=tips),
              point_layer(ok, x=x_enc, y=y_enc, color=color, shape=series("series", alt.Shape, scale=scales["shape"]),
                          tooltip=tips),
              alt.Chart(theory[theory["state"] == "finite"]).mark_line(strokeDash=list(THEORY_DASH)).encode(
                  x=x_enc, y=y_enc, color=color, tooltip=tips)]
    bad = placed[placed["state"] != "finite"].assign(
        state=lambda d: [tr(f"common.state.{s}", lang) for s in d["state"]])
    layers.append(alt.Chart(bad).mark_point(size=90, filled=True, opacity=0.9).encode(
        x=x_enc, y=y_enc, color=color, shape=series("state", alt.Shape, scale=scales["shape"]), tooltip=tips))
    return alt.layer(*layers, title=title, width=WIDTH, height=HEIGHT)


def _placed(data: pd.DataFrame, y_title: str, log: bool) -> tuple[pd.DataFrame, alt.Y]:
    """Rows with a drawable y (non-finite ones at the axis' edge) and the y encoding."""
    if log:
        domain = log_domain(data["y"])
        return for_log(data, "y", domain), log_y(y_title, domain)
    out = data.assign(exact=[exact_text(v) for v in data["y"]])
    finite = out["y"][np.isfinite(out["y"])]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    out["y"] = np.where(np.isnan(out["y"]), hi, np.clip(out["y"], lo, hi))
    out["state"] = [s if s != "zero" else "finite" for s in out["state"]]
    return out, alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False))
