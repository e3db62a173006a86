"""Histograms of a deep MLP's activations at chosen layers, pre-binned so a page's payload stays small.

The classic picture: with too small weights every unit collapses towards 0; with too large ones a
bounded activation such as tanh piles up at +-1, where f' is about 0 and the gradient stops.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from stabviz.nets import activation, value_and_derivative

HIST_BINS = 40  # bins per histogram
SATURATED = 0.05  # a unit counts as saturated where |f'(h)| is below this (as on the activations page)
BOUND_PROBE = 1e6  # f is evaluated out to +-this to find its bounds
UNBOUNDED = 1e3  # a bound beyond this counts as none
SPREAD = 4.0  # unbounded sides of the bins reach this many first-layer rms values


def output_bounds(name: str) -> tuple[float, float]:
    """The range (lo, hi) of the activation's outputs, -inf / inf where it is unbounded."""
    x = torch.cat([torch.linspace(-50, 50, 20_001, dtype=torch.float64),
                   torch.tensor([-BOUND_PROBE, BOUND_PROBE], dtype=torch.float64)])
    y = activation(name)(x)
    lo, hi = float(y.min()), float(y.max())
    return (lo if lo > -UNBOUNDED else -math.inf), (hi if hi < UNBOUNDED else math.inf)


def bin_range(name: str, first: torch.Tensor) -> tuple[float, float]:
    """Bins reach the activation's own bound on each side where it has one, else SPREAD rms of the first layer's
    outputs."""
    lo, hi = output_bounds(name)
    a = first.double()
    a = a[torch.isfinite(a)]
    rms = float(a.square().mean().sqrt()) if a.numel() else math.nan
    spread = SPREAD * rms if math.isfinite(rms) and rms > 0 else 1.0
    return (lo if math.isfinite(lo) else -spread), (hi if math.isfinite(hi) else spread)


def _layer_hist(a: torch.Tensor, d: torch.Tensor, lo: float, hi: float, layer: int) -> tuple[pd.DataFrame, dict]:
    """Bin counts of one layer's outputs a, and its summary (rms, saturated, outside, non-finite fractions)."""
    a = a.double().flatten()
    finite = torch.isfinite(a)
    inside = finite & (a >= lo) & (a <= hi)
    counts = torch.histc(a[inside], bins=HIST_BINS, min=lo, max=hi).cpu().numpy()
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    total = a.numel()
    table = pd.DataFrame({"layer": layer, "bin_lo": edges[:-1], "bin_hi": edges[1:],
                          "count": counts.astype(np.int64), "fraction": counts / total})
    summary = {
        "layer": layer,
        "rms": float(a.square().mean().sqrt()),
        "saturated": float((d.double().abs() < SATURATED).double().mean()),
        "outside": float((finite & ~inside).double().mean()),
        "nonfinite": float((~finite).double().mean()),
    }
    return table, summary


def histograms(model: nn.Sequential, x: torch.Tensor, outputs: dict[int, torch.Tensor], name: str,
               layers: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Histograms of the post-activations at ``layers`` (shared bins per network) and their summaries."""
    lo, hi = bin_range(name, outputs[1])
    linears = [m for m in model if isinstance(m, nn.Linear)]
    tables, summaries = [], []
    for layer in layers:
        with torch.no_grad():
            h = linears[layer - 1](x if layer == 1 else outputs[layer - 1])
        table, summary = _layer_hist(outputs[layer], value_and_derivative(name, h)[1], lo, hi, layer)
        tables.append(table)
        summaries.append(summary)
    return pd.concat(tables, ignore_index=True), pd.DataFrame(summaries)
