"""Figures of the normalization page: per-layer profiles, saturation, BatchNorm's batch dependence,
skip connections with their block Jacobians, and the batch-size training run."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.chart_style import STATE_INK, marked, names, point_layer, series_scales
from stabviz.charts import HEIGHT, WIDTH, X_SHAPE, hline, label, line_chart, log_profile, series, tooltips
from stabviz.experiments import Result
from stabviz.experiments.normalization import Params
from stabviz.experiments.normalization_noise import AXES
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import choice_label, scoped, tr

_t = scoped("normalization")


def _named(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Display names of norms, skip settings and activations (the data's values stay neutral)."""
    out = df.assign(norm=[choice_label("norm", n, lang) for n in df["norm"]]) if "norm" in df else df.copy()
    if "residual" in out:
        out["residual"] = [_t("net.residual" if r else "net.plain", lang) for r in out["residual"]]
    if "activation" in out:
        out["activation"] = [choice_label("activation", a, lang) for a in out["activation"]]
    return out


def _profile_theory(table: pd.DataFrame, column: str, value: float, lang: str) -> pd.DataFrame:
    """The N(0, 1)-input prediction as a dashed line per normalized net (post placement, no skips)."""
    normed = table[table["norm"] != "none"][["norm", "layer"]]
    return _named(normed.assign(**{column: value}), lang)


def layers_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Activation std, mean and weight-gradient norm per layer, one line per normalization."""
    table, f = result.tables["layers"], result.findings
    named = _named(table, lang)
    exact = p.placement == "post" and not p.residual
    theory = _profile_theory(table, "act_std", f["normal_std"], lang) if exact else None
    kw = {"lang": lang, "x_title": _t("layers.x", lang)}
    std = log_profile(named[["norm", "layer", "act_std"]], "layer", "act_std", "norm", y_title=_t("layers.std_y", lang),
                      title=_t("layers.std_title", lang), theory=theory, dtype=p.dtype, **kw)
    mean = line_chart(named[["norm", "layer", "act_mean"]], "layer", "act_mean", "norm", x_title=kw["x_title"],
                      y_title=_t("layers.mean_y", lang))
    if exact:
        mean = alt.layer(mean, hline(f["normal_mean"], _t("layers.theory_mean", lang)))
    mean = mean.properties(title=_t("layers.mean_title", lang), width=WIDTH, height=HEIGHT)
    grad = log_profile(named[["norm", "layer", "grad_norm"]], "layer", "grad_norm", "norm",
                       y_title=_t("layers.grad_y", lang), title=_t("layers.grad_title", lang), dtype=p.dtype, **kw)
    act = choice_label("activation", p.activation, lang)
    std_caption = _t("layers.std_caption" if exact else "layers.std_caption_no_theory", lang, act=act,
                     std=f"{f['normal_std']:.3g}")
    blocks: list[Block] = [
        Figure("normalization_act_std", std, std_caption),
        Figure("normalization_act_mean", mean, _t("layers.mean_caption", lang, mean=f"{f['normal_mean']:.3g}")),
        Figure("normalization_grad", grad, _t("layers.grad_caption", lang)),
        _ratios(table, lang),
    ]
    if f["skipped_norms"]:
        blocks.insert(0, _t("layers.skipped", lang))
    return blocks


def _ratios(table: pd.DataFrame, lang: str) -> str:
    """One line: ||dL/dW_1|| / ||dL/dW_L|| for each normalization."""
    first = table[table["layer"] == 1].set_index("norm")["grad_norm"]
    last = table[table["layer"] == table["layer"].max()].set_index("norm")["grad_norm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = [f"{choice_label('norm', n, lang)} {first[n] / last[n]:.3g}" for n in first.index]
    return _t("layers.ratios", lang, ratios=" · ".join(parts))


def _nan_marks(df: pd.DataFrame, lang: str) -> alt.Chart:
    """✕ at the top of the axis for layers whose share is nan (nan activations), so none vanish from the chart."""
    bad = df[df["saturated"].isna()].assign(saturated=1.0, state=tr("common.state.nan", lang))
    return alt.Chart(bad).mark_point(shape=X_SHAPE, size=90, filled=True).encode(
        x=alt.X("layer:Q"), y=alt.Y("saturated:Q"), color=series("norm"),
        tooltip=tooltips(["norm:N", "layer:Q", "state:N"]))


def saturation_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Saturated share per layer for sigmoid and tanh, the N(0, 1) prediction as a dashed line."""
    table, theory = result.tables["saturation"], result.tables["saturation_theory"].set_index("activation")
    blocks: list[Block] = []
    for act in ("sigmoid", "tanh"):
        name = choice_label("activation", act, lang)
        sub = _named(table[table["activation"] == act].drop(columns="activation"), lang)
        chart = line_chart(sub, "layer", "saturated", "norm", x_title=_t("layers.x", lang),
                           y_title=_t("saturation.y", lang, threshold=f"{p.threshold:g}"))
        share = float(theory.loc[act, "saturated"])
        chart = alt.layer(chart, hline(share, _t("saturation.theory", lang)), _nan_marks(sub, lang),
                          title=_t("saturation.chart_title", lang, act=name), width=WIDTH, height=HEIGHT)
        caption = _t("saturation.caption", lang, act=name, share=f"{share:.2%}", threshold=f"{p.threshold:g}")
        blocks.append(Figure(f"normalization_saturation_{act}", chart, caption))
    return blocks


def _zero_label(noise: pd.DataFrame) -> list[alt.Chart]:
    """The norms whose gap is exactly 0, named in the chart's lower right corner: their ▼ sit on top of each
    other at every batch size, so only the one drawn last would show."""
    zero = noise[noise["gap"] == 0]
    if zero["norm"].nunique() < 2:
        return []
    df = pd.DataFrame({"label": [f"▼ {' · '.join(names(zero['norm']))} = 0"]})
    mark = {"align": "right", "baseline": "bottom", "dy": -10, "color": STATE_INK, "fontSize": 12}
    return label(df, mark, x=alt.XValue(WIDTH - 4), y=alt.YValue(HEIGHT), text=alt.Text("label:N"))


def noise_view(result: Result, p: Params, lang: str) -> list[Block]:
    """BatchNorm's two batch-size gaps on log-log axes, its theory dashed; batch-free norms sit at 0 (▼).
    On the conv net also a table of the axes each norm standardizes."""
    noise = _named(result.tables["noise"].rename(columns={"value": "gap"}), lang)
    theory = result.tables["noise_theory"].rename(columns={"value": "gap"})
    theory = theory.assign(norm=choice_label("norm", "batch", lang))
    conv = p.arch == "conv"
    blocks: list[Block] = []
    for q in ("train_noise", "mismatch"):
        chart = log_profile(noise[noise["quantity"] == q].drop(columns="quantity"), "batch", "gap", "norm", lang=lang,
                            x_title=_t("noise.x", lang), y_title=_t(f"noise.{q}_y", lang),
                            title=_t(f"noise.{q}_title", lang),
                            theory=theory[theory["quantity"] == q].drop(columns="quantity"), x_log=True)
        for layer in _zero_label(noise[noise["quantity"] == q]):
            chart += layer
        caption = _t(f"noise.{q}_caption_conv", lang, hw=p.size**2) if conv else _t(f"noise.{q}_caption", lang)
        blocks.append(Figure(f"normalization_{q}", chart, caption))
    if conv:
        axes = _named(result.tables["noise_axes"], lang)
        header = {c: _t("noise.col.mean", lang, axes=AXES[c[5:]]) if c.startswith("mean_")
                  else _t(f"noise.col.{c}", lang) for c in axes.columns}
        blocks.append(Table("normalization_noise_axes", axes.rename(columns=header),
                            _t("noise.axes_caption", lang, channels=p.channels, size=p.size)))
    return blocks


def residual_view(result: Result, p: Params, lang: str) -> list[Block]:
    """||dL/dW_1|| against depth: plain dashed vs residual solid, one colour per normalization."""
    table = _named(result.tables["residual_depth"], lang)
    chart = log_profile(table, "depth", "grad_norm", "norm", lang=lang, dash="residual", x_log=True, dtype=p.dtype,
                        x_title=_t("residual.x", lang), y_title=_t("residual.y", lang),
                        title=_t("residual.chart_title", lang))
    return [Figure("normalization_residual_depth", chart, _t("residual.caption", lang))]


def jacobian_view(result: Result, p: Params, lang: str) -> list[Block]:
    """||J_l - I|| per block, and each block's gradient gain inside [sigma_min, sigma_max] of J_l."""
    table, f = result.tables["jacobian"], result.findings
    kw = {"lang": lang, "x_title": _t("layers.x", lang)}
    distances = _named(table[["norm", "residual", "layer", "dist_identity"]], lang)
    dist = log_profile(distances, "layer", "dist_identity", "norm", dash="residual",
                       y_title=_t("jacobian.dist_y", lang), title=_t("jacobian.dist_title", lang), **kw)
    below_max = table["gain"] <= table["sigma_max"] * (1 + 1e-9)
    above_min = table["gain"] >= table["sigma_min"] * (1 - 1e-9)
    inside = bool((below_max & above_min).all())
    dist_caption = _t("jacobian.dist_caption", lang, width=f["jacobian_width"], batch=f["jacobian_batch"])
    blocks: list[Block] = [Figure("normalization_jacobian_dist", dist, dist_caption)]
    for skip in (True, False):
        sub = table[table["residual"] == skip]
        bounds = pd.concat([sub[["norm", "layer"]].assign(gain=sub[c], bound=_t(f"jacobian.{c}", lang))
                            for c in ("sigma_max", "sigma_min")], ignore_index=True)
        kind = "residual" if skip else "plain"
        chart = log_profile(_named(sub[["norm", "layer", "gain"]], lang), "layer", "gain", "norm",
                            theory=_named(bounds, lang), y_title=_t("jacobian.gain_y", lang),
                            title=_t(f"jacobian.gain_title_{kind}", lang), **kw)
        blocks.append(Figure(f"normalization_jacobian_gain_{kind}", chart, _t("jacobian.gain_caption", lang)))
    blocks.append(_t("jacobian.inside" if inside else "jacobian.outside", lang))
    return blocks


def _accuracy_chart(long: pd.DataFrame, lang: str) -> list[alt.Chart]:
    """Accuracy against batch size on a log2 axis, a colour and a shape per norm (one legend); solid: running
    statistics, dashed: batch statistics (a legend of its own)."""
    x = alt.X("batch:Q", title=_t("training.x", lang), scale=alt.Scale(type="log", base=2))
    y = alt.Y("accuracy:Q", title=_t("training.acc_y", lang), scale=alt.Scale(domain=[0, 1]))
    scales, tips = series_scales(names(long["norm"])), tooltips(long.columns)
    color = series("norm", scale=scales["color"])
    data = long.assign(marked=marked(long, ["norm", "stats"]))
    line = alt.Chart(data).mark_line().encode(
        x=x, y=y, color=color, strokeDash=series("stats", alt.StrokeDash), tooltip=tips)
    return [line, point_layer(data, x=x, y=y, color=color, shape=series("norm", alt.Shape, scale=scales["shape"]),
                              tooltip=tips)]


def training_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Final test accuracy vs batch size (running vs batch statistics), chance as a line; loss curves."""
    table, chance = result.tables["training"], result.findings["chance_accuracy"]
    long = pd.concat([table[["norm", "batch"]].assign(accuracy=table[c], stats=_t(f"training.{c}", lang))
                      for c in ("test_acc", "test_acc_batch_stats")], ignore_index=True)
    acc = alt.layer(*_accuracy_chart(_named(long, lang), lang), hline(chance, _t("training.chance", lang)),
                    title=_t("training.acc_title", lang, epochs=p.epochs), width=WIDTH, height=HEIGHT)
    curves = result.tables["training_curves"]
    ends = curves[curves["batch"].isin([curves["batch"].min(), curves["batch"].max()])].astype({"batch": str})
    loss = log_profile(_named(ends, lang), "epoch", "loss", "norm", dash="batch", lang=lang,
                       x_title=_t("training.epoch", lang), y_title=_t("training.loss_y", lang),
                       title=_t("training.loss_title", lang))
    header = {c: _t(f"training.col.{c}", lang) for c in table.columns}
    return [
        Figure("normalization_training_accuracy", acc, _t("training.acc_caption", lang, chance=f"{chance:.0%}")),
        Figure("normalization_training_loss", loss, _t("training.loss_caption", lang)),
        Table("normalization_training", _named(table, lang).round(4).rename(columns=header),
              _t("training.table_caption", lang)),
    ]


VIEWS = {
    "layers": layers_view, "saturation": saturation_view, "noise": noise_view,
    "residual": residual_view, "jacobian": jacobian_view, "training": training_view,
}
