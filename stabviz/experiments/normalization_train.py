"""Batch size and normalization: BatchNorm's statistics noise, its train/eval mismatch, a short training run.

BatchNorm normalizes with the batch's mean and variance, estimates from B samples: a sample's
output moves with its batch mates by about sqrt((1 + z²/2) / B) (delta method; z its standardized
value, so sqrt(1.5 / B) on average). At evaluation the running averages replace them, and the
same gap separates train-mode from eval-mode outputs. LayerNorm, GroupNorm, InstanceNorm and
RMSNorm use one sample only: both gaps are exactly 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import torch
from torch import nn

from stabviz.experiments import Progress, Result
from stabviz.experiments.normalization_nets import BATCH_FREE, NetSpec, applicable, build, norm_layer
from stabviz.mlp import init_weight
from stabviz.runtime import device, generator

if TYPE_CHECKING:
    from stabviz.experiments.normalization import Params

NOISE_BATCHES = (2, 4, 8, 16, 32, 64, 128, 256)  # batch sizes of the statistics-noise study
BATCH_CHOICES = tuple(str(b) for b in NOISE_BATCHES)
TRIALS = 32  # batches drawn per batch size
WARMUP = 50  # train-mode batches that fill BatchNorm's running statistics
MOMENTUM = 0.1  # torch's default BatchNorm momentum
IN_DIM, CLASSES, N_TRAIN, N_TEST = 16, 4, 512, 512  # the synthetic classification task
CURVE_POINTS = 50  # loss points kept per training run
LR_BATCH = 32  # the learning rate is given for this batch size and scaled linearly (Goyal et al. 2017)
STEP_COST = 3e5  # one SGD step's fixed Python and optimizer overhead, counted as multiply-adds
DATA_SEED_OFFSET = 2**31  # the data's generator never shares a seed with the nets' (seeds stop at 2**31 - 1)
NOISE_USES = ("norms", "groups", "width", "seed", "device")
TRAIN_USES = (
    "train_norms", "groups", "placement", "residual", "activation", "width", "train_depth", "batches", "epochs", "lr",
    "seed", "device",
)


def _norm(p: Params, name: str) -> nn.Module:
    """One normalization layer over ``width`` features, in float64."""
    spec = NetSpec("mlp", 1, p.width, name, p.groups, "post", False, "relu", "normal")
    return norm_layer(spec).to(torch.float64)


def _population(p: Params, g: torch.Generator, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean ~ N(0, 1) and std ~ exp(N(0, 0.5²)): features as a hidden layer would give them."""
    mu = torch.randn(p.width, generator=g, device=dev, dtype=torch.float64)
    sigma = torch.exp(0.5 * torch.randn(p.width, generator=g, device=dev, dtype=torch.float64))
    return mu, sigma


def _draw(shape: tuple[int, ...], mu: torch.Tensor, sigma: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Samples of the feature population."""
    return mu + sigma * torch.randn(*shape, mu.numel(), generator=g, device=mu.device, dtype=torch.float64)


def train_noise(module: nn.Module, probe: torch.Tensor, b: int, mu: torch.Tensor, sigma: torch.Tensor,
                g: torch.Generator) -> float:
    """RMS over features of the std, across batches, of one fixed sample's train-mode output."""
    mates = _draw((TRIALS, b - 1), mu, sigma, g)
    module.train()
    with torch.no_grad():
        outs = torch.stack([module(torch.cat([probe, m]))[0] for m in mates])
    return float(outs.std(dim=0).pow(2).mean().sqrt())


def mismatch(module: nn.Module, b: int, mu: torch.Tensor, sigma: torch.Tensor, g: torch.Generator) -> float:
    """RMS gap between train-mode (batch statistics) and eval-mode (running statistics) outputs."""
    warmup, batches = _draw((WARMUP, b), mu, sigma, g), _draw((TRIALS, b), mu, sigma, g)
    module.train()
    with torch.no_grad():
        for x in warmup:
            module(x)
        train_out = torch.cat([module(x) for x in batches])
        module.eval()
        eval_out = module(batches.reshape(-1, mu.numel()))
    return float((train_out - eval_out).pow(2).mean().sqrt())


def noise_theory() -> pd.DataFrame:
    """Delta-method prediction sqrt(1.5 / B) for both gaps (running estimates add a factor 1 + m/(2 - m))."""
    rows = [{"batch": b, "quantity": "train_noise", "value": math.sqrt(1.5 / b)} for b in NOISE_BATCHES]
    ema = 1 + MOMENTUM / (2 - MOMENTUM)
    rows += [{"batch": b, "quantity": "mismatch", "value": math.sqrt(1.5 * ema / b)} for b in NOISE_BATCHES]
    return pd.DataFrame(rows)


def batch_noise(p: Params) -> Result:
    """Both gaps vs batch size for BatchNorm (always) and the chosen batch-free norms (MLP features, float64)."""
    dev = device(p.device)
    g = generator(p.seed, dev)
    mu, sigma = _population(p, g, dev)
    probe = _draw((1,), mu, sigma, g)
    rows = []
    for name in ("batch", *(n for n in applicable(p.norms, "mlp") if n in BATCH_FREE)):
        for b in NOISE_BATCHES:
            module = _norm(p, name).to(dev)
            rows.append({"norm": name, "batch": b, "quantity": "train_noise",
                         "value": train_noise(module, probe, b, mu, sigma, g)})
            rows.append({"norm": name, "batch": b, "quantity": "mismatch",
                         "value": mismatch(_norm(p, name).to(dev), b, mu, sigma, g)})
    return Result({"noise": pd.DataFrame(rows, columns=["norm", "batch", "quantity", "value"]),
                   "noise_theory": noise_theory()})


def noise_work(p: Params) -> float:
    """About 20 flops per feature per sample, over all draws."""
    return 20.0 * p.width * (len(p.norms) + 1) * sum(b * (2 * TRIALS + WARMUP) for b in NOISE_BATCHES)


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
    return Result({"training": pd.DataFrame(finals), "training_curves": pd.concat(curves, ignore_index=True)},
                  {"chance_accuracy": chance})


def train_work(p: Params) -> float:
    """Forward + backward of every sample of every epoch, plus each step's fixed Python/optimizer overhead."""
    per_sample = IN_DIM * p.width + p.train_depth * p.width**2 + p.width * CLASSES
    steps = sum(steps_per_run(p, int(b)) for b in p.batches)
    return len(p.train_norms) * (3.0 * per_sample * p.epochs * N_TRAIN * len(p.batches) + STEP_COST * steps)
