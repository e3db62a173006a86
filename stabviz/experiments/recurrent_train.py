"""Learning a long dependency: the cells trained on the adding problem (Hochreiter & Schmidhuber 1997).

Each sequence holds T pairs (value ~ U(0, 1), marker); exactly two markers are 1, one in each
half, and the target is the sum of the two marked values. Always predicting the mean, 1, scores
MSE = Var(X1 + X2) = 2/12 = 1/6 ~ 0.167 (chance level): a model beats it only by carrying the first
marked value across about T/2 steps. Trained with torch.optim.Adam on torch.nn's MSE loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

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
TRAIN_USES = (
    "cells", "train_len", "hidden", "batch", "init", "radius", "forget_bias", "steps", "lr", "clip", "clip_norm",
    "seed", "device", "dtype",
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


def _train_cell(p: Params, name: str, held_out: tuple[torch.Tensor, torch.Tensor],
                report: Callable[[int], None]) -> tuple[list, list]:
    """Adam steps on fresh batches (the same batches for every cell); per-step loss and gradient norm."""
    model, dev = build_model(p, name), device(p.device)
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    data, every = generator(p.seed + DATA_SEED, dev), max(1, p.steps // EVAL_POINTS)
    losses, evals = [], [(name, 0, _eval_loss(model, *held_out))]
    for step in range(1, p.steps + 1):
        x, y = adding_batch(p.batch, p.train_len, data, dtype(p.dtype), dev)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), p.clip_norm if p.clip else math.inf)
        opt.step()
        losses.append((name, step, float(loss.detach()), float(norm)))
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
    tables = {
        "train_loss": pd.DataFrame(losses, columns=["cell", "step", "loss", "grad_norm"]),
        "train_eval": pd.DataFrame(evals, columns=["cell", "step", "loss"]),
    }
    return Result(tables, findings)


def train_work(p: Params) -> float:
    """Multiply-adds of training and evaluating every cell (forward + backward, 3x a forward)."""
    per_step = float(gate_blocks(p.cells) * p.hidden * (INPUT_SIZE + p.hidden))
    train_macs = p.steps * p.train_len * (3 * per_step * p.batch + STEP_OVERHEAD * len(p.cells))
    return train_macs + (EVAL_POINTS + 1) * p.train_len * per_step * EVAL_BATCH
