"""A short training run in four forms, same seed, data and initial weights: float32; float16 by autocast without
loss scaling; float16 by autocast with ``torch.amp.GradScaler``; bfloat16 by autocast.

The net and the task are the deep-MLP page's (:mod:`stabviz.experiments.deep_mlp_train`): a deep MLP classifying
points by a random teacher, SGD on the binary cross-entropy. Autocast keeps the weights in float32 (the master
copies) and runs the matmuls, forward and backward, in the half format, so the gradient entries that underflow
there arrive as exact zeros. The GradScaler multiplies the loss by its scale S before the backward pass, divides
the gradients by S before the step, skips a step whose gradients hold an inf or nan (and halves S), and doubles S
after ``growth_interval`` good steps in a row.

A device that lacks an operation in a half format (an older CPU build, a GPU without bfloat16) raises inside
torch: that form is then reported as unsupported with torch's message, and the others still run.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits

from stabviz.experiments import Progress, Result
from stabviz.experiments.deep_mlp_train import DATA_SIZE, dtype_cost, train_data, train_net
from stabviz.runtime import device, generator

if TYPE_CHECKING:
    from stabviz.experiments.mixed_precision import Params

FORMS = ("float32", "float16", "float16_scaled", "bfloat16")
AUTOCAST = {"float16": torch.float16, "float16_scaled": torch.float16, "bfloat16": torch.bfloat16}
UNSUPPORTED = (RuntimeError, NotImplementedError, TypeError)  # what torch raises for an op missing in a format
AUTOCAST_OVERHEAD = 2.0  # an autocast step cast every weight twice more and ran its matmuls in half precision
STEP_COST = 2e6  # multiply-add equivalents of one step's fixed cost (~2 ms of per-op overhead, whatever the size)


class Recorder:
    """Per step of one form: loss, share of gradient entries exactly 0, log2 of the loss scale, step skipped."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, float, bool]] = []

    def add(self, loss: torch.Tensor, grads: list[torch.Tensor], scale: float, skipped: bool) -> None:
        """Record one step (the gradients as the optimizer sees them: unscaled)."""
        flat = torch.cat([g.detach().reshape(-1) for g in grads])
        self.rows.append((float(loss.detach()), float((flat == 0).double().mean()), math.log2(scale), skipped))


@contextlib.contextmanager
def half_compute(device_type: str, half: torch.dtype | None) -> Iterator[None]:
    """torch.autocast to ``half`` (nothing for None); raises where the device cannot autocast to it, instead of
    torch's warning and a silent float32 run (a GPU without bfloat16)."""
    if half is None:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's "disabling autocast": raised below instead
        cast = torch.autocast(device_type, dtype=half)
    with cast:
        if not torch.is_autocast_enabled(device_type):
            raise RuntimeError(f"torch.autocast to {str(half).removeprefix('torch.')} is not available on "
                               f"{device_type}")
        yield


def _step(model: nn.Module, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None, form: str,
          xb: torch.Tensor, yb: torch.Tensor, rec: Recorder) -> None:
    """One SGD step in a form; the scaler (if any) unscales, checks for inf/nan, steps or skips, updates S."""
    with half_compute(xb.device.type, AUTOCAST.get(form)):
        loss = binary_cross_entropy_with_logits(model(xb).squeeze(1).float(), yb)
    opt.zero_grad()
    params = list(model.parameters())
    if scaler is None:
        loss.backward()
        rec.add(loss, [q.grad for q in params], 1.0, False)
        opt.step()
        return
    scale = scaler.get_scale()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    grads = [q.grad for q in params]
    finite = bool(torch.stack([torch.isfinite(g).all() for g in grads]).all())
    rec.add(loss, grads, scale, not finite)
    scaler.step(opt)  # skipped by the scaler itself when a gradient is not finite
    scaler.update()


def _run_form(p: Params, form: str, report: Progress) -> tuple[Recorder, float]:
    """The whole run of one form, from the seed: the same initial weights, data and minibatches in every form;
    returns the steps and the loss on the whole training set after the last step (in float32)."""
    dev, g = device(p.device), generator(p.seed)
    model = train_net(p, g, p.train_depth, p.train_width).to(dev)
    x, y = (t.to(dev) for t in train_data(p.train_width, g))
    opt = torch.optim.SGD(model.parameters(), lr=p.lr)
    scaler = torch.amp.GradScaler(dev.type, init_scale=2.0**p.init_scale_exp, growth_interval=p.growth_interval) \
        if form == "float16_scaled" else None
    rec = Recorder()
    for step in range(1, p.steps + 1):
        idx = torch.randint(DATA_SIZE, (p.train_batch,), generator=g).to(dev)
        _step(model, opt, scaler, form, x[idx], y[idx], rec)
        report(step / p.steps)
    with torch.no_grad():
        return rec, float(binary_cross_entropy_with_logits(model(x).squeeze(1), y))


def train(p: Params, progress: Progress | None = None) -> Result:
    """The four forms one after another; a form that torch cannot run here is listed with torch's message."""
    tables, unsupported = [], []
    every = max(1, p.steps // 12)
    for i, form in enumerate(FORMS):
        def report(done: float, i: int = i) -> None:
            if progress is not None and (round(done * p.steps) % every == 0 or done == 1.0):
                progress((i + done) / len(FORMS))
        try:
            rec, final = _run_form(p, form, report)
        except UNSUPPORTED as err:
            unsupported.append({"form": form, "device": device(p.device).type, "error": str(err).split("\n")[0]})
            continue
        table = pd.DataFrame(rec.rows, columns=["loss", "zero_grad_share", "log2_scale", "skipped"])
        tables.append(table.assign(form=form, step=np.arange(1, p.steps + 1), final_loss=final))
    runs = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["loss", "zero_grad_share", "log2_scale", "skipped", "form", "step", "final_loss"])
    if progress is not None:
        progress(1.0)
    return Result({"train_runs": runs, "train_unsupported": pd.DataFrame(unsupported, columns=["form", "device",
                                                                                                "error"])},
                  _findings(runs))


def _findings(runs: pd.DataFrame) -> dict[str, float]:
    """Per form: the loss on the whole training set after training and the mean share of zero gradient entries;
    the scaler's skipped steps and its last scale (nan for a form that did not run)."""
    out: dict[str, float] = {}
    for form in FORMS:
        run = runs[runs["form"] == form]
        out[f"train_final_loss_{form}"] = float(run["final_loss"].iloc[-1]) if len(run) else math.nan
        out[f"train_zero_grad_share_{form}"] = float(run["zero_grad_share"].mean()) if len(run) else math.nan
    scaled = runs[runs["form"] == "float16_scaled"]
    out["train_skipped_steps"] = float(scaled["skipped"].sum()) if len(scaled) else math.nan
    out["train_final_log2_scale"] = float(scaled["log2_scale"].iloc[-1]) if len(scaled) else math.nan
    return out


def train_work(p: Params) -> float:
    """Multiply-adds of the four runs: forward and backward per example, the update, autocast's casts, and each
    step's fixed cost."""
    weights = p.train_depth * p.train_width**2 + p.train_width
    per_step = weights * (3.0 * p.train_batch * dtype_cost("float16", p.train_width) + 12.0)
    return len(FORMS) * p.steps * (AUTOCAST_OVERHEAD * per_step + STEP_COST) + DATA_SIZE * p.train_width
