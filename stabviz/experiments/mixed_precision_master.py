"""Why float32 master weights: an update smaller than half a weight's ulp rounds away.

w + u rounds back to w unless u exceeds ulp(w)/2 (round to nearest, ties to even), and ulp(w) = 2^floor(log2 w)·eps
is 2^-7 at w = 1 in bfloat16 but 2^-23 in float32. Measured: fl(w + u) - w in each format for a grid of u, and
the smallest u that changes w found by bisection with torch. Then a run: linear regression by SGD with the weights
kept in float16 or bfloat16, against the same half-precision compute (autocast) updating float32 master copies.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import mse_loss

from stabviz.experiments import Progress, Result
from stabviz.experiments.mixed_precision_formats import limits
from stabviz.experiments.mixed_precision_train import UNSUPPORTED, half_compute
from stabviz.runtime import DTYPES, device, generator

if TYPE_CHECKING:
    from stabviz.experiments.mixed_precision import Params

UPDATE_FORMATS = ("float32", "bfloat16", "float16")
UPDATES = np.logspace(-12, 0, 121)  # the sizes u / w of the update w + u, 10 per decade
MASTER_FORMS = ("float32", "float16", "float16_master", "bfloat16", "bfloat16_master")
MASTER_DATA = 256  # regression examples
BISECTIONS = 80  # halvings of the bracket around the smallest update that changes w
STEP_COST = 1e6  # multiply-add equivalents of one step's fixed cost (~1 ms of per-op overhead, whatever the size)


def added(w: float, u: np.ndarray | float, name: str) -> np.ndarray:
    """fl(fl(w) + fl(u)) - fl(w) in a format, computed by torch, returned in float64."""
    dt = DTYPES[name]
    wt = torch.tensor(w, dtype=torch.float64).to(dt)
    ut = torch.as_tensor(np.asarray(u, dtype=np.float64)).to(dt)
    return ((wt + ut).double() - wt.double()).numpy()


def ulp(w: float, name: str) -> float:
    """The gap from fl(w) to the next larger value of the format, measured with torch.nextafter."""
    wt = torch.tensor(w, dtype=torch.float64).to(DTYPES[name])
    return float(torch.nextafter(wt, torch.tensor(math.inf, dtype=wt.dtype)).double() - wt.double())


def smallest_update(w: float, name: str) -> float:
    """The smallest u > 0 with fl(w + u) != fl(w), by bisection on u (w + u changes w monotonically in u)."""
    lo, hi = 0.0, 4 * ulp(w, name)
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if added(w, mid, name) != 0 else (mid, hi)
    return hi


def update_table(w: float) -> tuple[pd.DataFrame, dict[str, float]]:
    """fl(w + u) - fl(w) for every u = w·UPDATES in each format, and per format the measured smallest update beside
    the theory ulp(w)/2 = 2^floor(log2 w)·eps/2 from torch.finfo."""
    rows, findings = [], {}
    for name in UPDATE_FORMATS:
        rows.append(pd.DataFrame({"format": name, "update": w * UPDATES, "change": added(w, w * UPDATES, name)}))
        stored = float(torch.tensor(w, dtype=torch.float64).to(DTYPES[name]))
        theory = 2.0 ** math.floor(math.log2(stored)) * limits(name)["eps"] / 2
        findings |= {f"update_smallest_measured_{name}": smallest_update(w, name),
                     f"update_smallest_theory_{name}": theory, f"ulp_{name}": ulp(w, name)}
    return pd.concat(rows, ignore_index=True), findings


def _run(p: Params, form: str) -> list[tuple[float, float]]:
    """SGD on y = X w*, the weights stored in the form's format (or float32 with autocast for a master form):
    per step the loss and the share of weights whose nonzero update rounded away."""
    dev, g = device(p.device), generator(p.seed)
    x = torch.randn(MASTER_DATA, p.master_width, generator=g)
    teacher = torch.randn(p.master_width, 1, generator=g)
    model = nn.Linear(p.master_width, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, p.master_width, generator=g))
    half = DTYPES[form.removesuffix("_master")]
    store = torch.float32 if form.endswith("_master") else half
    model = model.to(device=dev, dtype=store)
    x, y = x.to(dev, store), (x @ teacher).to(dev, store)
    opt = torch.optim.SGD(model.parameters(), lr=p.master_lr)
    rows = []
    for _ in range(p.master_steps):
        with half_compute(dev.type, half if form.endswith("_master") else None):
            loss = mse_loss(model(x).float(), y.float())
        opt.zero_grad()
        loss.backward()
        before = model.weight.detach().clone()
        opt.step()
        stalled = (p.master_lr * model.weight.grad != 0) & (model.weight.detach() == before)
        rows.append((float(loss.detach()), float(stalled.double().mean())))
    return rows


def master(p: Params, progress: Progress | None = None) -> Result:
    """The update table, and the regression run in each form (same data, teacher and start)."""
    updates, findings = update_table(p.weight)
    runs, unsupported = [], []
    for i, form in enumerate(MASTER_FORMS):
        try:
            rows = _run(p, form)
        except UNSUPPORTED as err:  # a format this device cannot compute in: named, the others still run
            unsupported.append({"form": form, "device": device(p.device).type, "error": str(err).split("\n")[0]})
            rows = []
        runs.append(pd.DataFrame(rows, columns=["loss", "stalled_share"]).assign(
            form=form, step=np.arange(1, len(rows) + 1)))
        last = rows[-1] if rows else (math.nan, math.nan)
        findings[f"master_final_loss_{form}"], findings[f"master_stalled_share_{form}"] = last
        if progress is not None:
            progress((i + 1) / len(MASTER_FORMS))
    runs = pd.concat(runs, ignore_index=True)
    return Result({"updates": updates, "master_runs": runs,
                   "master_unsupported": pd.DataFrame(unsupported, columns=["form", "device", "error"])}, findings)


def master_work(p: Params) -> float:
    """Multiply-adds of the five runs (forward, backward, update, each step's fixed cost) and the bisections."""
    per_step = 3.0 * MASTER_DATA * p.master_width + 20 * p.master_width + STEP_COST
    return len(MASTER_FORMS) * p.master_steps * per_step + 1e6
