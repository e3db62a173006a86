"""Figures of the activations page: f and f' with saturation shading, the saturation table, the chain."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.charts import HEIGHT, LINE_KEY, WIDTH, line_chart, log_profile, series, thin, tooltips
from stabviz.experiments import Result
from stabviz.experiments.activations import Params
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import choice_label, scoped, tr

_t = scoped("activations")
RANGE_DTYPES = ("float16", "bfloat16", "float32")


def _named(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Display names of the functions (values in the data stay neutral)."""
    return df.assign(function=[choice_label("activation", f, lang) for f in df["function"]])


def _saturated_spans(curves: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Runs of x where |f'(x)| < threshold, one row per run and function."""
    rows = []
    for name, g in curves.groupby("function", sort=False):
        sat = (g["df"].abs() < threshold).to_numpy()
        edges = np.flatnonzero(np.diff(np.r_[0, sat.astype(int), 0]))
        xs = g["x"].to_numpy()
        rows += [{"function": name, "x": xs[a], "x2": xs[b - 1]} for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return pd.DataFrame(rows, columns=["function", "x", "x2"])


def curves_view(result: Result, p: Params, lang: str) -> list[Block]:
    """f(x) and f'(x); shaded where the derivative is below the saturation threshold."""
    full = _named(result.tables["curves"], lang)
    curves = thin(full, "x", ["function"])  # a fine grid (x_step) is drawn at about LAYER_ROWS points
    f_chart = line_chart(curves, "x", "f", "function", x_title="x", y_title="f(x)", title=_t("curves.f_title", lang))
    d_chart = line_chart(curves, "x", "df", "function", x_title="x", y_title="f'(x)", title=_t("curves.df_title", lang))
    spans = alt.Chart(_saturated_spans(full, p.threshold)).mark_rect(opacity=0.12).encode(
        x=alt.X("x:Q"), x2=alt.X2("x2:Q"), color=series("function", legend=LINE_KEY))
    rules = pd.DataFrame({"y": [p.threshold, -p.threshold, 0.25], "label": ["+thr", "-thr", "1/4"]})
    rule = alt.Chart(rules).mark_rule(strokeDash=[3, 3], color="grey").encode(
        y=alt.Y("y:Q"), tooltip=tooltips(["label:N", "y:Q"]))
    d_chart = alt.layer(spans, d_chart, rule, width=WIDTH, height=HEIGHT)
    return [
        Figure("activations_f", f_chart, _t("curves.f_caption", lang)),
        Figure("activations_df", d_chart, _t("curves.df_caption", lang, threshold=f"{p.threshold:g}")),
    ]


SATURATION_COLUMNS = (
    "max_abs_grad", "saturated_mc", "saturated_quad", "mean_grad_mc", "mean_grad_quad",
    "mean_sq_grad_mc", "mean_sq_grad_quad",
)


def saturation_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The saturation table: Monte Carlo beside quadrature."""
    table = _named(result.tables["saturation"], lang).round(4)
    header = {c: _t(f"saturation.col.{c}", lang) for c in ("function", *SATURATION_COLUMNS)}
    caption = tr("activations.saturation.caption", lang, s=f"{p.input_std:g}", n=p.samples,
                 threshold=f"{p.threshold:g}")
    return [Table("activations_saturation", table.rename(columns=header), caption)]


def chain_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Median |product of f'| over depth in float64, theory dashed, where fp16/bf16/fp32 give up."""
    measured = result.tables["chain"]
    measured = _named(measured[measured["dtype"] == "float64"], lang).drop(columns="dtype")
    theory = _named(result.tables["chain_theory"], lang)
    theory = theory.assign(curve=[_t(f"chain.curve_{c}", lang) for c in theory["curve"]])
    chart = log_profile(
        measured, "layer", "value", "function", lang=lang, x_title=_t("chain.x", lang), y_title=_t("chain.y", lang),
        title=_t("chain.chart_title", lang, depth=p.depth), theory=theory, dtype=RANGE_DTYPES,
    )
    limits = _named(result.tables["chain_limits"], lang)
    limits = limits[limits["dtype"] != "float64"]
    header = {c: _t(f"chain.col.{c}", lang) for c in limits.columns}
    return [
        Figure("activations_chain", chart, _t("chain.caption", lang)),
        Table("activations_chain_limits", limits.rename(columns=header), _t("chain.limits_caption", lang)),
    ]


VIEWS = {"curves": curves_view, "saturation": saturation_view, "chain": chain_view}
