"""Figures of the loss-pairing page: MSE and BCE maps over (w, b) with the descent paths, loss and
|gradient| per step (theory dashed), dL/dz curves, and the naive-vs-stable numerics per dtype."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.charts import line_chart, log_profile, thin
from stabviz.experiments import Result
from stabviz.experiments.loss_pairing import Params, neuron_starts, parse_points
from stabviz.figures import Block, Figure, Table
from stabviz.figures.surface_plots import names as surface_names
from stabviz.figures.surface_plots import surface_map
from stabviz.i18n import scoped
from stabviz.logscale import symlog_axis

LOG_STEPS = 160  # steps drawn on a log step axis (evenly spaced in log(step + 1)); more only cost the browser
Y_FLOOR = 1e-12  # lowest value shown on the numerics charts' log axes


_t = scoped("loss_pairing")


def _log_steps(df: pd.DataFrame, points: int = LOG_STEPS) -> pd.DataFrame:
    """Rows at about ``points`` steps evenly spaced on a log axis of step + 1, the last step kept."""
    last = int(df["step"].max())
    keep = np.unique(np.round(np.geomspace(1, last + 1, points)).astype(int) - 1)
    return df[df["step"].isin(np.r_[keep, last])]


def _labelled(df: pd.DataFrame, lang: str, points: tuple[tuple[float, float], ...] = ()) -> pd.DataFrame:
    """Display names of losses and starts, a listed start with its (w, b) (the data's values stay neutral)."""
    out = df.assign(loss=[_t(f"names.{v}", lang) for v in df["loss"]])
    if "start" not in out:
        return out
    if points:
        return out.assign(start=[_t("start_at", lang, n=s + 1, w=f"{points[s][0]:g}", b=f"{points[s][1]:g}")
                                 for s in out["start"]])
    return out.assign(start=[_t("start_n", lang, n=s + 1) for s in out["start"]])


def _fit(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.0f}"


def _summary_table(summary: pd.DataFrame, lang: str, points: tuple[tuple[float, float], ...] = ()) -> pd.DataFrame:
    table = _labelled(summary, lang, points)
    return table.rename(columns={c: _t(f"col.{c}", lang) for c in table.columns})


def _status(paths: pd.DataFrame, span: float) -> np.ndarray:
    """ok / outside / nonfinite for each point of a path, as the map's markers expect."""
    x, y = paths["x"].to_numpy(), paths["y"].to_numpy()
    finite = np.isfinite(x) & np.isfinite(y)
    inside = finite & (np.abs(x) <= span) & (np.abs(y) <= span)
    return np.where(~finite, "nonfinite", np.where(inside, "ok", "outside"))


def _map(result: Result, p: Params, loss: str, lang: str) -> alt.LayerChart:
    """The loss over (w, b) as banded contours, with every start's descent path on it."""
    box = (-p.span, p.span, -p.span, p.span)
    surface = result.tables["neuron_surface"]
    grid = surface[surface["loss"] == loss].drop(columns="loss").rename(columns={"w": "x", "b": "y", "value": "loss"})
    path = _labelled(result.tables["neuron_path"].query("loss == @loss"), lang, parse_points(p.points))
    path = path.rename(columns={"w": "x", "b": "y", "loss": "name", "loss_value": "loss"})
    path = path.assign(status=_status(path, p.span))[["start", "step", "x", "y", "loss", "status"]]
    names = surface_names(lang) | {"loss": _t(f"names.{loss}", lang)}  # the markers named as on every map
    title = _t("neuron.map_title", lang, loss=_t(f"names.{loss}", lang), y=p.target, x=f"{p.x:g}")
    return surface_map(grid, path, pd.DataFrame(columns=["x", "y", "kind"]), keys=["start"], color="start", box=box,
                       names=names, title=title, axes=("w", "b"))


def _per_step(path: pd.DataFrame, starts: int, lang: str, prefix: str,
              points: tuple[tuple[float, float], ...] = ()) -> list[Figure]:
    """Loss and |gradient| per step on log-log axes; the gradient's closed form dashed beside autograd."""
    data = _labelled(_log_steps(path), lang, points).assign(step1=lambda d: d["step"] + 1)
    dash = "start" if starts > 1 else None
    kw = {"lang": lang, "x_log": True, "dash": dash, "x_title": _t("step1", lang)}
    loss = log_profile(data[["step1", "loss", "start", "loss_value"]], "step1", "loss_value", "loss",
                       y_title=_t("loss_axis", lang), title=_t(f"{prefix}.loss_title", lang), **kw)
    theory = data[["step1", "loss", "start", "grad_norm_theory"]].rename(columns={"grad_norm_theory": "grad_norm"})
    grad = log_profile(data[["step1", "loss", "start", "grad_norm"]], "step1", "grad_norm", "loss", theory=theory,
                       y_title=_t("grad_axis", lang), title=_t(f"{prefix}.grad_title", lang), **kw)
    steps = alt.Scale(type="log", nice=False)
    return [Figure(f"loss_pairing_{prefix}_loss", _x_scale(loss, steps), _t(f"{prefix}.loss_caption", lang)),
            Figure(f"loss_pairing_{prefix}_grad", _x_scale(grad, steps), _t(f"{prefix}.grad_caption", lang))]


def _fit_text(result: Result, prefix: str, losses: tuple[str, str], starts: int, lang: str) -> str:
    f = result.findings
    values = {}
    for i, loss in enumerate(losses):
        values |= {f"n{i}": f[f"{prefix}_{loss}_fitted"], f"slow{i}": _fit(f[f"{prefix}_{loss}_slowest_fit"]),
                   f"g{i}": f"{f[f'{prefix}_{loss}_grad_worst_start']:.2g}"}
    return _t(f"{prefix}.findings", lang, starts=starts, **values)


def neuron_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Both maps with the paths, loss and |grad| per step, and the per-start summary."""
    path, points, starts = result.tables["neuron_path"], parse_points(p.points), neuron_starts(p)
    maps = [Figure(f"loss_pairing_map_{loss}", _map(result, p, loss, lang), _t(f"neuron.map_caption_{loss}", lang))
            for loss in ("mse", "bce")]
    return [
        _fit_text(result, "neuron", ("mse", "bce"), starts, lang), *maps,
        *_per_step(path, starts, lang, "neuron", points),
        Table("loss_pairing_neuron_summary", _summary_table(result.tables["neuron_summary"], lang, points),
              _t("summary_caption", lang)),
    ]


def neuron_curves_view(result: Result, p: Params, lang: str) -> list[Block]:
    """dL/dz over z: signed on linear axes, and its size on a log axis; autograd solid, theory dashed."""
    curves = _labelled(result.tables["neuron_dz"], lang)
    measured = curves[curves["source"] == "autograd"].drop(columns="source").rename(columns={"value": "dL_dz"})
    theory = curves[curves["source"] == "theory"].drop(columns="source").rename(columns={"value": "dL_dz"})
    kw = {"x_title": "z = w x + b", "y_title": "dL/dz"}
    signed = line_chart(measured, "z", "dL_dz", "loss", theory=theory, lang=lang,
                        title=_t("curves.signed_title", lang, y=p.target), **kw)
    size = log_profile(measured, "z", "dL_dz", "loss", theory=theory, lang=lang, x_title=kw["x_title"],
                       y_title="|dL/dz|", title=_t("curves.log_title", lang, y=p.target))
    peak = result.findings["neuron_mse_dz_max_abs"]
    return [Figure("loss_pairing_dz", signed, _t("curves.signed_caption", lang, peak=f"{peak:.4f}")),
            Figure("loss_pairing_dz_log", size, _t("curves.log_caption", lang))]


def softmax_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Loss and |grad| per step for softmax + MSE and softmax + CE, and the per-start summary."""
    path = result.tables["softmax_path"]
    return [
        _fit_text(result, "softmax", ("mse", "ce"), p.starts, lang), *_per_step(path, p.starts, lang, "softmax"),
        Table("loss_pairing_softmax_summary", _summary_table(result.tables["softmax_summary"], lang),
              _t("summary_caption", lang)),
    ]


def softmax_curves_view(result: Result, p: Params, lang: str) -> list[Block]:
    """|dL/dz| against the wrong class's margin: autograd solid, theory dashed."""
    curves = _labelled(result.tables["softmax_dz"], lang).rename(columns={"value": "grad_norm"})
    measured = curves[curves["source"] == "autograd"].drop(columns="source")
    theory = curves[curves["source"] == "theory"].drop(columns="source")
    chart = log_profile(measured, "margin", "grad_norm", "loss", theory=theory, lang=lang, x_title=_t("margin", lang),
                        y_title="‖dL/dz‖", title=_t("softmax_curves.chart_title", lang, k=p.classes))
    return [Figure("loss_pairing_softmax_dz", chart, _t("softmax_curves.caption", lang))]


def _x_scale(chart: alt.LayerChart, scale: alt.Scale, axis: alt.Axis | None = None) -> alt.LayerChart:
    """Give every layer's x this scale and axis (symlog for z of both signs; log without rounding out for steps)."""
    for layer in chart.layer:
        if isinstance(layer, alt.Chart) and layer.encoding.x is not alt.Undefined:
            layer.encoding.x["scale"] = scale
            if axis is not None:
                layer.encoding.x["axis"] = axis
    return chart


def _floor_y(chart: alt.LayerChart) -> alt.LayerChart:
    """Start the log y axis at Y_FLOOR at the lowest; smaller values (e^-700 and the like) sit on the floor."""
    lo, hi = chart.encoding.y["scale"]["domain"]
    chart.encoding.y["scale"] = alt.Scale(type="log", domain=[max(lo, Y_FLOOR), hi], clamp=True, nice=False)
    return chart


def _numerics_chart(table: pd.DataFrame, family: str, quantity: str, lang: str) -> alt.TopLevelMixin:
    """One family's loss or |dL/dz| over z: each form (colour) in each dtype (dash), exact values dashed."""
    part = thin(table.query("family == @family and quantity == @quantity"), "z")
    part = part.assign(form=[_t(f"forms.{family}.{f}", lang) for f in part["form"]])
    measured = part[["z", "form", "dtype", "computed"]]
    first = part[(part["dtype"] == part["dtype"].iloc[0]) & (part["form"] == part["form"].iloc[0])]
    theory = first[["z", "exact"]].rename(columns={"exact": "computed"}).assign(form=_t("forms.exact", lang))
    y_title = _t("loss_axis", lang) if quantity == "loss" else "|dL/dz|"
    chart = log_profile(measured, "z", "computed", "form", dash="dtype", theory=theory, lang=lang, x_title="z",
                        y_title=y_title, title=_t(f"numerics.{family}_{quantity}_title", lang))
    return _floor_y(_x_scale(chart, alt.Scale(type="symlog"), symlog_axis(part["z"].min(), part["z"].max())))


def numerics_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Four charts (binary / softmax x loss / gradient), the break table, and the full table."""
    table = result.tables["numerics"].rename(columns={"value": "computed"})
    f = result.findings
    text = _t("numerics.findings", lang, naive=f"{f['naive_sigmoid_breaks_float32']:g}",
              softmax=f"{f['naive_softmax_breaks_float32']:.3g}", bce=f"{f['bce_loss_max']:g}",
              stable=_t("yes" if f["stable_forms_all_finite"] else "no", lang))
    figures = [Figure(f"loss_pairing_numerics_{fam}_{q}", _numerics_chart(table, fam, q, lang),
                      _t(f"numerics.{fam}_caption", lang)) for fam in ("binary", "softmax") for q in ("loss", "grad")]
    summary = result.tables["numerics_summary"]
    header = {c: _t(f"numerics.col.{c}", lang) for c in summary.columns}
    return [
        text, *figures,
        Table("loss_pairing_numerics_summary", summary.rename(columns=header), _t("numerics.summary_caption", lang)),
        Table("loss_pairing_numerics", result.tables["numerics"], _t("numerics.table_caption", lang)),
    ]


VIEWS = {
    "neuron": neuron_view, "neuron_curves": neuron_curves_view, "softmax": softmax_view,
    "softmax_curves": softmax_curves_view, "numerics": numerics_view,
}
