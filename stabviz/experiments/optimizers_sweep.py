"""The learning-rate sweep on a·x² + b·y², and the stability bounds of gradient descent, heavy ball and Nesterov.

The Hessian is diag(2a, 2b), so λ_max = 2·max(a, b). On one eigen-direction f = λx²/2 with h = lr·λ, torch.optim.SGD
(v ← βv + g, then x ← x − lr·v, or x ← x − lr·(g + βv) with nesterov=True) is a linear recurrence in x alone:

- gradient descent: x' = (1 − h)·x, stable while 0 < h < 2: lr < 2/λ_max;
- heavy ball: x_{t+1} = (1 + β − h)·x_t − β·x_{t−1}, characteristic polynomial z² − (1 + β − h)·z + β;
- Nesterov: x_{t+1} = (1 + β)(1 − h)·x_t − β(1 − h)·x_{t−1}, polynomial z² − (1 + β)(1 − h)·z + β(1 − h).

Both roots lie inside the unit circle iff |c₀| < 1 and |c₁| < 1 + c₀ (Jury's test for z² + c₁z + c₀). For heavy ball
(0 ≤ β < 1) that is 0 < h < 2 + 2β: lr < (2 + 2β)/λ_max. For Nesterov, |β(1 − h)| < 1 gives h < 1 + 1/β, and for
h > 1, (1 + β)(h − 1) < 1 + β(1 − h) gives h < (2 + 2β)/(1 + 2β), the tighter one: lr < (2 + 2β)/((1 + 2β)·λ_max).
At each bound a root crosses the unit circle at z = −1 (p(−1) = 0): the divergence is an oscillation. β = 0 gives
2/λ_max for all three. E.g. β = 0.9, λ_max = 20: GD 0.1, heavy ball 0.19, Nesterov 3.8/56 ≈ 0.0679.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Result
from stabviz.experiments.optimizers_run import descend, make_optimizer
from stabviz.runtime import device, dtype
from stabviz.surfaces import surface_fn

BOUNDED = ("sgd", "momentum", "nesterov")  # the optimizers whose divergence threshold on a quadratic is known


def lr_bound(name: str, lam_max: float, beta: float) -> float:
    """The largest stable learning rate of ``name`` on a quadratic whose largest curvature is ``lam_max``."""
    if name == "sgd":
        return 2.0 / lam_max
    if name == "momentum":
        return (2.0 + 2.0 * beta) / lam_max
    if name == "nesterov":
        return (2.0 + 2.0 * beta) / ((1.0 + 2.0 * beta) * lam_max)
    raise KeyError(f"no stability bound for {name!r}")


def char_poly(name: str, h: float, beta: float) -> tuple[float, float, float]:
    """Coefficients (1, c₁, c₀) of z² + c₁z + c₀, the recurrence x_{t+1} = −c₁x_t − c₀x_{t−1} at h = lr·λ."""
    if name == "momentum":
        return 1.0, -(1.0 + beta - h), beta
    if name == "nesterov":
        return 1.0, -(1.0 + beta) * (1.0 - h), beta * (1.0 - h)
    return 1.0, -(1.0 - h), 0.0  # gradient descent: x' = (1 − h)x, the second root 0


def sweep_rates(lo: float, hi: float, points: int) -> np.ndarray:
    """Log-spaced learning rates between the two sweep bounds (in either order)."""
    lo, hi = sorted((lo, hi))
    return np.logspace(math.log10(lo), math.log10(hi), points)


def gd_final_loss(a: float, b: float, x0: float, y0: float, lr: np.ndarray, steps: int) -> np.ndarray:
    """Theory: loss of gradient descent on a*x^2 + b*y^2 after ``steps`` steps, per learning rate."""
    with np.errstate(over="ignore"):
        return a * x0**2 * (1 - 2 * a * lr) ** (2 * steps) + b * y0**2 * (1 - 2 * b * lr) ** (2 * steps)


def sweep(p: Any) -> Result:
    """Final loss vs learning rate for each chosen optimizer on a*x^2 + b*y^2 from (x0, y0), every run a torch.optim
    optimizer (one parameter group per learning rate), beside each optimizer's stability bound."""
    rates = sweep_rates(p.sweep_lo, p.sweep_hi, p.sweep_points)
    start = torch.tensor([[p.x0, p.y0]], dtype=dtype(p.dtype), device=device(p.device))
    opts = [make_optimizer(n, [{"params": [start.clone().requires_grad_(True)], "lr": float(r)} for r in rates],
                           p.hyper()) for n in p.optimizers]
    rec = descend(surface_fn("quadratic", p.a, p.b), opts, p.sweep_steps, p.hyper()).numpy()
    final = rec[-1, :, 2].reshape(len(p.optimizers), len(rates))
    start_loss = rec[0, 0, 2]
    table = pd.DataFrame({"optimizer": np.repeat(p.optimizers, len(rates)), "lr": np.tile(rates, len(p.optimizers)),
                          "final_loss": final.ravel()})
    table["diverged"] = ~(table["final_loss"] <= start_loss)
    theory = pd.DataFrame({"lr": rates, "final_loss": gd_final_loss(p.a, p.b, p.x0, p.y0, rates, p.sweep_steps)})
    bounds = thresholds(p, table)
    return Result({"sweep": table, "sweep_theory": theory, "thresholds": bounds}, sweep_findings(p, bounds))


def thresholds(p: Any, table: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer: its theoretical bound (nan where none is known), the first swept lr that diverged and the
    swept lr just below it (nan where there is none)."""
    lam_max = 2.0 * max(p.a, p.b)
    rows = []
    for name, g in table.groupby("optimizer", sort=False):
        hits = np.flatnonzero(g["diverged"].to_numpy())
        lrs = g["lr"].to_numpy()
        first = lrs[hits[0]] if len(hits) else math.nan
        below = lrs[hits[0] - 1] if len(hits) and hits[0] > 0 else math.nan
        bound = lr_bound(name, lam_max, p.momentum) if name in BOUNDED else math.nan
        rows.append({"optimizer": name, "lr_bound_theory": bound, "last_stable_lr": float(below),
                     "first_diverging_lr": float(first)})
    return pd.DataFrame(rows, columns=["optimizer", "lr_bound_theory", "last_stable_lr", "first_diverging_lr"])


def sweep_findings(p: Any, bounds: pd.DataFrame) -> dict[str, float]:
    """GD's threshold 1/max(a, b), and per optimizer its bound (where known) and the swept lrs that bracket it."""
    out = {"gd_threshold_theory": 1.0 / max(p.a, p.b)}
    for row in bounds.itertuples(index=False):
        out[f"first_diverging_lr_{row.optimizer}"] = row.first_diverging_lr
        out[f"last_stable_lr_{row.optimizer}"] = row.last_stable_lr
        if row.optimizer in BOUNDED:
            out[f"lr_bound_theory_{row.optimizer}"] = row.lr_bound_theory
    return out
