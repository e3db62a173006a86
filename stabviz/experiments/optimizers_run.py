"""The batched descent engine behind the optimizers page, and the classic per-point loop it replaces.

Every chosen torch.optim optimizer owns one parameter tensor of shape (n_points, 2); one
surface evaluation over all points of all optimizers and one ``backward`` per step serve them
all. The optimizers' updates and the clipping are elementwise or per row, so each row follows
exactly the path it would follow alone (``reference_loop`` is that per-point loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.surfaces import Box, Fn, status

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
ADAPTIVE = frozenset({"adagrad", "rmsprop", "adam", "adamw"})  # these use lr_adaptive
CLIPS = ("none", "norm", "value")


@dataclass(frozen=True)
class Hyper:
    """The optimizers' hyper-parameters and the gradient clipping, as chosen on the page."""

    lr: float  # learning rate of SGD, momentum and Nesterov
    lr_adaptive: float  # learning rate of Adagrad, RMSprop, Adam and AdamW
    momentum: float  # momentum of SGD + momentum and Nesterov
    beta1: float  # Adam/AdamW first-moment decay
    beta2: float  # Adam/AdamW second-moment decay
    alpha: float  # RMSprop smoothing constant
    eps: float  # the adaptive methods' epsilon
    weight_decay: float  # AdamW's decoupled weight decay
    clip: str = "none"  # "none", "norm" (per point) or "value"
    clip_at: float = 1.0  # the clipping threshold


def make_optimizer(name: str, groups: list[dict], hp: Hyper) -> torch.optim.Optimizer:
    """A torch.optim optimizer over parameter groups (a group may set its own lr).

    The single-tensor code path (foreach=False) is the faster one for a few small tensors.
    """
    o, kw = torch.optim, {"lr": hp.lr_adaptive if name in ADAPTIVE else hp.lr, "foreach": False}
    if name in ("sgd", "momentum", "nesterov"):
        mom = 0.0 if name == "sgd" else hp.momentum
        return o.SGD(groups, momentum=mom, nesterov=name == "nesterov" and mom > 0, **kw)
    if name == "adagrad":
        return o.Adagrad(groups, eps=hp.eps, **kw)
    if name == "rmsprop":
        return o.RMSprop(groups, alpha=hp.alpha, eps=hp.eps, **kw)
    betas = (hp.beta1, hp.beta2)
    if name == "adam":
        return o.Adam(groups, betas=betas, eps=hp.eps, **kw)
    return o.AdamW(groups, betas=betas, eps=hp.eps, weight_decay=hp.weight_decay, **kw)


def clip_rows(tensors: Sequence[torch.Tensor], hp: Hyper) -> None:
    """Clip each point's gradient: by value, or its norm as torch.nn.utils.clip_grad_norm_ would alone."""
    if hp.clip == "value":
        torch.nn.utils.clip_grad_value_(tensors, hp.clip_at)
    elif hp.clip == "norm":
        for t in tensors:
            norm = torch.linalg.vector_norm(t.grad, dim=-1, keepdim=True)
            t.grad.mul_(torch.clamp(hp.clip_at / (norm + 1e-6), max=1.0))


def descend(fn: Fn, opts: Sequence[torch.optim.Optimizer], steps: int, hp: Hyper | None = None) -> torch.Tensor:
    """Run all optimizers together (clipping as ``hp`` says); (steps+1, points, 3) of x, y, loss."""
    params = [t for o in opts for g in o.param_groups for t in g["params"]]
    rec = torch.empty(steps + 1, sum(len(t) for t in params), 3, dtype=params[0].dtype, device=params[0].device)
    for t in range(steps):
        for w in params:
            w.grad = None
        xy = torch.cat(params)
        loss = fn(xy[:, 0], xy[:, 1])
        rec[t] = torch.cat([xy.detach(), loss.detach()[:, None]], dim=1)
        loss.sum().backward()
        if hp is not None:
            clip_rows(params, hp)
        for o in opts:
            o.step()
    with torch.no_grad():
        xy = torch.cat(params)
        rec[steps] = torch.cat([xy, fn(xy[:, 0], xy[:, 1])[:, None]], dim=1)
    return rec.cpu().double()


def run_groups(fn: Fn, groups: Sequence[tuple[str, torch.Tensor]], steps: int, hp: Hyper) -> torch.Tensor:
    """Each optimizer from its own (n_i, 2) starts, all together: (steps+1, sum n_i, 3), in the groups' order."""
    opts = [make_optimizer(n, [{"params": [s.clone().requires_grad_(True)]}], hp) for n, s in groups]
    return descend(fn, opts, steps, hp)


def run_batch(fn: Fn, names: Sequence[str], starts: torch.Tensor, steps: int, hp: Hyper) -> torch.Tensor:
    """Every optimizer from every start: (steps+1, optimizer, start, 3)."""
    rec = run_groups(fn, [(n, starts) for n in names], steps, hp)
    return rec.reshape(steps + 1, len(names), len(starts), 3)


def reference_loop(fn: Fn, names: Sequence[str], starts: torch.Tensor, steps: int, hp: Hyper) -> torch.Tensor:
    """The classic notebook loop: a fresh tensor and optimizer per point, backward per step per point."""
    out = torch.empty(steps + 1, len(names), len(starts), 3, dtype=torch.float64)
    for i, name in enumerate(names):
        for j, start in enumerate(starts):
            out[:, i, j] = _one_point(fn, name, start, steps, hp)
    return out


def _one_point(fn: Fn, name: str, start: torch.Tensor, steps: int, hp: Hyper) -> torch.Tensor:
    """One optimizer from one point, as a notebook writes it: (steps+1, 3) of x, y, loss."""
    xy = start.clone().requires_grad_(True)
    opt, path = make_optimizer(name, [{"params": [xy]}], hp), []
    for _ in range(steps):
        opt.zero_grad()
        loss = fn(xy[0], xy[1])
        path.append(torch.stack([xy[0], xy[1], loss]).detach().clone())
        loss.backward()
        if hp.clip == "norm":
            torch.nn.utils.clip_grad_norm_([xy], hp.clip_at)
        elif hp.clip == "value":
            torch.nn.utils.clip_grad_value_([xy], hp.clip_at)
        opt.step()
    with torch.no_grad():
        path.append(torch.stack([xy[0], xy[1], fn(xy[0], xy[1])]))
    return torch.stack(path).double()


def path_table(rec: np.ndarray, names: Sequence[str], starts: Sequence[int], box: Box) -> pd.DataFrame:
    """Long form of a (steps+1, trajectory, 3) record whose trajectory i is optimizer ``names[i]`` from start
    ``starts[i]``, with step size and status per row."""
    steps, n, _ = rec.shape
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.linalg.norm(np.diff(rec[..., :2], axis=0), axis=-1)
    size = np.concatenate([np.full((1, n), np.nan), size])
    x, y, loss = (rec[..., k].ravel() for k in range(3))
    return pd.DataFrame({
        "optimizer": np.tile(np.asarray(names), steps), "start": np.tile(np.asarray(starts), steps),
        "step": np.repeat(np.arange(steps), n), "x": x, "y": y, "loss": loss, "step_size": size.ravel(),
        "status": status(x, y, loss, box),
    })


def fates(paths: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per trajectory: the first step outside the box, the first non-finite step, and the end point."""
    def first(s: pd.Series, value: str) -> float:
        """The step of the first row whose status is ``value`` (nan if none)."""
        hits = s.index[s == value]
        return float(paths.at[hits[0], "step"]) if len(hits) else np.nan

    rows = []
    for key, g in paths.groupby(list(by), sort=False):
        last = g.iloc[-1]
        rows.append({**dict(zip(by, key, strict=True)), "first_outside": first(g["status"], "outside"),
                     "first_nonfinite": first(g["status"], "nonfinite"),
                     "final_x": last["x"], "final_y": last["y"], "final_loss": last["loss"]})
    return pd.DataFrame(rows)
