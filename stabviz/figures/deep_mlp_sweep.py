"""The deep-MLP page's learning-rate sweep: training accuracy against the learning rate (the band that trains
above the target rule, diverged runs as ✕), each learning rate's loss per step, and the table."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from stabviz.charts import HEIGHT, WIDTH, changes, hline, log_profile, thin, tooltips
from stabviz.experiments import Result
from stabviz.experiments.deep_mlp import Params
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import scoped

OUTCOMES = ("trained", "not_trained", "diverged")
SHAPES = ("circle", "square", "cross")

_t = scoped("deep_mlp")


def _outcome(row: pd.Series) -> str:
    return "diverged" if row["diverged"] else ("trained" if row["trained"] else "not_trained")


def _accuracy_chart(table: pd.DataFrame, p: Params, lang: str) -> alt.LayerChart:
    """Accuracy after training per learning rate (log x), shaped and coloured by outcome, the target as a rule."""
    names = [_t(f"lr_sweep.{o}", lang) for o in OUTCOMES]
    data = table.assign(outcome=[_t(f"lr_sweep.{_outcome(r)}", lang) for _, r in table.iterrows()])
    x = alt.X("lr:Q", title=_t("lr_sweep.x", lang), scale=alt.Scale(type="log"), axis=alt.Axis(format="~g"))
    y = alt.Y("accuracy:Q", title=_t("lr_sweep.y", lang), scale=alt.Scale(domain=[0, 1]))
    line = alt.Chart(data).mark_line(color="grey", opacity=0.6).encode(x=x, y=y)
    points = alt.Chart(data).mark_point(size=90, filled=True).encode(
        x=x, y=y, color=alt.Color("outcome:N", title=None, scale=alt.Scale(domain=names)),
        shape=alt.Shape("outcome:N", title=None, scale=alt.Scale(domain=names, range=list(SHAPES))),
        tooltip=tooltips(["lr:Q", "accuracy:Q", "final_loss:Q", "outcome:N"]))
    rule = hline(p.sweep_target, _t("lr_sweep.target", lang, value=f"{p.sweep_target:g}"))
    return alt.layer(line, points, rule, width=WIDTH, height=HEIGHT,
                     title=_t("lr_sweep.chart_title", lang, steps=p.sweep_steps))


def _loss_chart(curves: pd.DataFrame, lang: str) -> alt.LayerChart:
    """Each learning rate's minibatch loss per step, log y; a loss that became inf or nan as a marker."""
    data = curves.assign(series=[_t("lr_sweep.series", lang, lr=f"{v:.3g}") for v in curves["lr"]])
    data = data[["step", "loss", "series", "state"]]
    data = thin(data, "step", ["series"], keep=changes(data, ["series"], data["state"])).drop(columns="state")
    return log_profile(data, "step", "loss", "series", lang=lang, x_title=_t("training.step", lang),
                       y_title=_t("lr_sweep.loss_y", lang), title=_t("lr_sweep.loss_title", lang))


def _band(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3g}"


def sweep_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The findings, the accuracy-against-learning-rate chart, the loss curves and the table."""
    f, table = result.findings, result.tables["sweep"]
    text = _t("lr_sweep.findings", lang, trained=f["sweep_trained_lrs"], n=p.lr_points, target=f"{p.sweep_target:g}",
              low=_band(f["sweep_band_low"]), high=_band(f["sweep_band_high"]), diverged=f["sweep_diverged_lrs"],
              best=f"{f['sweep_best_accuracy']:.3f}", best_lr=f"{f['sweep_best_lr']:.3g}")
    shown = table[["lr", "final_loss", "accuracy", "diverged", "trained"]]
    shown = shown.rename(columns={c: _t(f"lr_sweep.col.{c}", lang) for c in shown.columns})
    return [
        text,
        Figure("deep_mlp_lr_sweep", _accuracy_chart(table, p, lang),
               _t("lr_sweep.caption", lang, depth=p.sweep_depth, width=p.sweep_width, batch=p.sweep_batch)),
        Figure("deep_mlp_lr_sweep_loss", _loss_chart(result.tables["sweep_curves"], lang),
               _t("lr_sweep.loss_caption", lang)),
        Table("deep_mlp_lr_sweep", shown, _t("lr_sweep.table_caption", lang)),
    ]
