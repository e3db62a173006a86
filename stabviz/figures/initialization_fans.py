"""The initialization page's one-layer tab: each scheme's forward, backward and after-ReLU variance factors
(measured bars, the formula as a black tick, 1 = kept as a rule) and the table of weights and factors."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from stabviz.charts import HEIGHT, WIDTH, series, tooltips
from stabviz.experiments import Result
from stabviz.experiments.initialization import Params
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import choice_label, scoped

FACTORS = ("forward", "backward", "forward_relu")

_t = scoped("initialization")


def _factors(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Long rows (scheme, factor, measured, theory) with display names."""
    rows = [{"scheme": choice_label("init", r["scheme"], lang), "factor": _t(f"fans.factor_{k}", lang),
             "measured": r[k], "theory": r[f"{k}_theory"]} for r in table.to_dict("records") for k in FACTORS]
    return pd.DataFrame(rows)


def _chart(table: pd.DataFrame, p: Params, lang: str) -> alt.LayerChart:
    """Grouped bars of the measured factors per scheme, a tick at each formula's value, and the rule y = 1."""
    data = _factors(table, lang)
    x = alt.X("scheme:N", title=None, sort=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    offset = alt.XOffset("factor:N", sort=None)
    bars = alt.Chart(data).mark_bar(opacity=0.8).encode(
        x=x, xOffset=offset, y=alt.Y("measured:Q", title=_t("fans.y", lang)), color=series("factor"),
        tooltip=tooltips(["scheme:N", "factor:N", "measured:Q", "theory:Q"]))
    ticks = alt.Chart(data).mark_tick(color="black", thickness=2).encode(
        x=x, xOffset=offset, y=alt.Y("theory:Q"), tooltip=tooltips(["scheme:N", "factor:N", "theory:Q"]))
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="grey", strokeDash=[4, 3]).encode(y=alt.Y("y:Q"))
    return alt.layer(bars, ticks, one, width=WIDTH, height=HEIGHT,
                     title=_t("fans.chart_title", lang, n_in=p.fan_in, n_out=p.fan_out))


def _table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = table.assign(scheme=[choice_label("init", s, lang) for s in table["scheme"]])
    return out.rename(columns={c: _t(f"fans.col.{c}", lang) for c in out.columns})


def fans_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The Xavier/He compromise for one n_in x n_out layer: the chart, a sentence with the formulas, the table."""
    table = result.tables["fans"]
    xavier, he = 2 / (p.fan_in + p.fan_out), 2 / p.fan_in
    text = _t("fans.findings", lang, n_in=p.fan_in, n_out=p.fan_out, xavier=f"{xavier:.4g}",
              a=f"{math.sqrt(3 * xavier):.4g}", fwd=f"{p.fan_in * xavier:.3g}", bwd=f"{p.fan_out * xavier:.3g}",
              he=f"{he:.4g}", he_a=f"{math.sqrt(3 * he):.4g}")
    return [
        text,
        Figure("initialization_fans", _chart(table, p, lang), _t("fans.caption", lang, batch=p.fan_batch)),
        Table("initialization_fans_table", _table(table, lang), _t("fans.table_caption", lang)),
    ]
