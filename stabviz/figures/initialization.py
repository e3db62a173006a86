"""Figures of the initialization page: per-layer variance profiles with their theory lines, activation
histograms, and the depth x sigma_w heatmap of the gradient ratio with its stable band and critical line."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from stabviz.charts import HEIGHT, WIDTH, label, log_profile, resolve, tooltips
from stabviz.experiments import Result
from stabviz.experiments.initialization import Params
from stabviz.figures import Block, Figure, Table
from stabviz.figures.initialization_fans import fans_view
from stabviz.i18n import choice_label, scoped, tr
from stabviz.states import state_of

HIST_CELL = (130, 70)  # width, height of one histogram panel
SYMBOLS = {"zero": "▼", "inf": "▲", "nan": "✕"}  # the markers charts.py draws for these states


_t = scoped("initialization")


def _scheme_name(scheme: str, p: Params, lang: str) -> str:
    """Display name of a scheme; the constant-std ones carry their std."""
    name = choice_label("init", scheme, lang)
    return f"{name}, s = {p.std:g}" if scheme in ("normal", "uniform") else name


def _named(df: pd.DataFrame, p: Params, lang: str) -> pd.DataFrame:
    return df.assign(scheme=[_scheme_name(s, p, lang) for s in df["scheme"]])


def _profile_chart(result: Result, p: Params, quantity: str, lang: str) -> alt.LayerChart:
    """Measured second moment per layer (solid) and the mean-field line (dashed), log y, dtype range."""
    t = result.tables["profile"]
    rows = _named(t[t["quantity"] == quantity], p, lang)[["scheme", "layer", "source", "value"]]
    measured = rows[rows["source"] == "measured"].drop(columns="source")
    theory = rows[rows["source"] == "theory"].drop(columns="source")
    return log_profile(measured, "layer", "value", "scheme", lang=lang, x_title=_t("network.x", lang),
                       y_title=_t(f"network.{quantity}_y", lang), title=_t(f"network.{quantity}_title", lang),
                       theory=theory, dtype=p.dtype)


def _rates_table(result: Result, p: Params, lang: str) -> Table:
    rates = _named(result.tables["rates"], p, lang).round(4)
    header = {c: _t(f"network.col.{c}", lang) for c in rates.columns}
    return Table("initialization_rates", rates.rename(columns=header), _t("network.rates_caption", lang))


def network_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Forward and backward variance per layer for each scheme, the per-layer factors, and the histograms."""
    f = result.findings
    act = choice_label("activation", p.activation, lang)
    gains = _t("network.gains", lang, act=act, fwd=f"{f['forward_gain']:.4g}", bwd=f"{f['backward_gain']:.4g}")
    return [
        gains,
        Figure("initialization_forward", _profile_chart(result, p, "forward", lang),
               _t("network.forward_caption", lang, n=p.width, batch=p.batch)),
        Figure("initialization_backward", _profile_chart(result, p, "backward", lang),
               _t("network.backward_caption", lang)),
        _rates_table(result, p, lang),
        *_histogram_blocks(result, p, lang),
    ]


def _histogram_blocks(result: Result, p: Params, lang: str) -> list[Block]:
    """Faceted histograms (rows: schemes, columns: layers) and their summary table."""
    hist = _named(result.tables["histograms"], p, lang)
    bars = alt.Chart(hist).mark_rect(color="#4c78a8").encode(
        x=alt.X("bin_lo:Q", title=_t("hist.x", lang), axis=alt.Axis(format="~g", tickCount=3)), x2=alt.X2("bin_hi:Q"),
        y=alt.Y("fraction:Q", title=_t("hist.y", lang), axis=alt.Axis(format="~%", tickCount=3)),
        tooltip=tooltips(["scheme:N", "layer:O", "bin_lo:Q", "bin_hi:Q", "count:Q"]),
    ).properties(width=HIST_CELL[0], height=HIST_CELL[1])
    chart = bars.facet(
        row=alt.Row("scheme:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=200)),
        column=alt.Column("layer:O", title=_t("hist.layer", lang)),
        resolve=resolve(x="independent"),
        title=_t("hist.title", lang, act=choice_label("activation", p.activation, lang)))
    stats = _named(result.tables["hist_stats"], p, lang)
    stats = stats[["scheme", "layer", "rms", "saturated", "outside", "nonfinite"]]
    stats = stats.assign(rms=[f"{v:.3g}" for v in stats["rms"]]).round(4)
    header = {c: _t(f"hist.col.{c}", lang) for c in stats.columns}
    return [
        Figure("initialization_histograms", chart, _t("hist.caption", lang)),
        Table("initialization_hist_stats", stats.rename(columns=header), _t("hist.stats_caption", lang)),
    ]


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted centres: midpoints (geometric if ``log``), half a step beyond the ends."""
    v = np.log(values) if log else np.asarray(values, dtype=float)
    step = np.diff(v) if v.size > 1 else np.array([0.2])
    mid = np.concatenate([[v[0] - step[0] / 2], (v[1:] + v[:-1]) / 2, [v[-1] + step[-1] / 2]])
    return np.exp(mid) if log else mid


def _cells(table: pd.DataFrame, z: str) -> pd.DataFrame:
    """Rect corners for each (sigma_w, depth) cell, the value, and its finite/zero/inf/nan state."""
    out = table[["sigma_w", "depth", z]].rename(columns={z: "z"}).copy()
    for col, lo, hi, log in (("sigma_w", "s0", "s1", True), ("depth", "d0", "d1", False)):
        centres = np.sort(out[col].unique())
        edges, i = _edges(centres, log), np.searchsorted(centres, out[col])
        out[lo], out[hi] = edges[i], edges[i + 1]
    z_values = out["z"].to_numpy(dtype=float)  # -inf: layer 1's gradient underflowed to 0; +inf: the last layer's did
    out["state"] = state_of(z_values, log=True)
    out["value"] = [f"{v:.3g}" for v in out["z"]]
    return out


def stable_edges(table: pd.DataFrame, z: str, decades: float) -> pd.DataFrame:
    """Where |z| crosses ``decades`` along sigma_w at each depth (log-linear interpolation): the stable band's edges."""
    rows = []
    for depth, g in table.sort_values("sigma_w").groupby("depth"):
        s, v = np.log(g["sigma_w"].to_numpy()), g[z].to_numpy(dtype=float)
        for edge, level in (("low", -decades), ("high", decades)):
            hits = np.flatnonzero(np.isfinite(v[:-1]) & np.isfinite(v[1:]) & ((v[:-1] - level) * (v[1:] - level) <= 0)
                                  & (v[:-1] != v[1:]))
            if hits.size:
                i = hits[0] if edge == "low" else hits[-1]
                t = (level - v[i]) / (v[i + 1] - v[i])
                rows.append({"depth": depth, "edge": edge, "sigma_w": float(np.exp(s[i] + t * (s[i + 1] - s[i])))})
    return pd.DataFrame(rows, columns=["depth", "edge", "sigma_w"])


def _heatmap(table: pd.DataFrame, p: Params, lang: str, critical: float) -> alt.LayerChart:
    """Measured log10 gradient ratio over sigma_w (log x) and depth, with stable-band edges and the critical line."""
    cells = _cells(table, "measured")
    finite = cells.loc[cells["state"] == "finite", "z"].abs()
    top = float(max(finite.max(), p.stable_decades * 2)) if len(finite) else 1.0
    x = alt.X("s0:Q", title=_t("sweep.x", lang), scale=alt.Scale(type="log", nice=False))
    y = alt.Y("d0:Q", title=_t("sweep.y", lang), scale=alt.Scale(nice=False, zero=False))
    color = alt.Color("z:Q", title=_t("sweep.z", lang),
                      scale=alt.Scale(scheme="redblue", domain=[top, -top], clamp=True))
    rect = alt.Chart(cells[cells["state"] == "finite"]).mark_rect().encode(
        x=x, x2=alt.X2("s1:Q"), y=y, y2=alt.Y2("d1:Q"), color=color,
        tooltip=tooltips(["sigma_w:Q", "depth:Q", "value:N"]))
    title = _t("sweep.chart_title", lang, act=choice_label("activation", p.activation, lang))
    return alt.layer(rect, *_bad_cells(cells, x, y, lang), *_overlays(table, p, lang, critical),
                     title=title, width=WIDTH, height=HEIGHT)


def _bad_cells(cells: pd.DataFrame, x: alt.X, y: alt.Y, lang: str) -> list[alt.Chart]:
    """Cells whose ratio is not finite: grey, with the shared marker of their state (▼ 0, ▲ inf, ✕ nan)."""
    bad = cells[cells["state"] != "finite"].copy()
    bad["symbol"] = bad["state"].map(SYMBOLS)
    bad["state"] = [tr(f"common.state.{s}", lang) for s in bad["state"]]
    tooltip = tooltips(["sigma_w:Q", "depth:Q", "value:N", "state:N"])
    grey = alt.Chart(bad).mark_rect(color="#bbbbbb").encode(
        x=x, x2=alt.X2("s1:Q"), y=y, y2=alt.Y2("d1:Q"), tooltip=tooltip)
    marks = alt.Chart(bad.assign(sm=np.sqrt(bad["s0"] * bad["s1"]), dm=(bad["d0"] + bad["d1"]) / 2)).mark_text(
        fontSize=11).encode(x=alt.X("sm:Q"), y=alt.Y("dm:Q"), text=alt.Text("symbol:N"), tooltip=tooltip)
    return [grey, marks]


def _overlays(table: pd.DataFrame, p: Params, lang: str, critical: float) -> list[alt.Chart]:
    """Stable-band edges (measured solid, theory dashed) and the mean-field critical sigma_w as a rule."""
    kinds = {"measured": _t("sweep.edge_measured", lang), "theory": _t("sweep.edge_theory", lang)}
    edges = pd.concat([stable_edges(table, z, p.stable_decades).assign(kind=kinds[z]) for z in kinds],
                      ignore_index=True)
    lines = alt.Chart(edges).mark_line(point=alt.OverlayMarkDef(color="black"), color="black").encode(
        x=alt.X("sigma_w:Q"), y=alt.Y("depth:Q"), detail=[alt.Detail("edge:N"), alt.Detail("kind:N")],
        strokeDash=alt.StrokeDash("kind:N", title=None,
                                  scale=alt.Scale(domain=list(kinds.values()), range=[[1, 0], [5, 4]])),
        tooltip=[*tooltips(["kind:N", "edge:N", "depth:Q"]), alt.Tooltip("sigma_w:Q", format=".3f")])
    layers = [lines]
    if math.isfinite(critical) and table["sigma_w"].min() <= critical <= table["sigma_w"].max():
        critical_label = _t("sweep.critical_label", lang, sigma=f"{critical:.3f}")
        rule = pd.DataFrame({"sigma_w": [critical], "label": [critical_label]})
        layers.append(alt.Chart(rule).mark_rule(color="#2ca02c", strokeWidth=2.5, strokeDash=[8, 3]).encode(
            x=alt.X("sigma_w:Q"), tooltip=[alt.Tooltip("label:N")]))
        layers += label(rule, {"align": "left", "dx": 4, "dy": -6, "color": "#2ca02c", "fontWeight": "bold"},
                        x=alt.X("sigma_w:Q"), y=alt.YValue(10), text=alt.Text("label:N"))
    return layers


def _chi_chart(result: Result, p: Params, lang: str) -> alt.LayerChart:
    """chi_1 at the mean-field fixed point against sigma_w (theory), log axes, with chi_1 = 1 marked."""
    chi = result.tables["sweep_chi"][["sigma_w", "chi_1"]].assign(curve=_t("sweep.chi_curve", lang))
    chart = log_profile(chi, "sigma_w", "chi_1", "curve", lang=lang, x_title=_t("sweep.x", lang),
                        y_title=_t("sweep.chi_y", lang), x_log=True)
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="grey", strokeDash=[3, 3]).encode(y=alt.Y("y:Q"))
    return alt.layer(chart, one, title=_t("sweep.chi_title", lang), width=WIDTH, height=HEIGHT)


def sweep_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The heatmap with its stable band and critical line, the chi_1 curve, and the findings."""
    f, table = result.findings, result.tables["sweep"]
    critical = f["critical_sigma"]
    crit_text = f"{critical:.3f}" if math.isfinite(critical) else _t("sweep.none", lang)
    return [
        _t("sweep.findings", lang, sigma=crit_text, frac=f"{f['stable_fraction']:.0%}", d=f"{p.stable_decades:g}"),
        Figure("initialization_sweep", _heatmap(table, p, lang, critical),
               _t("sweep.caption", lang, d=f"{p.stable_decades:g}", n=p.sweep_width, batch=p.sweep_batch)),
        Figure("initialization_chi", _chi_chart(result, p, lang), _t("sweep.chi_caption", lang)),
    ]


VIEWS = {"network": network_view, "sweep": sweep_view, "fans": fans_view}
