"""Gradient descent with MSE beside cross-entropy: a sigmoid neuron and free softmax logits.

Every start and both losses are one batch: tensors of shape (loss, start, ...), where each
(loss, start) entry is an independent problem, so the gradient of the summed loss is each
problem's own gradient. Gradients come from autograd and steps from ``torch.optim.SGD``; the
closed-form gradients (the theory) live here too, clearly apart, for the tables beside them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from stabviz.experiments import Progress

FIT_GAP = 0.1  # a problem counts as fitted once the target's predicted probability is within this of it
MAX_RECORD = 200  # at most about this many recorded steps (linear and logarithmic spacing merged)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, target) -> loss per problem


def sigmoid_mse(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared error of a sigmoid output, per element."""
    return F.mse_loss(torch.sigmoid(z), y, reduction="none")


def sigmoid_bce(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on the logit (the stable BCEWithLogits), per element."""
    return F.binary_cross_entropy_with_logits(z, y, reduction="none")


def softmax_mse(z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """Squared error between softmax(z) and the one-hot target, summed over classes."""
    return F.mse_loss(torch.softmax(z, dim=-1), onehot, reduction="none").sum(-1)


def softmax_ce(z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of logits against a one-hot target (torch's CrossEntropyLoss), per row."""
    flat = F.cross_entropy(z.reshape(-1, z.shape[-1]), onehot.reshape(-1, z.shape[-1]), reduction="none")
    return flat.reshape(z.shape[:-1])


NEURON_LOSSES: dict[str, LossFn] = {"mse": sigmoid_mse, "bce": sigmoid_bce}
SOFTMAX_LOSSES: dict[str, LossFn] = {"mse": softmax_mse, "ce": softmax_ce}


def neuron_dz_theory(name: str, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Theory: dBCE/dz = y_hat - y; dMSE/dz = 2 (y_hat - y) y_hat (1 - y_hat), sigmoid' shrinking it."""
    return y_hat - y if name == "bce" else 2 * (y_hat - y) * y_hat * (1 - y_hat)


def softmax_dz_theory(name: str, p: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """Theory: dCE/dz = p - onehot; dMSE/dz = J 2(p - onehot), J = diag(p) - p p^T the softmax Jacobian."""
    if name == "ce":
        return p - onehot
    r = 2 * (p - onehot)
    return p * r - p * (p * r).sum(-1, keepdim=True)


def dz_autograd(fn: LossFn, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """dL/dz of every problem at once, by autograd (problems are independent, so grad of the sum)."""
    z = z.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(z, target).sum(), z)
    return grad


def record_steps(steps: int) -> np.ndarray:
    """Steps kept in the tables: all of them for short runs, else linear plus logarithmic spacing."""
    if steps <= MAX_RECORD:
        return np.arange(steps + 1)
    half = MAX_RECORD // 2
    kept = np.concatenate([[0], np.linspace(0, steps, half), np.geomspace(1, steps, half)])
    return np.unique(np.round(kept).astype(int))


def _grad_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Euclidean norm of each problem's gradient over all its parameters, shape (loss, start)."""
    return sum(t.grad.pow(2).reshape(*t.shape[:2], -1).sum(-1) for t in tensors).sqrt()


def _snapshot(step: int, loss: torch.Tensor, tensors: list[torch.Tensor]) -> dict:
    """Copies of the step's loss, gradient norm and parameter values (what the tables are built from)."""
    return {"step": step, "loss": loss.detach().clone(), "grad_norm": _grad_norm(tensors),
            "values": [t.detach().clone() for t in tensors]}


Objective = Callable[[], tuple[torch.Tensor, torch.Tensor]]  # () -> (loss, gap), each (loss, start)


def descend(tensors: list[torch.Tensor], objective: Objective, lr: float, steps: int,
            progress: Progress | None = None) -> tuple[list[dict], torch.Tensor]:
    """Plain gradient descent (torch.optim.SGD); snapshots at the recorded steps and each problem's fit step."""
    opt = torch.optim.SGD(tensors, lr=lr)
    keep = set(record_steps(steps).tolist())
    fit_step = torch.full(tensors[0].shape[:2], float("nan"), dtype=torch.float64, device=tensors[0].device)
    snaps, every = [], max(1, steps // 20)
    for step in range(steps + 1):
        opt.zero_grad()
        loss, gap = objective()
        loss.sum().backward()
        fit_step[(gap < FIT_GAP) & fit_step.isnan()] = step
        if step in keep:
            snaps.append(_snapshot(step, loss, tensors))
        if step < steps:
            opt.step()
        if progress is not None and (step % every == 0 or step == steps):
            progress(step / max(steps, 1))
    return snaps, fit_step


def long_frame(names: tuple[str, ...], steps: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A tidy frame from arrays of shape (recorded step, loss, start): one row per step, loss and start."""
    shape = next(iter(columns.values())).shape
    grid = np.meshgrid(steps, np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    frame = pd.DataFrame({"step": grid[0].ravel(), "loss": np.asarray(names)[grid[1].ravel()],
                          "start": grid[2].ravel()})
    for key, value in columns.items():
        frame[key] = value.reshape(-1)
    return frame


def stack(snaps: list[dict], key: str, index: int | None = None) -> np.ndarray:
    """One snapshot field over the recorded steps, as a numpy array with the step first."""
    return torch.stack([s[key] if index is None else s[key][index] for s in snaps]).cpu().numpy()


def summary_frame(names: tuple[str, ...], snaps: list[dict], fit_step: torch.Tensor) -> pd.DataFrame:
    """Per loss and start: loss and gradient norm at the start and the end, and the step where it fitted."""
    first, last = snaps[0], snaps[-1]
    frame = long_frame(names, np.zeros(1, dtype=int), {
        "loss_start": first["loss"][None].cpu().numpy(), "loss_end": last["loss"][None].cpu().numpy(),
        "grad_start": first["grad_norm"][None].cpu().numpy(), "grad_end": last["grad_norm"][None].cpu().numpy(),
        "fit_step": fit_step[None].numpy(),
    })
    return frame.drop(columns="step")


def fit_findings(prefix: str, names: tuple[str, ...], fit_step: torch.Tensor, snaps: list[dict]) -> dict:
    """Per loss: starts fitted, the slowest fit (nan if one never fits), |grad| at the worst start's first step."""
    out = {}
    for i, name in enumerate(names):
        steps, worst = fit_step[i].cpu(), int(snaps[0]["loss"][i].argmax())
        out[f"{prefix}_{name}_fitted"] = int((~steps.isnan()).sum())
        out[f"{prefix}_{name}_slowest_fit"] = float(steps.max()) if not steps.isnan().any() else float("nan")
        out[f"{prefix}_{name}_grad_worst_start"] = float(snaps[0]["grad_norm"][i, worst])
    return out
