"""Figures of the recurrent page: ||dL_T/dh_t|| through time for each cell beside its theory, the
spectral-radius sweep, the LSTM and GRU gates over time, and the adding-problem training run."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from stabviz.chart_style import SHAPES, marked, names, point_layer, series_scales
from stabviz.charts import HEIGHT, LINE_KEY, WIDTH, changes, hline, label, log_profile, series, thin, tooltips
from stabviz.experiments import Result
from stabviz.experiments.recurrent import Params, sweep_init
from stabviz.experiments.recurrent_train import ADDING_BASELINE
from stabviz.figures import Block, Figure
from stabviz.i18n import choice_label, scoped
from stabviz.rnn import VANILLA
from stabviz.states import state_of

MAX_POINTS = 40  # autograd points drawn over the forget-gate line


_t = scoped("recurrent")


def _g(x: float) -> str:
    """A number for a sentence: 3 significant digits (nan and inf spelled out)."""
    return f"{x:.3g}"


def _series(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A 'series' column naming cell and state, e.g. 'LSTM c_t' (data values stay neutral)."""
    return df.assign(series=[f"{choice_label('cell', c, lang)} {s}_t"
                             for c, s in zip(df["cell"], df["state"], strict=True)])


def _thinned(df: pd.DataFrame, x: str, y: str, keys: list[str]) -> pd.DataFrame:
    """At most a few thousand rows per chart layer, every 0/inf/nan transition kept."""
    return thin(df, x, keys, keep=changes(df, keys, state_of(df[y])))


def through_time_view(result: Result, p: Params, lang: str) -> list[Block]:
    """||dL_T/dh_t|| (and the LSTM's ||dL_T/dc_t||) against t on one log axis, theory dashed, dtype rules."""
    measured = _series(result.tables["bptt"], lang)[["series", "t", "grad_norm"]]
    theory = result.tables["bptt_theory"].rename(columns={"value": "grad_norm"})
    theory = _series(theory, lang).assign(curve=[_t(f"through_time.curve_{c}", lang) for c in theory["curve"]])
    chart = log_profile(
        _thinned(measured, "t", "grad_norm", ["series"]), "t", "grad_norm", "series", lang=lang,
        x_title=_t("through_time.x", lang), y_title=_t("through_time.y", lang),
        title=_t("through_time.chart_title", lang, T=p.seq_len, dtype=p.dtype),
        theory=_thinned(theory[["series", "curve", "t", "grad_norm"]], "t", "grad_norm", ["series", "curve"]),
        dtype=p.dtype,
    )
    return [Figure("recurrent_bptt", chart, _t("through_time.caption", lang, T=p.seq_len)),
            _through_time_text(result, p, lang)]


def _through_time_text(result: Result, p: Params, lang: str) -> str:
    """One sentence per cell: how much of the gradient reaches t = 1, and the vanilla cells' factors."""
    f, lines = result.findings, []
    for cell in p.cells:
        line = _t("through_time.ratio", lang, cell=choice_label("cell", cell, lang), ratio=_g(f[f"grad_ratio_{cell}"]))
        if cell in VANILLA:
            line += _t("through_time.factors", lang, rho=_g(f[f"rho_{cell}"]), sigma=_g(f[f"sigma_max_{cell}"]),
                       rms=_g(f[f"rms_dphi_{cell}"]), gamma=_g(f[f"rho_{cell}"] * f[f"rms_dphi_{cell}"]))
            if "circular_rho" in f:
                line += _t("through_time.circular", lang, std=f"{p.std:g}", H=p.hidden, value=_g(f["circular_rho"]))
        lines.append(f"- {line}")
    return "\n".join(lines)


def _framed(title: str, *layers: alt.TopLevelMixin) -> alt.LayerChart:
    """Layers drawn as one chart, the title on the outside (where the page and the tests read it)."""
    return alt.layer(*layers, title=title, width=WIDTH, height=HEIGHT)


def _vertical_rule(x: float, field: str, label: str) -> alt.Chart:
    """A dashed vertical line at x with a tooltip."""
    df = pd.DataFrame({field: [x], "label": [label]})
    return alt.Chart(df).mark_rule(strokeDash=[4, 3], color="black").encode(
        x=alt.X(f"{field}:Q"), tooltip=[alt.Tooltip("label:N")])


def sweep_view(result: Result, p: Params, lang: str) -> list[Block]:
    """||dL/dh_0|| after T steps against the spectral radius r, estimate and bound dashed, r = 1 marked."""
    table = result.tables["sweep"].assign(cell=lambda d: [choice_label("cell", c, lang) for c in d["cell"]])
    theory = pd.concat([table[["cell", "radius", c]].rename(columns={c: "grad_norm"}).assign(
        curve=_t(f"through_time.curve_{c}", lang)) for c in ("estimate", "bound")], ignore_index=True)
    chart = log_profile(
        table[["cell", "radius", "grad_norm"]], "radius", "grad_norm", "cell", lang=lang, x_title=_t("sweep.x", lang),
        y_title=_t("sweep.y", lang), theory=theory, dtype=p.dtype,
    )
    chart = _framed(_t("sweep.chart_title", lang, T=p.seq_len), chart, _vertical_rule(1.0, "radius", "r = 1"))
    caption = _t("sweep.caption", lang, T=p.seq_len, init=_t(f"sweep.init_{sweep_init(p.init)}", lang))
    return [Figure("recurrent_sweep", chart, caption)]


def _gate_scales(gates: list, autograd: list) -> dict[str, alt.Scale]:
    """One legend for the gates (each a colour and a shape, none dashed: dashed is theory here) and the autograd
    points (a dark diamond, which no gate takes)."""
    states = dict.fromkeys(autograd, "diamond")
    scales = series_scales(gates, states=states)
    shapes = [s for s in SHAPES if s != "diamond"]
    scales["shape"] = alt.Scale(domain=scales["shape"].domain,
                                range=[shapes[i % len(shapes)] for i in range(len(gates))] + list(states.values()))
    return scales


def _gate_chart(table: pd.DataFrame, lang: str) -> list[alt.Chart]:
    """Mean gate value per step (lines with their gate's markers) with the 10-90 % band over batch and units;
    the LSTM's dc_t/dc_{t-1} by autograd as points."""
    data, path = table[table["gate"] != "dc_dc_prev"], table[table["gate"] == "dc_dc_prev"]
    data = data[data["t"].isin(np.unique(data["t"])[:: max(1, math.ceil(len(data) / 2000))])]
    path = path[path["t"].isin(np.unique(path["t"])[:: max(1, math.ceil(len(path) / MAX_POINTS))])]
    data, path = (d.assign(gate=[_t(f"gates.gate_{g}", lang) for g in d["gate"]]) for d in (data, path))
    data = data.assign(marked=marked(data, ["gate"]))
    scales = _gate_scales(names(data["gate"]), names(path["gate"]))
    x = alt.X("t:Q", title=_t("through_time.x", lang))
    y = alt.Y("mean:Q", title=_t("gates.y", lang), scale=alt.Scale(domain=[0, 1]))
    color, shape = series("gate", scale=scales["color"]), series("gate", alt.Shape, scale=scales["shape"])
    band = alt.Chart(data).mark_area(opacity=0.15).encode(
        x=x, y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q"), color=series("gate", legend=LINE_KEY, scale=scales["color"]))
    tips = [*tooltips(["gate:N", "t:Q"]), alt.Tooltip("mean:Q", format=".4f"), alt.Tooltip("lo:Q", format=".3f"),
            alt.Tooltip("hi:Q", format=".3f")]
    layers = [band, alt.Chart(data).mark_line().encode(x=x, y=y, color=color, tooltip=tips),
              point_layer(data, x=x, y=y, color=color, shape=shape, tooltip=tips)]
    if len(path):
        layers.append(alt.Chart(path).mark_point(size=50, filled=True, color="black", opacity=1).encode(
            x=x, y=y, shape=shape, tooltip=[*tooltips(["gate:N", "t:Q"]), alt.Tooltip("mean:Q", format=".4f")]))
    return layers


def gates_view(result: Result, p: Params, lang: str) -> list[Block]:
    """LSTM gates with dc_t/dc_{t-1} by autograd as points and sigmoid(b) as a rule; the GRU's 1 - z_t."""
    f, lstm = result.findings, result.tables["lstm_gates"]
    rule = hline(f["forget_sigmoid_b"], _t("gates.sigmoid_b", lang, b=f"{p.forget_bias:g}"))
    gru_table = result.tables["gru_gates"]
    rules = [hline(0.5, _t("gates.half", lang))]
    text = _t("gates.findings", lang, first=_g(f["forget_first"]), sig=_g(f["forget_sigmoid_b"]),
              b=f"{p.forget_bias:g}", error=_g(f["cell_path_error"]), mean=_g(f["forget_mean"]),
              update=_g(f["update_share_mean"]), T=p.seq_len, carried=_g(f["forget_mean"] ** p.seq_len),
              kept=_g((1 - f["update_share_mean"]) ** p.seq_len))
    if p.update_bias:  # the update gate no longer starts at 1/2: say and draw where theory puts it
        b = f"{p.update_bias:g}"
        rules.append(hline(1 - f["update_sigmoid_b"], _t("gates.update_rule", lang, b=b)))
        text += " " + _t("gates.update_shift", lang, b=b, first=_g(f["update_first"]), sig=_g(f["update_sigmoid_b"]))
    gru = _framed(_t("gates.gru_title", lang), *_gate_chart(gru_table[gru_table["gate"] != "z"], lang), *rules)
    lstm_chart = _framed(_t("gates.lstm_title", lang, b=f"{p.forget_bias:g}"), *_gate_chart(lstm, lang), rule)
    return [
        Figure("recurrent_lstm_gates", lstm_chart, _t("gates.lstm_caption", lang)),
        Figure("recurrent_gru_gates", gru, _t("gates.gru_caption", lang)),
        text,
    ]


def _baseline_rule(lang: str) -> alt.Chart:
    """The chance level 1/6: MSE of always predicting the mean sum, 1."""
    df = pd.DataFrame({"y": [ADDING_BASELINE], "label": [_t("train.baseline", lang)]})
    rule = alt.Chart(df).mark_rule(color="#b00020", strokeDash=[6, 4], strokeWidth=2).encode(
        y=alt.Y("y:Q"), tooltip=tooltips(["label:N", "y:Q"]))
    text = label(df, {"align": "right", "dy": -8, "color": "#b00020", "fontWeight": "bold"},
                 y=alt.Y("y:Q"), x=alt.XValue(WIDTH - 4), text=alt.Text("label:N"))
    return alt.layer(rule, *text)


def _cells(df: pd.DataFrame, lang: str, **extra: str) -> pd.DataFrame:
    """Display names of the cells (data values stay neutral), plus constant columns."""
    return df.assign(cell=[choice_label("cell", c, lang) for c in df["cell"]], **extra)


def _loss_chart(result: Result, p: Params, lang: str) -> alt.LayerChart:
    """Training-batch loss per step and held-out loss per cell (line style), the chance level as a rule."""
    losses = _cells(result.tables["train_loss"][["cell", "step", "loss"]], lang, data=_t("train.per_step", lang))
    evals = _cells(result.tables["train_eval"], lang, data=_t("train.held_out", lang))
    curves = pd.concat([_thinned(losses, "step", "loss", ["cell"]), evals], ignore_index=True)
    chart = log_profile(curves, "step", "loss", "cell", lang=lang, dash="data", x_title=_t("train.x", lang),
                        y_title=_t("train.loss_y", lang))
    return _framed(_t("train.loss_title", lang, T=p.train_len), chart, _baseline_rule(lang))


def _norm_chart(result: Result, p: Params, lang: str) -> alt.LayerChart:
    """Gradient norm before clipping per step, the clip norm as a rule when clipping is on."""
    norms = _cells(result.tables["train_loss"][["cell", "step", "grad_norm"]], lang)
    chart = log_profile(_thinned(norms, "step", "grad_norm", ["cell"]), "step", "grad_norm", "cell", lang=lang,
                        x_title=_t("train.x", lang), y_title=_t("train.norm_y", lang))
    clip = [hline(p.clip_norm, _t("train.clip_rule", lang, value=f"{p.clip_norm:g}"))] if p.clip else []
    return _framed(_t("train.norm_title", lang), chart, *clip)


def _train_text(result: Result, p: Params, lang: str) -> str:
    """Each cell's final held-out loss against the chance level; why a run turned to nan."""
    f = result.findings
    lines = [_t("train.final", lang, cell=choice_label("cell", c, lang), loss=_g(f[f"final_loss_{c}"]),
                ratio=_g(f[f"final_loss_{c}"] / ADDING_BASELINE)) for c in p.cells]
    text = "\n".join(f"- {line}" for line in lines)
    adam_half = p.dtype == "float16" and p.optimizer == "adam"  # Adam's epsilon rounds to 0 in float16
    if adam_half and any(math.isnan(f[f"final_loss_{c}"]) for c in p.cells):
        text += "\n\n" + _t("train.nan_note", lang, dtype=p.dtype)
    exploded = [choice_label("cell", c, lang) for c in p.cells if f[f"nonfinite_steps_{c}"]]
    if exploded and not adam_half:
        text += "\n\n" + _t("train.exploded_note", lang, cells=", ".join(exploded))
    return text


def train_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Loss curves beside the chance level, gradient norms beside the clip norm, and the final losses."""
    measured = _g(result.findings["baseline_measured"])
    norm_caption = "train.norm_caption_clip" if p.clip else "train.norm_caption_free"
    caption = _t(norm_caption, lang, value=f"{p.clip_norm:g}", optimizer=choice_label("optimizer", p.optimizer, lang))
    return [
        Figure("recurrent_train_loss", _loss_chart(result, p, lang),
               _t("train.loss_caption", lang, T=p.train_len, measured=measured)),
        Figure("recurrent_train_grad", _norm_chart(result, p, lang), caption),
        _train_text(result, p, lang),
    ]


VIEWS = {"through_time": through_time_view, "sweep": sweep_view, "gates": gates_view, "train": train_view}
