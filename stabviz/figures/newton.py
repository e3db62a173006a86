"""Figures of the Newton page: paths on the contour map, the Hessian's eigenvalue signs per step,
coordinates against the closed-form rates, gradient norm and loss, and the digits of 1-D Newton."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from stabviz.charts import WIDTH, line_chart, log_profile, tooltips
from stabviz.experiments import Result
from stabviz.experiments.newton import Params
from stabviz.experiments.newton_roots import digits_cap
from stabviz.figures import Block, Figure, Table
from stabviz.figures.surface_plots import is_signed, names, signed_chart, square, surface_map, thin_paths
from stabviz.i18n import choice_label, scoped
from stabviz.runtime import dtype
from stabviz.surfaces import box_of

# kind of point -> (cell colour, the signs of λ_min λ_max written in the cell, that text's colour): Okabe–Ito blue,
# yellow, vermillion, then grey and black, at least ΔE 21 apart (and from white) for protanopes, deuteranopes and
# tritanopes (the simulation of tests/unit/test_charts.py); the signs read without colour
KIND_STYLE = {"minimum": ("#0072B2", "+ +", "white"), "saddle": ("#F0E442", "− +", "black"),
              "maximum": ("#D55E00", "− −", "white"), "degenerate": ("#999999", "0", "black"),
              "nonfinite": ("#000000", "✕", "white")}
SIGNED_STEPS = 40  # steps up to which each cell is wide enough to show its signs


_t = scoped("newton")


def _labelled(df: pd.DataFrame, lang: str, several: bool) -> pd.DataFrame:
    """Display names of the methods, with the start's number when there are several starts (one series per
    run); the data's values stay neutral."""
    labels = [choice_label("method", m, lang) for m in df["method"]]
    if several:
        labels = [f"{m} · {_t('start_n', lang, n=s + 1)}" for m, s in zip(labels, df["start"], strict=True)]
    return df.assign(method=labels).drop(columns="start")


def descent_view(result: Result, p: Params, lang: str) -> list[Block]:
    """Map, eigenvalue signs, eigenvalues, coordinates vs theory, gradient norm and loss per step."""
    several = result.tables["newton_paths"]["start"].nunique() > 1
    paths = _labelled(result.tables["newton_paths"], lang, several)
    grid, step = result.tables["newton_contour"], _t("descent.step", lang)
    box, fitted = box_of(result.tables["newton_box"])
    chart = surface_map(grid, paths, result.tables["newton_landmarks"], keys=["method"], color="method",
                        box=box, names=names(lang), **(square() if fitted else {}),
                        title=_t("descent.map_title", lang, surface=choice_label("surface", p.surface, lang)))
    lines = thin_paths(paths, ["method"])
    grad = log_profile(lines[["method", "step", "grad_norm"]], "step", "grad_norm", "method", lang=lang, x_title=step,
                       y_title=_t("descent.grad", lang), title=_t("descent.grad_title", lang))
    return [
        Figure("newton_map", chart, _t("descent.map_caption", lang)),
        Figure("newton_signs", _sign_chart(lines, lang), _t("descent.signs_caption", lang)),
        Figure("newton_eigenvalues", _eigen_chart(lines, lang), _t("descent.eig_caption", lang)),
        Figure("newton_coords", _coord_chart(lines, _labelled(result.tables["newton_theory"], lang, several), lang),
               _t("descent.coords_caption", lang)),
        Figure("newton_grad", grad, _t("descent.grad_caption", lang)),
        Figure("newton_loss", _loss_chart(lines, is_signed(grid), lang), _t("descent.loss_caption", lang)),
    ]


def _sign_chart(paths: pd.DataFrame, lang: str) -> alt.LayerChart:
    """One cell per method and step, coloured by what the Hessian's eigenvalue signs say, with those signs written
    in the cell when it is wide enough."""
    names = [_t(f"kind.{k}", lang) for k in KIND_STYLE]
    data = paths.assign(kind=[_t(f"kind.{k}", lang) for k in paths["kind"]])
    signed = data["step"].nunique() <= SIGNED_STEPS
    if signed:  # the same dataset for cells and signs: no row sent twice
        styles = [KIND_STYLE[k] for k in paths["kind"]]
        data = data.assign(signs=[sign for _, sign, _ in styles], ink=[ink for _, _, ink in styles])
    x = alt.X("step:O", title=_t("descent.step", lang), axis=alt.Axis(labelOverlap=True))
    y = alt.Y("method:N", title=None)
    colours = alt.Scale(domain=names, range=[colour for colour, _, _ in KIND_STYLE.values()])
    cells = alt.Chart(data).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, y=y, color=alt.Color("kind:N", title=None, scale=colours),
        tooltip=[*tooltips(["method:N", "step:Q", "kind:N"]), alt.Tooltip("eig_min:Q", format=".4g"),
                 alt.Tooltip("eig_max:Q", format=".4g")],
    )
    signs = alt.Chart(data).mark_text(fontSize=11, aria=False).encode(
        x=x, y=y, text=alt.Text("signs:N"), fill=alt.Fill("ink:N", scale=None))
    layers = [cells, signs] if signed else [cells]
    return alt.layer(*layers, title=_t("descent.signs_title", lang), width=WIDTH,
                     height=40 * paths["method"].nunique())


def _eigen_chart(paths: pd.DataFrame, lang: str) -> alt.TopLevelMixin:
    """Both eigenvalues per step on a symmetric-log axis (their sign is the point)."""
    long = pd.concat([paths[["method", "step", c]].rename(columns={c: "eigenvalue"}).assign(which=w)
                      for c, w in (("eig_min", "λ_min"), ("eig_max", "λ_max"))], ignore_index=True)
    return signed_chart(long, "step", "eigenvalue", "method", dash="which", x_title=_t("descent.step", lang),
                        y_title=_t("descent.eig", lang), title=_t("descent.eig_title", lang),
                        nonfinite=names(lang)["nonfinite"])


def _coord_chart(paths: pd.DataFrame, theory: pd.DataFrame, lang: str) -> alt.TopLevelMixin:
    """|x| and |y| per step on a log axis; dashed: the closed-form rate where there is one."""
    def long(df: pd.DataFrame) -> pd.DataFrame:
        parts = [df[["method", "step", c]].rename(columns={c: "magnitude"}).assign(series=df["method"] + f": |{c}|")
                 for c in ("x", "y")]
        return pd.concat(parts, ignore_index=True).drop(columns="method")

    return log_profile(long(paths), "step", "magnitude", "series", lang=lang,
                       theory=long(theory) if len(theory) else None,
                       x_title=_t("descent.step", lang), y_title=_t("descent.coord", lang),
                       title=_t("descent.coords_title", lang))


def _loss_chart(paths: pd.DataFrame, signed: bool, lang: str) -> alt.TopLevelMixin:
    """Loss per step: log axis, or symlog where the surface goes negative."""
    kw = {"x_title": _t("descent.step", lang), "y_title": _t("descent.loss", lang),
          "title": _t("descent.loss_title", lang)}
    data = paths[["method", "step", "loss"]]
    if signed:
        return signed_chart(data, "step", "loss", "method", nonfinite=names(lang)["nonfinite"], **kw)
    return log_profile(data, "step", "loss", "method", lang=lang, **kw)


def roots_view(result: Result, p: Params, lang: str) -> list[Block]:
    """The digits chart (measured vs predicted by quadratic convergence), the iterate table, the failures."""
    table = result.tables["roots"].assign(root=lambda d: [choice_label("root", r, lang) for r in d["root"]])
    cap = digits_cap(dtype(p.dtype))
    digits = table[["root", "step", "digits"]].assign(digits=lambda d: d["digits"].clip(lower=0))
    theory = table[["root", "step", "digits_predicted"]].rename(columns={"digits_predicted": "digits"}).dropna()
    chart = line_chart(digits[np.isfinite(digits["digits"])], "step", "digits", "root", lang=lang,
                       theory=theory.assign(digits=theory["digits"].clip(lower=0)), x_title=_t("roots.step", lang),
                       y_title=_t("roots.digits", lang), title=_t("roots.chart_title", lang, k=f"{p.k:g}"))
    verdicts = [f"- **{choice_label('root', r['root'], lang)}**: {_verdict(r, lang, p.root_tol)}"
                for _, r in result.tables["root_verdicts"].iterrows()]
    shown = table.assign(r=[f"{v:.17g}" for v in table["r"]], status=[_t(f"status.{s}", lang) for s in table["status"]])
    shown = shown[["root", "step", "r", "error", "digits", "digits_predicted", "status"]]
    return [
        "\n".join(verdicts),
        Figure("newton_digits", chart, _t("roots.chart_caption", lang, cap=f"{cap:.1f}", dtype=p.dtype)),
        Table("newton_roots", shown.rename(columns={c: _t(f"roots.col.{c}", lang) for c in shown.columns}),
              _t("roots.table_caption", lang)),
        Table("newton_root_failures", _failures(result.tables["root_failures"], lang),
              _t("roots.failures_caption", lang, k=f"{p.k:g}")),
    ]


def _verdict(row: pd.Series, lang: str, tol: float = 0.0) -> str:
    """One run's verdict in words, from the engine's code and numbers (``tol``: the stopping tolerance)."""
    return _t(f"verdict.{row['verdict']}", lang, at=int(row["at_step"]), digits=f"{max(row['digits'], 0.0):.1f}",
              steps=int(row["steps"]), tol=f"{tol:g}")


def _failures(fails: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The failure cases with translated names and verdicts."""
    out = pd.DataFrame({
        "case": [_t(f"case.{c}", lang) for c in fails["case"]],
        "root": [choice_label("root", r, lang) for r in fails["root"]],
        "r0": fails["r0"], "final_r": fails["final_r"], "verdict": [_verdict(r, lang) for _, r in fails.iterrows()],
    })
    return out.rename(columns={c: _t(f"roots.col.{c}", lang) for c in out.columns})


VIEWS = {"descent": descent_view, "roots": roots_view}
