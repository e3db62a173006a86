"""The Newton page's closed-form rates and its findings: numbers a lesson checks against the theory.

Findings of the descent tab (stable names; ``<m>`` a method, its first start when it has several):

- ``final_x_<m>``, ``final_y_<m>``, ``final_loss_<m>``, ``final_kind_<m>``: where the run ended, and what the
  Hessian's eigenvalue signs say there (minimum, saddle, maximum, degenerate, nonfinite).
- ``ratio_x_<m>``, ``ratio_y_<m>``: the measured per-step ratio x_{t+1}/x_t (y alike), the median over the
  steps of every run of ``<m>`` (``surfaces.step_ratio``): 2/3 for Newton on 10x⁴ + y⁴, 1/2 on 5x³ + y³.
- ``ratio_theory_x_<m>``, ``ratio_theory_y_<m>``: the closed-form ratio, where there is one (see
  :func:`theory_factors`).
- ``diverged_<m>``: whether the final loss is above the start's (or inf/nan); ``diverged_at_<m>``: the step from
  which it stayed there (None if it did not; ``surfaces.diverged_at``).
- ``steps_to_diverge_<m>``: ``diverged_at_<m>`` as a number, inf where it did not diverge (a sweep can plot it).
- ``steps_<m>``: the steps the method took (``steps``, or ``gd_steps`` for gradient descent when set).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from stabviz.surfaces import diverged_at, step_ratio


def theory_factors(p: Any, method: str, x: float, y: float) -> tuple[float, float] | None:
    """Per-step factors (x_{t+1}/x_t, y_{t+1}/y_t) where the method has a closed form on the surface."""
    alpha = p.damping if method == "damped" else 1.0
    if method == "gd":
        curv = {"quadratic": (2 * p.a, 2 * p.b), "saddle": (2.0, -2.0)}.get(p.surface)
        return None if curv is None else (1 - p.lr * curv[0], 1 - p.lr * curv[1])
    if p.surface == "saddle" and method == "saddle_free":
        return 0.0, 2.0
    if p.surface == "cubic" and method == "saddle_free":
        return tuple(0.5 if c > 0 else 1.5 for c in (x, y))
    shrink = {"quadratic": 1.0, "saddle": 1.0, "quartic": 1 / 3, "cubic": 0.5}.get(p.surface)
    return None if shrink is None else (1 - alpha * shrink, 1 - alpha * shrink)


def theory(p: Any, starts: np.ndarray) -> pd.DataFrame:
    """Closed-form iterates x0·fx^t, y0·fy^t of every run that has them, beside the measured ones."""
    frames = []
    for m, idx in p.runs():
        t = np.arange(p.steps_of(m) + 1)
        for i in idx:
            x0, y0 = (float(v) for v in starts[i])
            fac = theory_factors(p, m, x0, y0)
            if fac is not None:
                with np.errstate(over="ignore"):
                    frames.append(pd.DataFrame({"method": m, "step": t, "x": x0 * fac[0] ** t, "y": y0 * fac[1] ** t,
                                                "start": i}))
    columns = ["method", "step", "x", "y", "start"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _plain(v: object) -> object:
    """A numpy scalar as a plain Python value (JSON-ready findings)."""
    return v.item() if isinstance(v, np.generic) else v


def descent_findings(paths: pd.DataFrame, p: Any, starts: np.ndarray) -> dict[str, Any]:
    """Per method: where its (first) run ended, the measured and closed-form per-step ratios, divergence."""
    out: dict[str, Any] = {}
    for m, idx in p.runs():
        runs = paths[paths["method"] == m]
        first = runs[runs["start"] == idx[0]]
        last = first.iloc[-1]
        out |= {f"final_{k}_{m}": _plain(last[k]) for k in ("x", "y", "loss", "kind")}
        for c in ("x", "y"):
            out[f"ratio_{c}_{m}"] = step_ratio(runs.pivot(index="step", columns="start", values=c).to_numpy())
        fac = theory_factors(p, m, *(float(v) for v in starts[idx[0]]))
        if fac is not None:
            out |= {f"ratio_theory_x_{m}": fac[0], f"ratio_theory_y_{m}": fac[1]}
        at = diverged_at(first["loss"].to_numpy())
        out |= {f"diverged_{m}": at is not None, f"diverged_at_{m}": at, f"steps_{m}": p.steps_of(m),
                f"steps_to_diverge_{m}": math.inf if at is None else float(at)}
    return out
