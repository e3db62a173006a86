"""Batch size and normalization: BatchNorm's statistics noise and train/eval mismatch, and the axes each norm uses.

BatchNorm normalizes with the batch's mean and variance, estimates from n values per unit (n = B for an
MLP feature, B·H·W for a conv channel): a sample's output moves with its batch mates by about
sqrt((1 + z²/2) / n) (delta method; z its standardized value, so sqrt(1.5 / n) on average). At
evaluation the running averages replace them, and the same gap separates train-mode from eval-mode
outputs. LayerNorm ([C,H,W]), GroupNorm ([C/G,H,W]), InstanceNorm ([H,W]) and RMSNorm use one
sample only: both gaps are exactly 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from stabviz.experiments import Result
from stabviz.experiments.normalization_nets import BATCH_FREE, NetSpec, applicable, groups_used, norm_layer
from stabviz.runtime import device, generator

if TYPE_CHECKING:
    from stabviz.experiments.normalization import Params

NOISE_BATCHES = (2, 4, 8, 16, 32, 64, 128, 256)  # batch sizes of the statistics-noise study
TRIALS = 32  # batches drawn per batch size
WARMUP = 50  # train-mode batches that fill BatchNorm's running statistics
MOMENTUM = 0.1  # torch's default BatchNorm momentum
FIT_FROM = 16  # batch sizes from here on are compared with the delta-method theory (it neglects O(1/B) terms)
CALL_COST = 5e4  # one small module call's fixed Python overhead, counted as multiply-adds (it dominates here)
AXES_BATCH = 16  # samples in the batch whose normalized axes are checked (conv net)
AXES = {"batch": "N,H,W", "layer": "C,H,W", "instance": "H,W", "group": "C/G,H,W"}  # what each norm averages over
QUANTITIES = ("train_noise", "mismatch")
NOISE_USES = ("arch", "norms", "groups", "width", "channels", "size", "seed", "device")


def feature_shape(p: Params) -> tuple[int, ...]:
    """One sample's shape: (width,) for the MLP, (channels, size, size) for the conv net."""
    return (p.channels, p.size, p.size) if p.arch == "conv" else (p.width,)


def _norm(p: Params, name: str) -> nn.Module:
    """One normalization layer over the page's features, in float64."""
    conv = p.arch == "conv"
    spec = NetSpec(p.arch, 1, p.channels if conv else p.width, name, p.groups, "post", False, "relu", "normal",
                   size=p.size)
    return norm_layer(spec).to(torch.float64)


def _population(p: Params, g: torch.Generator, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit (feature or channel) mean ~ N(0, 1) and std ~ exp(N(0, 0.5²)), as a hidden layer gives them."""
    units, extra = feature_shape(p)[0], (1,) * (len(feature_shape(p)) - 1)
    mu = torch.randn(units, generator=g, device=dev, dtype=torch.float64)
    sigma = torch.exp(0.5 * torch.randn(units, generator=g, device=dev, dtype=torch.float64))
    return mu.reshape(units, *extra), sigma.reshape(units, *extra)


def _draw(shape: tuple[int, ...], mu: torch.Tensor, sigma: torch.Tensor, g: torch.Generator,
          features: tuple[int, ...]) -> torch.Tensor:
    """Samples of the population: ``shape`` leading dimensions, then one sample's ``features``."""
    noise = torch.randn(*shape, *features, generator=g, device=mu.device, dtype=torch.float64)
    return mu + sigma * noise


def train_noise(module: nn.Module, probe: torch.Tensor, mates: torch.Tensor) -> float:
    """RMS over a sample's values of the std, across batches, of its train-mode output (``mates``: trials x b-1)."""
    module.train()
    with torch.no_grad():
        outs = torch.stack([module(torch.cat([probe, m]))[0] for m in mates])
    return float(outs.std(dim=0).pow(2).mean().sqrt())


def mismatch(module: nn.Module, warmup: torch.Tensor, batches: torch.Tensor) -> float:
    """RMS gap between train-mode (batch statistics) and eval-mode (running statistics) outputs."""
    module.train()
    with torch.no_grad():
        for x in warmup:
            module(x)
        train_out = torch.cat([module(x) for x in batches])
        module.eval()
        eval_out = module(batches.flatten(0, 1))
    return float((train_out - eval_out).pow(2).mean().sqrt())


def values_per_unit(p: Params) -> int:
    """How many values of one sample enter one BatchNorm statistic: 1 (MLP) or H·W (conv)."""
    return p.size**2 if p.arch == "conv" else 1


def noise_theory(per_sample: int = 1) -> pd.DataFrame:
    """Delta-method prediction sqrt(1.5 / (B·per_sample)) for both gaps (running estimates add 1 + m/(2 - m))."""
    ema = 1 + MOMENTUM / (2 - MOMENTUM)
    rows = [{"batch": b, "quantity": q, "value": math.sqrt(1.5 * (ema if q == "mismatch" else 1) / (b * per_sample))}
            for q in QUANTITIES for b in NOISE_BATCHES]
    return pd.DataFrame(rows)


def _gaps(p: Params, name: str, b: int, pop: tuple[torch.Tensor, torch.Tensor], probe: torch.Tensor,
          g: torch.Generator) -> list[dict]:
    """Both gaps of one norm at batch size b (a fresh layer for each)."""
    feats, dev = feature_shape(p), probe.device
    noise = train_noise(_norm(p, name).to(dev), probe, _draw((TRIALS, b - 1), *pop, g, feats))
    warmup, batches = _draw((WARMUP, b), *pop, g, feats), _draw((TRIALS, b), *pop, g, feats)
    gap = mismatch(_norm(p, name).to(dev), warmup, batches)
    return [{"norm": name, "batch": b, "quantity": "train_noise", "value": noise},
            {"norm": name, "batch": b, "quantity": "mismatch", "value": gap}]


def _noise_findings(table: pd.DataFrame, theory: pd.DataFrame) -> dict[str, float]:
    """From B = 16 on: BatchNorm's log-log slope (theory -1/2) and largest relative gap to the theory line;
    the batch-free norms' largest gap (theory exactly 0)."""
    bn = table[table["norm"] == "batch"].merge(theory, on=["batch", "quantity"], suffixes=("", "_theory"))
    out: dict[str, float] = {"slope_theory": -0.5}
    for q, rows in bn[bn["batch"] >= FIT_FROM].groupby("quantity", sort=False):
        out[f"{q}_slope_batch"] = float(np.polyfit(np.log(rows["batch"]), np.log(rows["value"]), 1)[0])
        out[f"{q}_fit_error_batch"] = float((rows["value"] / rows["value_theory"] - 1).abs().max())
    for name, rows in table[table["norm"] != "batch"].groupby("norm", sort=False):
        out[f"gap_max_{name}"] = float(rows["value"].max())
    return out


def _over(y: torch.Tensor, axes: str, groups: int, stat: str) -> torch.Tensor:
    """Mean or (biased) variance of a conv output (N, C, H, W) over the axes one norm averages over."""
    if axes == "group":
        y, dims = y.reshape(y.shape[0], groups, -1), (2,)
    else:
        dims = {"batch": (0, 2, 3), "layer": (1, 2, 3), "instance": (2, 3)}[axes]
    return y.mean(dim=dims) if stat == "mean" else y.var(dim=dims, unbiased=False)


def axes_check(p: Params, pop: tuple[torch.Tensor, torch.Tensor], g: torch.Generator) -> pd.DataFrame:
    """Per norm of the conv net: the largest |mean| of its output over each norm's axes (0 on its own and on every
    coarser grouping), and the largest |variance - 1| over its own axes."""
    x, groups = _draw((AXES_BATCH,), *pop, g, feature_shape(p)), groups_used(p.channels, p.groups)
    rows = []
    for name in ("batch", *(n for n in applicable(p.norms, "conv") if n in AXES and n != "batch")):
        with torch.no_grad():
            y = _norm(p, name).to(x.device).train()(x)
        means = {f"mean_{a}": float(_over(y, a, groups, "mean").abs().max()) for a in AXES}
        rows.append({"norm": name, "axes": AXES[name], **means,
                     "var_error": float((_over(y, name, groups, "var") - 1).abs().max())})
    return pd.DataFrame(rows)


def batch_noise(p: Params) -> Result:
    """Both gaps vs batch size for BatchNorm (always) and the chosen batch-free norms (float64); on the conv
    net also the axes each norm standardizes."""
    dev = device(p.device)
    g = generator(p.seed, dev)
    pop = _population(p, g, dev)
    probe = _draw((1,), *pop, g, feature_shape(p))
    names = ("batch", *(n for n in applicable(p.norms, p.arch) if n in BATCH_FREE))
    rows = [row for name in names for b in NOISE_BATCHES for row in _gaps(p, name, b, pop, probe, g)]
    table = pd.DataFrame(rows, columns=["norm", "batch", "quantity", "value"])
    theory = noise_theory(values_per_unit(p))
    tables, findings = {"noise": table, "noise_theory": theory}, _noise_findings(table, theory)
    if p.arch == "conv":
        axes = axes_check(p, pop, g)
        tables["noise_axes"] = axes
        for row in axes.to_dict("records"):
            name = row["norm"]
            findings |= {f"axes_mean_{name}": row[f"mean_{name}"], f"axes_var_{name}": row["var_error"]}
    return Result(tables, findings)


def noise_work(p: Params) -> float:
    """About 20 flops per value per sample over all draws, plus each module call's fixed cost."""
    values, calls = math.prod(feature_shape(p)), len(NOISE_BATCHES) * (2 * TRIALS + WARMUP + 1)
    return (len(p.norms) + 1) * (20.0 * values * sum(b * (2 * TRIALS + WARMUP) for b in NOISE_BATCHES)
                                 + CALL_COST * calls)
