"""Figures of the mixed-precision page's two training tabs: the four forms (loss, zero gradients, the GradScaler's
scale and skipped steps) and the master weights (w + u in each format, and runs with and without master copies)."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from stabviz.chart_style import THEORY_DASH
from stabviz.charts import HEIGHT, label, line_chart, log_profile, tooltips
from stabviz.experiments import Result
from stabviz.experiments.mixed_precision import Params
from stabviz.figures import Block, Figure
from stabviz.i18n import scoped

_t = scoped("mixed_precision")


def _g(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.4g}"


def _pct(x: float) -> str:
    return "—" if math.isnan(x) else f"{100 * x:.3g}%"


def _form(form: str, lang: str, weights: bool = False) -> str:
    """A form's display name (``weights``: a bare half format names weights kept in it, not autocast)."""
    return _t(f"form.{form}_weights" if weights and form in ("float16", "bfloat16") else f"form.{form}", lang)


def _named(df: pd.DataFrame, lang: str, weights: bool = False) -> pd.DataFrame:
    """The run table with each form's display name as its series."""
    return df.assign(series=[_form(f, lang, weights) for f in df["form"]])


def _unsupported(table: pd.DataFrame, lang: str, weights: bool = False) -> list[str]:
    """A message per form this device could not run, with torch's own words."""
    return [_t("training.unsupported", lang, form=_form(r.form, lang, weights), device=r.device, error=r.error)
            for r in table.itertuples()]


def training_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Loss per step for each form, the share of zero gradient entries, the GradScaler's scale with its skipped
    steps; a message for a form this device cannot run."""
    runs, f = _named(result.tables["train_runs"], lang), result.findings
    notes = _unsupported(result.tables["train_unsupported"], lang)
    if runs.empty:
        return notes
    step = _t("training.step", lang)
    loss = log_profile(runs[["step", "loss", "series"]], "step", "loss", "series", lang=lang, x_title=step,
                       y_title=_t("training.loss_y", lang), title=_t("training.loss_title", lang, lr=f"{p.lr:g}"))
    zeros = log_profile(runs[["step", "zero_grad_share", "series"]], "step", "zero_grad_share", "series", lang=lang,
                        x_title=step, y_title=_t("training.zero_y", lang), title=_t("training.zero_title", lang))
    blocks: list[Block] = [*notes, Figure("mixed_precision_train_loss", loss, _t("training.loss_caption", lang)),
                           Figure("mixed_precision_train_zero", zeros, _t("training.zero_caption", lang))]
    scaled = runs[runs["form"] == "float16_scaled"]
    if len(scaled):
        blocks.append(Figure("mixed_precision_train_scale", _scale_chart(scaled, p, lang),
                             _t("training.scale_caption", lang, interval=p.growth_interval)))
    blocks.append(_t("training.findings", lang, **{k: _g(v) for k, v in f.items() if "share" not in k},
                     **{k: _pct(v) for k, v in f.items() if "share" in k}))
    return blocks


def _scale_chart(scaled: pd.DataFrame, p: Params, lang: str) -> alt.LayerChart:
    """log2 of the GradScaler's scale at each step, and ▲ at the steps it skipped (an inf or nan gradient)."""
    df = scaled[["step", "log2_scale"]].assign(series=_t("training.scale_series", lang))
    chart = line_chart(df, "step", "log2_scale", "series", x_title=_t("training.step", lang),
                       y_title=_t("training.scale_y", lang), title=_t("training.scale_title", lang), lang=lang)
    skipped = scaled[scaled["skipped"]][["step", "log2_scale"]].assign(what=_t("training.skipped", lang))
    chart.layer.append(alt.Chart(skipped).mark_point(shape="triangle-up", filled=True, size=110, color="#b00020")
                       .encode(x=alt.X("step:Q"), y=alt.Y("log2_scale:Q"),
                               tooltip=tooltips(["what:N", "step:Q", "log2_scale:Q"])))
    return chart


def master_view(result: Result, p: Params, lang: str) -> list[Block]:
    """fl(w + u) - w against u in each format (0 drawn as ▼), the exact u dashed and ulp(w)/2 as rules; then the
    runs' loss and the share of weights whose update rounded away."""
    f = result.findings
    updates = result.tables["updates"]
    theory = pd.DataFrame({"update": updates["update"].unique()})
    theory = theory.assign(change=theory["update"], format=_t("master.exact", lang))
    chart = log_profile(updates, "update", "change", "format", lang=lang, x_title=_t("master.u", lang),
                        y_title=_t("master.change", lang), x_log=True, theory=theory,
                        title=_t("master.update_title", lang, w=f"{p.weight:g}"))
    chart.layer += _half_ulp_rules(f, lang)
    blocks: list[Block] = [
        Figure("mixed_precision_update", chart, _t("master.update_caption", lang)),
        _t("master.update_findings", lang, w=f"{p.weight:g}",
           **{f"{k}_{fmt}": _g(f[f"update_smallest_{k}_{fmt}"]) for k in ("measured", "theory")
              for fmt in ("float32", "bfloat16", "float16")}),
        *_unsupported(result.tables["master_unsupported"], lang, weights=True),
    ]
    runs = _named(result.tables["master_runs"], lang, weights=True)
    if runs.empty:
        return blocks
    step = _t("training.step", lang)
    loss = log_profile(runs[["step", "loss", "series"]], "step", "loss", "series", lang=lang, x_title=step,
                       y_title=_t("master.loss_y", lang), title=_t("master.loss_title", lang, lr=f"{p.master_lr:g}"))
    stalled = log_profile(runs[["step", "stalled_share", "series"]], "step", "stalled_share", "series", lang=lang,
                          x_title=step, y_title=_t("master.stalled_y", lang), title=_t("master.stalled_title", lang))
    return [
        *blocks,
        Figure("mixed_precision_master_loss", loss, _t("master.loss_caption", lang)),
        Figure("mixed_precision_master_stalled", stalled, _t("master.stalled_caption", lang)),
        _t("master.run_findings", lang, **{k.removeprefix("master_"): (_pct(v) if "share" in k else _g(v))
                                           for k, v in f.items() if k.startswith("master_")}),
    ]


def _half_ulp_rules(f: dict, lang: str) -> list[alt.Chart]:
    """A dashed rule at ulp(w)/2 of each format (the theory's smallest update that changes w), labelled."""
    rows = [{"x": f[f"update_smallest_theory_{fmt}"], "label": _t("master.half_ulp", lang, fmt=fmt,
                                                                  value=_g(f[f"update_smallest_theory_{fmt}"]))}
            for fmt in ("float32", "bfloat16", "float16")]
    return vertical_rules(pd.DataFrame(rows))


def vertical_labels(df: pd.DataFrame, height: int, color: str = "black") -> list[alt.Chart]:
    """Each rule's label written upwards from the bottom of the plot, on its left side."""
    return label(df, {"angle": 270, "align": "left", "baseline": "bottom", "color": color, "fontSize": 10, "dx": 4},
                 x=alt.X("x:Q"), y=alt.YValue(height - 2), text=alt.Text("label:N"))


def vertical_rules(df: pd.DataFrame, height: int = HEIGHT) -> list[alt.Chart]:
    """Dashed black rules at ``df.x`` spanning the plot (a theory's value on the x axis), labelled by ``df.label``."""
    rule = alt.Chart(df).mark_rule(color="black", strokeDash=list(THEORY_DASH)).encode(
        x=alt.X("x:Q"), y=alt.YValue(0), y2=alt.Y2Value(height), tooltip=tooltips(["label:N"]))
    return [rule, *vertical_labels(df, height)]
