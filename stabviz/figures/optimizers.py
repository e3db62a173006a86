"""Figures of the optimizers page: trajectories on the contour map, loss and step size per step,
the learning-rate sweep with the divergence bounds of GD, heavy ball and Nesterov, and the feature-scaling pair."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.charts import HEIGHT, WIDTH, label, log_profile, resolve, tooltips
from stabviz.experiments import Result
from stabviz.experiments.optimizers import Params
from stabviz.experiments.optimizers_run import OPTIMIZERS
from stabviz.figures import Block, Figure, Table
from stabviz.figures.surface_plots import is_signed, names, signed_chart, square, surface_map, thin_paths
from stabviz.i18n import choice_label, scoped
from stabviz.runtime import dtype_range
from stabviz.surfaces import box_of, parse_points

LINE_STARTS = 4  # starts drawn in the per-step charts (the map shows them all)
RULE = "#b00020"  # the stability bounds' rules and labels
LABEL_ROW = 16  # pixels between the bounds' stacked labels


_t = scoped("optimizers")


def _labelled(paths: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Display names for optimizers and starts (the data's values stay neutral)."""
    return paths.assign(optimizer=[choice_label("optimizer", o, lang) for o in paths["optimizer"]],
                        start=[_t("start_n", lang, n=s + 1) for s in paths["start"]])


def _loss_chart(paths: pd.DataFrame, signed: bool, dash: str | None, lang: str) -> alt.TopLevelMixin:
    """Loss per step: a log axis (0/inf/nan as markers), or symlog where the surface goes negative."""
    kw = {"x_title": _t("trajectories.step", lang), "y_title": _t("trajectories.loss", lang),
          "title": _t("trajectories.loss_title", lang), "dash": dash}
    if signed:
        return signed_chart(paths, "step", "loss", "optimizer", nonfinite=names(lang)["nonfinite"], **kw)
    return log_profile(paths, "step", "loss", "optimizer", lang=lang, **kw)


def trajectories_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The map with every trajectory, loss vs step, step size vs step, and where each run ended."""
    raw = result.tables["paths"]
    paths = _labelled(raw, lang)
    grid, (box, fitted) = result.tables["contour"], box_of(result.tables["box"])
    title = _t("trajectories.map_title", lang, surface=choice_label("surface", p.surface, lang))
    chart = surface_map(grid, paths, result.tables["landmarks"], keys=["optimizer", "start"], color="optimizer",
                        box=box, names=names(lang), title=title, **(square() if fitted else {}))
    shown = raw["start"].unique()[:max(LINE_STARTS, len(parse_points(p.points, OPTIMIZERS)))]
    lines = thin_paths(paths[raw["start"].isin(shown)], ["optimizer", "start"])
    lines = lines[["optimizer", "start", "step", "loss", "step_size"]]  # log_profile names its value column y
    dash = "start" if raw["start"].nunique() > 1 else None
    steps = log_profile(lines[lines["step"] >= 1], "step", "step_size", "optimizer", lang=lang, dash=dash,
                        x_title=_t("trajectories.step", lang), y_title=_t("trajectories.step_size", lang),
                        title=_t("trajectories.step_title", lang))
    return [
        Figure("optimizers_map", chart, _t("trajectories.map_caption", lang)),
        Figure("optimizers_loss", _loss_chart(lines, is_signed(grid), dash, lang),
               _t("trajectories.loss_caption", lang)),
        Figure("optimizers_step_size", steps, _t("trajectories.step_caption", lang)),
        Table("optimizers_fates", _fates_table(result.tables["fates"], lang), _t("trajectories.fates_caption", lang)),
    ]


def _fates_table(fates: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Where each run ended, with readable headers."""
    table = _labelled(fates, lang)
    return table.rename(columns={c: _t(f"col.{c}", lang) for c in table.columns})


def sweep_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Final loss against learning rate, GD's closed form dashed, each optimizer's stability bound as a rule, and
    the swept learning rates that bracket each bound."""
    sweep = result.tables["sweep"].assign(
        optimizer=lambda d: [choice_label("optimizer", o, lang) for o in d["optimizer"]])
    theory = result.tables["sweep_theory"].assign(optimizer=choice_label("optimizer", "sgd", lang))
    big = dtype_range(p.dtype)[2]  # past the dtype's largest finite value the measured run has overflowed too
    theory["final_loss"] = theory["final_loss"].where(theory["final_loss"] <= big, np.inf)
    chart = log_profile(sweep.drop(columns="diverged"), "lr", "final_loss", "optimizer", lang=lang, x_log=True,
                        theory=theory, x_title=_t("sweep.x", lang), y_title=_t("sweep.y", lang), dtype=p.dtype,
                        title=_t("sweep.title_chart", lang, steps=p.sweep_steps, a=f"{p.a:g}", b=f"{p.b:g}"))
    bounds = _bounds(result, p, lang)
    rule = alt.Chart(bounds).mark_rule(color=RULE, strokeDash=[4, 3], strokeWidth=2).encode(
        x=alt.X("lr:Q"), tooltip=tooltips(["label:N", "lr:Q"]))
    chart = alt.layer(chart, rule, *_bound_labels(bounds, p), width=WIDTH, height=HEIGHT)
    measured = {choice_label("optimizer", k.removeprefix("first_diverging_lr_"), lang): v
                for k, v in result.findings.items() if k.startswith("first_diverging_lr_")}
    summary = "; ".join(f"{k}: {v:.3g}" if np.isfinite(v) else f"{k}: —" for k, v in measured.items())
    caption = _t("sweep.caption", lang, lam=f"{2 * max(p.a, p.b):g}", beta=f"{p.momentum:g}",
                 bounds="; ".join(bounds["label"]), measured=summary)
    return [Figure("optimizers_sweep", chart, caption),
            Table("optimizers_thresholds", _thresholds_table(result.tables["thresholds"], lang),
                  _t("sweep.thresholds_caption", lang))]


def _bounds(result: Result, p: Params, lang: str) -> pd.DataFrame:
    """The rules drawn: GD's bound 2/λ_max always (the dashed theory is GD's), heavy ball's and Nesterov's when
    they run; each labelled with its formula and value."""
    f = result.findings
    rows = [("sgd", f["gd_threshold_theory"])]
    rows += [(n, f[f"lr_bound_theory_{n}"]) for n in ("momentum", "nesterov") if f"lr_bound_theory_{n}" in f]
    return pd.DataFrame({"lr": [v for _, v in rows],
                         "label": [_t(f"sweep.bound_{n}", lang, lr=f"{v:.3g}") for n, v in rows]})


def _bound_labels(bounds: pd.DataFrame, p: Params) -> list[alt.Chart]:
    """Each rule's label near the bottom, one row each so that close rules stay legible; right of its rule in the
    sweep's left part, left of it further right (so the text stays inside the plot)."""
    lo, hi = sorted((p.sweep_lo, p.sweep_hi))
    layers = []
    for i, row in enumerate(bounds.itertuples(index=False)):
        right = np.log(row.lr / lo) / np.log(hi / lo) > 0.6 if hi > lo else False
        mark = {"align": "right" if right else "left", "dx": -4 if right else 4, "dy": -6, "color": RULE}
        layers += label(bounds.iloc[[i]], mark, x=alt.X("lr:Q"), y=alt.YValue(HEIGHT - 12 - LABEL_ROW * i),
                        text=alt.Text("label:N"))
    return layers


def _thresholds_table(thresholds: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Each optimizer's bound beside the two swept learning rates around its measured threshold."""
    table = thresholds.assign(optimizer=[choice_label("optimizer", o, lang) for o in thresholds["optimizer"]])
    return table.rename(columns={c: _t(f"col.{c}", lang) for c in table.columns})


def scaling_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The same GD on a round and a stretched bowl, side by side, and |x|, |y| per step with theory."""
    table, grid = result.tables["scaling"], result.tables["scaling_contour"]
    box = box_of(result.tables["scaling_box"])[0]
    maps = []
    for bowl in ("round", "stretched"):
        title = _t(f"scaling.{bowl}", lang, s=f"{p.stretch:g}")
        paths = table[table["bowl"] == bowl].assign(start=0, optimizer=title)
        maps.append(surface_map(grid[grid["bowl"] == bowl].drop(columns="bowl"), paths, _no_marks(), keys=["optimizer"],
                                color="optimizer", box=box, names=names(lang), title=title,
                                width=WIDTH // 2 - 20, height=WIDTH // 2 - 20))
    pair = alt.hconcat(*maps, resolve=resolve(color="independent"))
    return [
        Figure("optimizers_scaling", pair, _t("scaling.caption", lang, lr=f"{p.scale_lr:g}", s=f"{p.stretch:g}",
                                               thr=f"{1 / p.stretch:.3g}")),
        Figure("optimizers_scaling_axes", _axes_chart(table, p, lang), _t("scaling.axes_caption", lang,
               fx=f"{result.findings['factor_x_stretched']:.3g}", fy=f"{result.findings['factor_y']:.3g}")),
    ]


def _no_marks() -> pd.DataFrame:
    """Both bowls have their minimum at the origin: marked once, as a minimum."""
    return pd.DataFrame({"x": [0.0], "y": [0.0], "kind": ["minimum"]})


def _axes_chart(table: pd.DataFrame, p: Params, lang: str) -> alt.TopLevelMixin:
    """|x| and |y| per step on each bowl (log axis), dashed: the per-axis factors (1 - 2 lr curvature)^t."""
    bowl = {b: _t(f"scaling.{b}", lang, s=f"{p.stretch:g}") for b in ("round", "stretched")}

    def long(cols: tuple[str, str]) -> pd.DataFrame:
        parts = [table[["step", "bowl", c]].rename(columns={c: "magnitude"}).assign(axis=ax)
                 for c, ax in zip(cols, "xy", strict=True)]
        out = pd.concat(parts, ignore_index=True)
        series = [f"{bowl[b]}: |{ax}|" for b, ax in zip(out["bowl"], out["axis"], strict=True)]
        return out.assign(series=series, magnitude=out["magnitude"].abs()).drop(columns=["bowl", "axis"])

    table = thin_paths(table, ["bowl"])
    measured, theory = long(("x", "y")), long(("x_theory", "y_theory"))
    return log_profile(measured, "step", "magnitude", "series", theory=theory, lang=lang,
                       x_title=_t("trajectories.step", lang), y_title=_t("scaling.y", lang),
                       title=_t("scaling.axes_title", lang), dtype=p.dtype)


VIEWS = {"trajectories": trajectories_view, "sweep": sweep_view, "scaling": scaling_view}
