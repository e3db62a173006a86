"""Learning a long dependency: the cells trained on the adding problem (Hochreiter & Schmidhuber 1997).

Each sequence holds T pairs (value ~ U(0, 1), marker); exactly two markers are 1, one in each
half, and the target is the sum of the two marked values. Always predicting the mean, 1, scores
MSE = Var(X1 + X2) = 2/12 = 1/6 ~ 0.167 (chance level): a model beats it only by carrying the first
marked value across about T/2 steps. Trained with torch.optim.Adam (or plain SGD, where an exploding
gradient turns straight into an exploding step) on torch.nn's MSE loss, the gradient optionally clipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from stabviz.experiments import Progress, Result
from stabviz.rnn import fill_uniform, gate_blocks, seeded_cell, spec_of
from stabviz.runtime import device, dtype, generator

if TYPE_CHECKING:
    from stabviz.experiments.recurrent import Params

ADDING_BASELINE = 1 / 6  # Var(U1 + U2) for two independent U(0, 1): the MSE of predicting the mean
INPUT_SIZE = 2  # (value, marker) at each step
EVAL_BATCH = 256  # held-out sequences for the evaluation loss
EVAL_POINTS = 20  # evaluations per training run (plus one before the first step)
DATA_SEED, EVAL_SEED, READOUT_SEED = 101, 202, 303  # offsets from the seed: data independent of the weights
STEP_OVERHEAD = 1e4  # multiply-add equivalent of the fixed cost of one time step in a fused torch.nn call
OPTIMIZERS = ("adam", "sgd")  # torch.optim.Adam, torch.optim.SGD (no momentum)
TRAIN_USES = (
    "cells", "train_len", "hidden", "batch", "init", "radius", "forget_bias", "std", "bias", "update_bias",
    "steps", "lr", "clip", "clip_norm", "optimizer", "seed", "device", "dtype",
)


def adding_batch(batch: int, length: int, g: torch.Generator, dt: torch.dtype,
                 dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (batch, length, 2) and targets (batch,): one marker in each half, target = sum of the marked values."""
    values = torch.rand(batch, length, generator=g, device=dev)
    first = torch.randint(0, length // 2, (batch,), generator=g, device=dev)
    second = torch.randint(length // 2, length, (batch,), generator=g, device=dev)
    marks = torch.zeros_like(values)
    rows = torch.arange(batch, device=dev)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    return torch.stack([values, marks], dim=-1).to(dt), (values * marks).sum(1).to(dt)


class AddingModel(nn.Module):
    """A recurrent cell read out by a linear layer at the last step."""

    def __init__(self, cell: nn.RNNBase, readout: nn.Linear) -> None:
        super().__init__()
        self.cell, self.readout = cell, readout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.cell(x)[0][:, -1]).squeeze(-1)


def build_model(p: Params, name: str) -> AddingModel:
    """The cell as the page's params ask for it, on 2 inputs, with the same readout weights for every cell."""
    dev, dt = device(p.device), dtype(p.dtype)
    readout = nn.Linear(p.hidden, 1, device="meta").to_empty(device=dev)
    fill_uniform(readout, 1 / math.sqrt(p.hidden), generator(p.seed + READOUT_SEED, dev))
    return AddingModel(seeded_cell(spec_of(p, name, INPUT_SIZE), p.seed, dt, dev), readout.to(dt))


def _eval_loss(model: AddingModel, x: torch.Tensor, y: torch.Tensor) -> float:
    """MSE on the held-out set, without gradients."""
    with torch.no_grad():
        return float(F.mse_loss(model(x), y))


def _optimizer(p: Params, model: nn.Module) -> torch.optim.Optimizer:
    """The chosen torch.optim optimizer at the page's learning rate."""
    return (torch.optim.Adam if p.optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=p.lr)


def _train_cell(p: Params, name: str, held_out: tuple[torch.Tensor, torch.Tensor],
                report: Callable[[int], None]) -> tuple[list, list]:
    """Optimizer steps on fresh batches (the same for every cell); per step the loss, the gradient norm before
    clipping and the norm of the gradient the step used."""
    model, dev = build_model(p, name), device(p.device)
    opt = _optimizer(p, model)
    data, every = generator(p.seed + DATA_SEED, dev), max(1, p.steps // EVAL_POINTS)
    losses, evals = [], [(name, 0, _eval_loss(model, *held_out))]
    for step in range(1, p.steps + 1):
        x, y = adding_batch(p.batch, p.train_len, data, dtype(p.dtype), dev)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), p.clip_norm if p.clip else math.inf)
        used = nn.utils.get_total_norm([w.grad for w in model.parameters()])  # what the step uses
        opt.step()
        losses.append((name, step, float(loss.detach()), float(norm), float(used)))
        if step % every == 0 or step == p.steps:
            evals.append((name, step, _eval_loss(model, *held_out)))
            report(step)
    return losses, evals


def train(p: Params, progress: Progress | None = None) -> Result:
    """Train every chosen cell on the adding problem; loss curves beside the chance level 1/6."""
    dev = device(p.device)
    held_out = adding_batch(EVAL_BATCH, p.train_len, generator(p.seed + EVAL_SEED, dev), dtype(p.dtype), dev)
    losses, evals = [], []
    for i, name in enumerate(p.cells):
        def report(step: int, i: int = i) -> None:
            if progress is not None:
                progress((i * p.steps + step) / (len(p.cells) * p.steps))
        cell_losses, cell_evals = _train_cell(p, name, held_out, report)
        losses, evals = losses + cell_losses, evals + cell_evals
    findings = {"baseline_mse": ADDING_BASELINE,
                "baseline_measured": float(F.mse_loss(torch.ones_like(held_out[1]), held_out[1]))}
    findings |= {f"final_loss_{name}": loss for name, _, loss in evals}  # the last evaluation of each cell wins
    table = pd.DataFrame(losses, columns=["cell", "step", "loss", "grad_norm", "used_norm"])
    findings |= _clip_findings(p, table)
    tables = {
        "train_loss": table,
        "train_eval": pd.DataFrame(evals, columns=["cell", "step", "loss"]),
    }
    return Result(tables, findings)


def _clip_findings(p: Params, table: pd.DataFrame) -> dict[str, float]:
    """Per cell: the largest finite gradient norm before and after clipping, the share of steps clipped, and
    the steps whose gradient norm was inf or nan (an exploded run)."""
    out = {}
    for name, rows in table.groupby("cell", sort=False):
        raw, used = rows["grad_norm"], rows["used_norm"]
        finite = np.isfinite(raw)
        out[f"max_grad_norm_{name}"] = float(raw[finite].max()) if finite.any() else math.nan
        out[f"max_used_norm_{name}"] = float(used[np.isfinite(used)].max()) if np.isfinite(used).any() else math.nan
        out[f"clipped_share_{name}"] = float((raw > p.clip_norm).mean()) if p.clip else 0.0
        out[f"nonfinite_steps_{name}"] = int((~finite).sum())
    return out


def train_work(p: Params) -> float:
    """Multiply-adds of training and evaluating every cell (forward + backward, 3x a forward)."""
    per_step = float(gate_blocks(p.cells) * p.hidden * (INPUT_SIZE + p.hidden))
    train_macs = p.steps * p.train_len * (3 * per_step * p.batch + STEP_OVERHEAD * len(p.cells))
    return train_macs + (EVAL_POINTS + 1) * p.train_len * per_step * EVAL_BATCH
