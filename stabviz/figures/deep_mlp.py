"""Figures of the deep-MLP page: gradient flow with the dtype's range, random-matrix products,
b^k in four dtypes, and the training run (per-layer gradient heatmap, loss, norms, weight change)."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from stabviz.charts import changes, heatmap, hline, log_profile, thin
from stabviz.experiments import Result
from stabviz.experiments.deep_mlp import Params
from stabviz.figures import Block, Figure, Table
from stabviz.figures.deep_mlp_sweep import sweep_view
from stabviz.i18n import choice_label, scoped, tr
from stabviz.runtime import dtype_range

SCALAR_DTYPES = ("float16", "bfloat16", "float32")  # float64 never gives up at k <= 1000 for these bases


_t = scoped("deep_mlp")


def _g(x: float) -> str:
    """A number for a sentence: 4 significant digits, nan as a dash."""
    return "—" if math.isnan(x) else f"{x:.4g}"


def flow_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Weight-gradient norm (or mean) per layer on a log axis, mean-field theory dashed, the dtype's limits as rules."""
    if p.statistic != "norm":
        return (_mean_view if p.statistic == "mean" else _signal_view)(result, p, lang)
    flow = result.tables["gradient_flow"]
    label = _t("gradient_flow.series", lang, dtype=p.dtype)
    measured = flow[["layer", "weight_grad_norm"]].assign(series=label)
    theory = result.tables["gradient_flow_theory"].rename(columns={"value": "weight_grad_norm"})
    theory = theory.drop(columns="curve").assign(series=_t("gradient_flow.theory", lang))
    chart = log_profile(
        measured, "layer", "weight_grad_norm", "series", lang=lang, x_title=_t("gradient_flow.x", lang),
        y_title=_t("gradient_flow.y", lang), title=_t("gradient_flow.chart_title", lang, depth=p.depth, width=p.width),
        theory=theory, dtype=p.dtype,
    )
    columns = ["layer", "weight_grad_norm", "state", "zero_frac", "nonfinite_frac", "act_var", "grad_var"]
    return [
        Figure("deep_mlp_gradient_flow", chart, _flow_caption(p, lang)),
        _flow_text(result, lang),
        *_setup(p, lang),
        Table("deep_mlp_gradient_flow", _flow_table(flow, columns, lang), _t("gradient_flow.table_caption", lang)),
    ]


def _flow_caption(p: Params, lang: str) -> str:
    """The chart's caption: what is solid, what is dashed, the dtype's limits, the markers."""
    sub, _, big = dtype_range(p.dtype)
    return _t("gradient_flow.caption", lang, dtype=p.dtype, big=f"{big:.3g}", sub=f"{sub:.3g}", batch=p.batch)


def _flow_text(result: Result, lang: str) -> str:
    f = result.findings
    return _t("gradient_flow.findings", lang, factor=_g(f["flow_factor_per_layer"]),
              theory=_g(f["flow_factor_per_layer_theory"]), ratio=_g(f["flow_ratio_first_last"]),
              zero=f["flow_layers_zero"], inf=f["flow_layers_inf"], nan=f["flow_layers_nan"])


def _setup(p: Params, lang: str) -> list[str]:
    """A line naming the inputs and the loss when they are not the defaults (N(0, 1) and the sum of the outputs)."""
    if (p.inputs, p.loss) == ("gaussian", "sum"):
        return []
    return [_t("gradient_flow.setup", lang, inputs=choice_label("flow_inputs", p.inputs, lang),
               loss=choice_label("flow_loss", p.loss, lang))]


def _flow_table(flow: pd.DataFrame, columns: list[str], lang: str) -> pd.DataFrame:
    """The per-layer table with translated states and headers."""
    table = flow[columns].assign(state=[tr(f"common.state.{s}", lang) for s in flow["state"]])
    return table.rename(columns={c: _t(f"gradient_flow.col.{c}", lang) for c in columns})


def _mean_view(result: Result, p: Params, lang: str) -> list[Block]:
    """|mean of dL/dW_l| per layer with its sign written above each point, beside the entries' rms and its theory."""
    flow = result.tables["gradient_flow"]
    mean = flow[["layer"]].assign(grad=flow["weight_grad_mean"], series=_t("gradient_flow.series_mean", lang))
    rms = flow[["layer"]].assign(grad=flow["weight_grad_norm"] / p.width,
                                 series=_t("gradient_flow.series_rms", lang, dtype=p.dtype))
    theory = result.tables["gradient_flow_theory"]
    theory = theory[["layer"]].assign(grad=theory["value"] / p.width, series=_t("gradient_flow.theory_rms", lang))
    chart = log_profile(
        pd.concat([mean, rms], ignore_index=True), "layer", "grad", "series", lang=lang,
        x_title=_t("gradient_flow.x", lang), y_title=_t("gradient_flow.y_mean", lang), theory=theory, dtype=p.dtype,
        title=_t("gradient_flow.mean_title", lang, depth=p.depth, width=p.width),
    )
    chart.layer.append(_signs(mean))
    f = result.findings
    text = _t("gradient_flow.mean_findings", lang, first=_g(f["flow_mean_first"]), last=_g(f["flow_mean_last"]),
              ratio=_g(f["flow_mean_ratio_first_last"]), factor=_g(f["flow_mean_factor_per_layer"]),
              pos=f["flow_mean_positive_layers"], neg=f["flow_mean_negative_layers"])
    columns = ["layer", "weight_grad_mean", "weight_grad_norm", "state", "act_deriv_mean", "act_deriv_max",
               "zero_frac", "nonfinite_frac"]
    return [
        Figure("deep_mlp_gradient_mean", chart, _t("gradient_flow.mean_caption", lang, width=p.width)),
        text, _flow_text(result, lang), _derivative_text(result, lang), *_setup(p, lang),
        Table("deep_mlp_gradient_flow", _flow_table(flow, columns, lang), _t("gradient_flow.table_caption", lang)),
    ]


def _derivative_text(result: Result, lang: str) -> str:
    """f'(z) over every unit: the diagonal of each layer's Jacobian (ReLU: 0 or 1; sigmoid: at most 1/4)."""
    f = result.findings
    return _t("gradient_flow.derivatives", lang, dmax=_g(f["flow_act_derivative_max"]),
              dmean=_g(f["flow_act_derivative_mean"]), binary=_g(f["flow_act_derivative_binary_frac"]))


def _signal_view(result: Result, p: Params, lang: str) -> list[Block]:
    """rms of dL/dz_l per layer (the product of the Jacobians above layer l) on a log axis, mean-field dashed."""
    flow = result.tables["gradient_flow"]
    measured = flow[["layer"]].assign(grad=np.sqrt(flow["grad_ms"]),
                                      series=_t("gradient_flow.series_signal", lang, dtype=p.dtype))
    theory = result.tables["gradient_flow_signal_theory"]
    theory = theory[["layer"]].assign(grad=theory["value"], series=_t("gradient_flow.theory", lang))
    chart = log_profile(measured, "layer", "grad", "series", lang=lang, x_title=_t("gradient_flow.x", lang),
                        y_title=_t("gradient_flow.y_signal", lang), theory=theory, dtype=p.dtype,
                        title=_t("gradient_flow.signal_title", lang, depth=p.depth, width=p.width))
    f = result.findings
    text = _t("gradient_flow.signal_findings", lang, factor=_g(f["flow_signal_factor_per_layer"]),
              theory=_g(f["flow_signal_factor_per_layer_theory"]), ratio=_g(f["flow_signal_ratio_first_last"]))
    columns = ["layer", "grad_var", "act_deriv_mean", "act_deriv_max", "weight_grad_norm", "state"]
    return [
        Figure("deep_mlp_gradient_signal", chart, _t("gradient_flow.signal_caption", lang)),
        text, _derivative_text(result, lang), *_setup(p, lang),
        Table("deep_mlp_gradient_flow", _flow_table(flow, columns, lang), _t("gradient_flow.table_caption", lang)),
    ]


def _signs(mean: pd.DataFrame) -> alt.Chart:
    """"+" or "−" above each finite, nonzero mean (the y channel comes from the layered chart: |mean| on its axis)."""
    finite = mean[np.isfinite(mean["grad"]) & (mean["grad"] != 0)]
    signs = finite.assign(y=finite["grad"].abs(), sign=np.where(finite["grad"] > 0, "+", "−"))
    return alt.Chart(signs[["layer", "y", "sign"]]).mark_text(dy=-11, fontSize=13, fontWeight="bold").encode(
        x=alt.X("layer:Q"), text=alt.Text("sign:N"))


def products_view(result: Result, p: Params, lang: str) -> list[Block]:
    """||G_k...G_1|| for each run on a log axis, the Lyapunov growth dashed, the dtype's limits as rules."""
    table = result.tables["products"]
    runs = table.assign(series=[_t("products.run", lang, n=r + 1) for r in table["run"]])
    runs = thin(runs[["k", "norm", "series"]], "k", ["series"], keep=changes(runs, ["series"], runs["state"]))
    f = result.findings
    theory = result.tables["products_theory"].rename(columns={"value": "norm"}).drop(columns="curve")
    theory = theory.assign(series=_t("products.theory", lang, rate=f"{f['lyapunov_theory']:.4f}"))
    chart = log_profile(
        runs, "k", "norm", "series", lang=lang, x_title=_t("products.x", lang), y_title=_t("products.y", lang),
        title=_t("products.chart_title", lang, n=p.mat_size, k=p.mat_count), theory=theory, dtype=p.dtype,
    )
    text = _t("products.findings", lang, theory=_g(f["lyapunov_theory"]), measured=_g(f["lyapunov_measured"]),
              growth=_g(math.exp(f["lyapunov_theory"])))
    return [Figure("deep_mlp_products", chart, _t("products.caption", lang, n=p.mat_size, runs=p.mat_runs)), text]


def scalar_view(result: Result, p: Params, lang: str) -> list[Block]:
    """grow^k and shrink^k computed in each dtype (torch.pow), the exact values dashed, inf and 0 as markers."""
    names = {"grow": f"{p.grow:g}^k", "shrink": f"{p.shrink:g}^k"}
    table = result.tables["scalar"]
    power = table[(table["method"] == "power") & table["dtype"].isin(SCALAR_DTYPES)]
    power = power.assign(factor=[names[w] for w in power["factor"]]).rename(columns={"value": "power"})
    # not "value": log_profile adds a text column by that name
    power = power[["k", "power", "dtype", "factor", "state"]]
    power = thin(power, "k", ["dtype", "factor"], keep=changes(power, ["dtype", "factor"], power["state"]))
    power = power.drop(columns="state")
    exact = result.tables["scalar_exact"]
    theory = pd.DataFrame({"k": exact["k"], "power": np.power(10.0, exact["log10_value"]),
                           "dtype": _t("scalar.exact", lang), "factor": [names[w] for w in exact["factor"]]})
    chart = log_profile(
        power, "k", "power", "dtype", lang=lang, x_title="k", y_title=_t("scalar.y", lang), dash="factor",
        title=_t("scalar.chart_title", lang, grow=f"{p.grow:g}", shrink=f"{p.shrink:g}", k=p.powers),
        theory=thin(theory, "k", ["factor"]), dtype=SCALAR_DTYPES,
    )
    limits = result.tables["scalar_limits"].assign(factor=lambda d: [names[w] for w in d["factor"]])
    limits = limits.drop(columns="base")
    limits = limits.rename(columns={c: _t(f"scalar.col.{c}", lang) for c in limits.columns})
    return [
        Figure("deep_mlp_scalar", chart, _t("scalar.caption", lang)),
        Table("deep_mlp_scalar_limits", limits, _t("scalar.limits_caption", lang)),
        _repeated_note(table, p, lang),
    ]


def _repeated_note(table: pd.DataFrame, p: Params, lang: str) -> str:
    """What k successive roundings give for shrink^k in float16, beside torch.pow."""
    fp16 = table[(table["factor"] == "shrink") & (table["dtype"] == "float16") & (table["k"] == p.powers)]
    value = fp16.set_index("method")["value"]
    return _t("scalar.repeated", lang, base=f"{p.shrink:g}", k=p.powers, power=_g(value["power"]),
              repeated=_g(value["repeated"]), tiny=f"{dtype_range('float16')[0]:.3g}")


def training_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Heatmap of log10 gradient norm (layer x step), loss, total norm and how far each layer moved."""
    layers = result.tables["train_layers"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = layers.assign(log10_norm=np.log10(layers["grad_norm"].to_numpy()))
    heat = heatmap(cells[["step", "layer", "log10_norm"]], "step", "layer", "log10_norm",
                   x_title=_t("training.step", lang), y_title=_t("training.layer", lang), z_title="log10 ‖∂L/∂W‖",
                   title=_t("training.heat_title", lang), scheme="viridis", mid=None, lang=lang)
    heat.layer[0].encoding.x.axis = alt.Axis(labelOverlap="parity", labelAngle=0)  # hundreds of steps: skip labels
    return [
        Figure("deep_mlp_train_heatmap", heat, _t("training.heat_caption", lang, layers=p.train_depth + 1)),
        Figure("deep_mlp_train_loss", _loss_chart(result, p, lang), _t("training.loss_caption", lang)),
        Figure("deep_mlp_train_norm", _norm_chart(result, p, lang), _t("training.norm_caption", lang)),
        Figure("deep_mlp_train_change", _change_chart(layers, p, lang), _t("training.change_caption", lang)),
        _t("training.findings", lang, **{k: _g(float(v)) for k, v in result.findings.items()}),
    ]


def _loss_chart(result: Result, p: Params, lang: str) -> alt.LayerChart:
    loss = result.tables["train_loss"][["step", "loss"]].assign(series=_t("training.loss", lang))
    return log_profile(loss, "step", "loss", "series", lang=lang, x_title=_t("training.step", lang),
                       y_title=_t("training.loss", lang), title=_t("training.loss_title", lang, lr=f"{p.lr:g}"))


def _norm_chart(result: Result, p: Params, lang: str) -> alt.LayerChart:
    """Total gradient norm before clipping and the norm applied, with the max-norm rule when clipping."""
    loss = result.tables["train_loss"]
    cols = ("total_norm", "applied_norm") if p.clip else ("total_norm",)
    norms = pd.concat([loss[["step", c]].rename(columns={c: "norm"}).assign(series=_t(f"training.{c}", lang))
                       for c in cols], ignore_index=True)
    chart = log_profile(norms, "step", "norm", "series", lang=lang, x_title=_t("training.step", lang),
                        y_title=_t("training.norm_y", lang), title=_t("training.norm_title", lang))
    if not p.clip:
        return chart
    rule = hline(p.max_norm, _t("training.max_norm", lang, value=f"{p.max_norm:g}"))
    return alt.layer(chart, rule, title=chart.title)


def _change_chart(layers: pd.DataFrame, p: Params, lang: str) -> alt.LayerChart:
    """||W_l - W_l(0)|| / ||W_l(0)|| after the last step, per layer: exactly 0 when updates round away."""
    last = layers[layers["step"] == layers["step"].max()][["layer", "weight_change"]]
    last = last.assign(series=_t("training.change", lang))
    return log_profile(last, "layer", "weight_change", "series", lang=lang, x_title=_t("training.layer", lang),
                       y_title=_t("training.change_y", lang), title=_t("training.change_title", lang, steps=p.steps))


VIEWS = {"gradient_flow": flow_view, "products": products_view, "scalar": scalar_view, "training": training_view,
         "lr_sweep": sweep_view}
