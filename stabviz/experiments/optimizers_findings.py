"""The optimizers page's findings: numbers a lesson checks against the theory of gradient descent.

Names (stable; ``<o>`` an optimizer, ``<n>`` a start's number from 1, as the page writes "start n"):

- ``gd_factor_x_theory``, ``gd_factor_y_theory`` (quadratic a·x² + b·y² only): gradient descent's per-step
  factors 1 − 2·a·lr and 1 − 2·b·lr; |factor| > 1 means divergence along that axis. The same values as
  ``theory_factor_x_sgd``, ``theory_factor_y_sgd``: the theory of ``factor_x_sgd`` (the other optimizers have none:
  momentum's ratio x_{t+1}/x_t oscillates where its roots are complex).
- ``factor_x_<o>``, ``factor_y_<o>``: the measured per-step ratio x_{t+1}/x_t (y alike), the median over the
  steps of every trajectory of ``<o>`` (see ``surfaces.step_ratio``); equals the theory for plain GD.
- ``first_step_<o>_<n>``: the length of trajectory (o, n)'s first step (n <= 8): lr·‖∇f(start)‖ for SGD, but
  √2·lr for Adagrad and Adam and √2·lr/√(1 − α) for RMSprop whatever the gradient (both coordinates moving).
- ``final_x_<o>_<n>``, ``final_y_<o>_<n>``, ``final_loss_<o>_<n>``: where trajectory (o, n) ended.
- ``diverged_<o>_<n>``: whether its final loss is above its starting loss (or inf/nan); ``diverged_at_<o>_<n>``
  the step from which it stayed there (None if it did not diverge; see ``surfaces.diverged_at``);
  ``steps_to_diverge_<o>_<n>`` the same step as a number, inf where it did not diverge (a sweep can plot it).
- scaling tab: ``factor_x_round``, ``factor_x_stretched``, ``factor_y`` (theory: 1 − 2·lr, 1 − 2·lr·s, 1 − 2·lr),
  ``measured_factor_x_<bowl>``, ``measured_factor_y_<bowl>``, ``diverged_<bowl>``, ``diverged_at_<bowl>``,
  ``steps_to_diverge_<bowl>`` (inf where it did not) for bowl = round, stretched; ``threshold_round`` = 1 and
  ``threshold_stretched`` = 1/s (the largest stable lr).
- sweep tab (``optimizers_sweep``): ``gd_threshold_theory`` = 1/max(a, b); per optimizer ``first_diverging_lr_<o>``
  and ``last_stable_lr_<o>`` (the swept lr just below it; nan where none), and ``lr_bound_theory_<o>`` for SGD,
  momentum and Nesterov: 2/λ_max, (2 + 2β)/λ_max, (2 + 2β)/((1 + 2β)·λ_max), λ_max = 2·max(a, b).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from stabviz.surfaces import MAX_POINTS, diverged_at, step_ratio


def _ends(g: pd.DataFrame, suffix: str) -> dict[str, Any]:
    """Final point and loss of one trajectory, and whether and from which step it diverged."""
    last, at = g.iloc[-1], diverged_at(g["loss"].to_numpy())
    first = float(g["step_size"].iloc[1]) if len(g) > 1 else float("nan")
    return {f"first_step{suffix}": first, f"final_x{suffix}": float(last["x"]), f"final_y{suffix}": float(last["y"]),
            f"final_loss{suffix}": float(last["loss"]), **_divergence(at, suffix)}


def _divergence(at: int | None, suffix: str) -> dict[str, Any]:
    """Whether and from which step a run diverged (None if not), and that step as a number (inf if not)."""
    return {f"diverged{suffix}": at is not None, f"diverged_at{suffix}": at,
            f"steps_to_diverge{suffix}": math.inf if at is None else float(at)}


def path_findings(paths: pd.DataFrame, p: Any) -> dict[str, Any]:
    """GD's theoretical factors on the quadratic, each optimizer's measured factors, each trajectory's end."""
    out: dict[str, Any] = {}
    if p.surface == "quadratic":
        fx, fy = 1 - 2 * p.a * p.lr, 1 - 2 * p.b * p.lr
        out |= {"gd_factor_x_theory": fx, "gd_factor_y_theory": fy}
        if "sgd" in set(paths["optimizer"]):
            out |= {"theory_factor_x_sgd": fx, "theory_factor_y_sgd": fy}
    for name, g in paths.groupby("optimizer", sort=False):
        for c in ("x", "y"):
            out[f"factor_{c}_{name}"] = step_ratio(g.pivot(index="step", columns="start", values=c).to_numpy())
    for (name, start), g in paths.groupby(["optimizer", "start"], sort=False):
        if start < MAX_POINTS:
            out |= _ends(g, f"_{name}_{start + 1}")
    return out


def scaling_findings(table: pd.DataFrame, stretch: float, lr: float) -> dict[str, Any]:
    """The per-axis factors of GD on x² + y² and s·x² + y² (theory and measured) and each bowl's divergence."""
    out: dict[str, Any] = {"threshold_round": 1.0, "threshold_stretched": 1.0 / stretch,
                           "factor_x_stretched": 1 - 2 * lr * stretch, "factor_y": 1 - 2 * lr,
                           "factor_x_round": 1 - 2 * lr}
    for bowl, g in table.groupby("bowl", sort=False):
        at = diverged_at(g["loss"].to_numpy())
        out |= {f"measured_factor_x_{bowl}": step_ratio(g["x"].to_numpy()),
                f"measured_factor_y_{bowl}": step_ratio(g["y"].to_numpy()),
                **_divergence(at, f"_{bowl}")}
    return out
