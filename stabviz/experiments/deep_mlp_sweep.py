"""A learning-rate sweep of the training tab's kind of net (its own depth, width and batch): which learning rates
train it at all?

With exploding gradients only a narrow band of small learning rates trains (larger ones blow up to
inf/nan); with vanishing ones no learning rate helps. Every learning rate trains its own copy of the
same initial net on the same minibatches, all at once: the copies' parameters are stacked and
``torch.func.vmap`` runs them in one batched pass; autograd gives each copy its gradient, scaled by its
learning rate before a plain ``torch.optim.SGD`` step of lr 1 (which is SGD with that learning rate).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.func import functional_call, vmap
from torch.nn.functional import binary_cross_entropy_with_logits

from stabviz.experiments import Progress, Result
from stabviz.experiments.deep_mlp_train import DATA_SIZE, STEP_OVERHEAD, dtype_cost, train_data, train_net
from stabviz.runtime import device, dtype, generator
from stabviz.states import state_of

LAST_STEPS = 10  # the final loss is the mean over this many last steps (a minibatch loss is noisy)


def lr_grid(p: Any) -> np.ndarray:
    """The sweep's learning rates, evenly spaced on a log scale (the two ends in either order)."""
    return np.geomspace(min(p.lr_min, p.lr_max), max(p.lr_min, p.lr_max), p.lr_points)


def lr_sweep(p: Any, progress: Progress | None = None) -> Result:
    """Train one copy of the net per learning rate; per step each copy's loss, at the end its accuracy."""
    dev, dt, g = device(p.device), dtype(p.dtype), generator(p.seed)
    base = train_net(p, g, p.sweep_depth, p.sweep_width).to(device=dev, dtype=dt)
    x, y = (t.to(device=dev, dtype=dt) for t in train_data(p.sweep_width, g))
    lrs = lr_grid(p)
    params = {n: t.detach().expand(len(lrs), *t.shape).clone().requires_grad_(True) for n, t in base.named_parameters()}
    logits = vmap(lambda prm, xb: functional_call(base, prm, (xb,)).squeeze(-1), in_dims=(0, None))
    losses = _descend(p, params, logits, lrs, x, y, g, progress)
    with torch.no_grad():
        accuracy = ((logits(params, x) > 0).to(y.dtype) == y).double().mean(dim=1).cpu().numpy()
    return _result(p, lrs, losses, accuracy)


def _descend(p: Any, params: dict[str, torch.Tensor], logits: Any, lrs: np.ndarray, x: torch.Tensor,
             y: torch.Tensor, g: torch.Generator, progress: Progress | None) -> np.ndarray:
    """sweep_steps SGD steps of every copy on shared minibatches; (steps, copies) minibatch losses in float64."""
    opt = torch.optim.SGD(list(params.values()), lr=1.0)
    scale = torch.tensor(lrs, dtype=x.dtype, device=x.device)
    every, losses = max(1, p.sweep_steps // 50), []
    for step in range(1, p.sweep_steps + 1):
        idx = torch.randint(DATA_SIZE, (p.sweep_batch,), generator=g).to(x.device)
        yb = y[idx].expand(len(lrs), -1)
        loss = binary_cross_entropy_with_logits(logits(params, x[idx]), yb, reduction="none").mean(dim=1)
        opt.zero_grad()
        loss.sum().backward()  # the copies are independent: each gets its own loss's gradient
        for t in params.values():
            t.grad.mul_(scale.view(-1, *[1] * (t.dim() - 1)))
        opt.step()
        losses.append(loss.detach().double().cpu())
        if progress is not None and (step % every == 0 or step == p.sweep_steps):
            progress(step / p.sweep_steps)
    return torch.stack(losses).numpy()


def _result(p: Any, lrs: np.ndarray, losses: np.ndarray, accuracy: np.ndarray) -> Result:
    """The per-step losses in long form, a row per learning rate, and the band of learning rates that train."""
    steps = np.arange(1, p.sweep_steps + 1)
    curves = pd.DataFrame({"step": np.repeat(steps, len(lrs)), "lr": np.tile(lrs, len(steps)),
                           "loss": losses.ravel()})
    curves["state"] = state_of(curves["loss"], zero=False)
    with np.errstate(invalid="ignore"):
        final = losses[-LAST_STEPS:].mean(axis=0)
    diverged = ~np.isfinite(losses).all(axis=0)
    trained = (accuracy >= p.sweep_target) & ~diverged
    table = pd.DataFrame({"lr": lrs, "final_loss": final, "accuracy": accuracy, "diverged": diverged,
                          "trained": trained})
    table["state"] = state_of(table["final_loss"], zero=False)
    band = lrs[trained]
    findings = {
        "sweep_trained_lrs": int(trained.sum()), "sweep_diverged_lrs": int(diverged.sum()),
        "sweep_best_accuracy": float(accuracy.max()), "sweep_best_lr": float(lrs[int(np.argmax(accuracy))]),
        "sweep_band_low": float(band.min()) if band.size else math.nan,
        "sweep_band_high": float(band.max()) if band.size else math.nan,
    }
    return Result({"sweep_curves": curves, "sweep": table}, findings)


def sweep_work(p: Any) -> float:
    """Multiply-adds of training every copy: forward + backward per example, plus the per-step update work."""
    weights = p.sweep_depth * p.sweep_width**2 + p.sweep_width
    per_weight_step = 3.0 * p.sweep_batch * dtype_cost(p.dtype, p.sweep_width) + STEP_OVERHEAD
    return p.lr_points * (p.sweep_steps * weights * per_weight_step + DATA_SIZE * p.sweep_width)
