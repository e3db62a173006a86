"""Batch size in training: BatchNorm against the batch-free norms in a short SGD run on synthetic data.

Every batch size sees the same data, initialization and number of epochs; the learning rate is scaled
linearly with the batch size. BatchNorm's test accuracy is measured with running statistics (eval
mode) and with batch statistics of the training batch size.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import torch
from torch import nn

from stabviz.experiments import Progress, Result
from stabviz.experiments.normalization_nets import NetSpec, build
from stabviz.experiments.normalization_noise import NOISE_BATCHES
from stabviz.mlp import init_weight
from stabviz.runtime import device, generator

if TYPE_CHECKING:
    from stabviz.experiments.normalization import Params

BATCH_CHOICES = tuple(str(b) for b in NOISE_BATCHES)
IN_DIM, CLASSES, N_TRAIN, N_TEST = 16, 4, 512, 512  # the synthetic classification task
CURVE_POINTS = 50  # loss points kept per training run
LR_BATCH = 32  # the learning rate is given for this batch size and scaled linearly (Goyal et al. 2017)
STEP_COST = 3e5  # one SGD step's fixed Python and optimizer overhead, counted as multiply-adds
DATA_SEED_OFFSET = 2**31  # the data's generator never shares a seed with the nets' (seeds stop at 2**31 - 1)
TRAIN_USES = (
    "train_norms", "groups", "placement", "residual", "activation", "width", "train_depth", "batches", "epochs", "lr",
    "seed", "device",
)


def task(seed: int, dev: torch.device) -> tuple[torch.Tensor, ...]:
    """Train and test sets labelled by a random tanh teacher net (4 classes); own generator, not the nets'."""
    g = generator(seed + DATA_SEED_OFFSET, dev)
    a = torch.randn(IN_DIM, 32, generator=g, device=dev) / 4
    b = torch.randn(32, CLASSES, generator=g, device=dev)
    x = torch.randn(N_TRAIN + N_TEST, IN_DIM, generator=g, device=dev)
    y = (torch.tanh(x @ a) @ b).argmax(dim=1)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def classifier(p: Params, norm: str, g: torch.Generator, dev: torch.device) -> nn.Sequential:
    """Linear stem, ``train_depth`` blocks with the norm, linear head; Xavier-normal weights, zero biases."""
    spec = NetSpec("mlp", p.train_depth, p.width, norm,
                   p.groups, p.placement, p.residual, p.activation, "xavier_normal")
    stem, head = nn.Linear(IN_DIM, p.width), nn.Linear(p.width, CLASSES)
    for lin in (stem, head):
        init_weight(lin.weight, "xavier_normal", 1.0, g)
        nn.init.zeros_(lin.bias)
    return nn.Sequential(stem, *build(spec, g, torch.float32, dev), head).to(dev)


def steps_per_run(p: Params, b: int) -> int:
    """SGD steps of ``epochs`` passes over the training set in batches of b."""
    return p.epochs * math.ceil(N_TRAIN / b)


def fit(model: nn.Sequential, data: tuple[torch.Tensor, ...], b: int, p: Params, g: torch.Generator,
        tick: Progress) -> pd.DataFrame:
    """SGD with momentum over shuffled epochs, lr scaled linearly with b; the minibatch loss every few steps."""
    x, y = data[0], data[1]
    opt = torch.optim.SGD(model.parameters(), lr=p.lr * b / LR_BATCH, momentum=0.9)
    total = steps_per_run(p, b)
    every, rows, step = max(1, total // CURVE_POINTS), [], 0
    for _ in range(p.epochs):
        for idx in torch.randperm(N_TRAIN, generator=g, device=x.device).split(b):
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % every == 0 or step == total:
                rows.append({"epoch": step / total * p.epochs, "loss": loss.item()})
                tick(step / total)
    return pd.DataFrame(rows)


def evaluate(model: nn.Sequential, data: tuple[torch.Tensor, ...], b: int) -> dict[str, float]:
    """Test accuracy with running statistics (eval mode) and with batch statistics of size b; eval train loss."""
    model.eval()
    with torch.no_grad():
        train_loss = nn.functional.cross_entropy(model(data[0]), data[1])
        test_acc = (model(data[2]).argmax(dim=1) == data[3]).double().mean()
        model.train()
        test_batches = zip(data[2].split(b), data[3].split(b), strict=True)
        hits = torch.cat([model(xb).argmax(dim=1) == yb for xb, yb in test_batches])
    return {"train_loss": float(train_loss), "test_acc": float(test_acc),
            "test_acc_batch_stats": float(hits.double().mean())}


def training(p: Params, progress: Progress | None = None) -> Result:
    """Final loss and accuracy vs batch size per normalization: same data, init and epochs for each run."""
    dev = device(p.device)
    data = task(p.seed, dev)
    runs = [(n, int(b)) for n in p.train_norms for b in p.batches]
    weights = [steps_per_run(p, b) for _, b in runs]
    finals, curves = [], []
    for i, (norm, b) in enumerate(runs):
        g = generator(p.seed, dev)
        model = classifier(p, norm, g, dev)
        done = sum(weights[:i])
        tick = (lambda f, d=done, w=weights[i]: progress((d + f * w) / sum(weights))) if progress else (lambda f: None)
        curves.append(fit(model, data, b, p, g, tick).assign(norm=norm, batch=b))
        finals.append({"norm": norm, "batch": b, **evaluate(model, data, b)})
    chance = float(torch.bincount(data[3], minlength=CLASSES).max()) / N_TEST
    table = pd.DataFrame(finals)
    return Result({"training": table, "training_curves": pd.concat(curves, ignore_index=True)},
                  {"chance_accuracy": chance, **_batch_ends(table)})


def _batch_ends(table: pd.DataFrame) -> dict[str, float]:
    """Per norm, the test accuracy (running statistics) at the smallest and at the largest batch size."""
    out = {}
    for norm, rows in table.groupby("norm", sort=False):
        rows = rows.sort_values("batch")
        out |= {f"accuracy_smallest_batch_{norm}": float(rows["test_acc"].iloc[0]),
                f"accuracy_largest_batch_{norm}": float(rows["test_acc"].iloc[-1])}
    return out


def train_work(p: Params) -> float:
    """Forward + backward of every sample of every epoch, plus each step's fixed Python/optimizer overhead."""
    per_sample = IN_DIM * p.width + p.train_depth * p.width**2 + p.width * CLASSES
    steps = sum(steps_per_run(p, int(b)) for b in p.batches)
    return len(p.train_norms) * (3.0 * per_sample * p.epochs * N_TRAIN * len(p.batches) + STEP_COST * steps)
