"""Where a real network's gradients fall against float16 and bfloat16, with and without loss scaling.

The gradients are computed by autograd in float32 (a deep MLP from :mod:`stabviz.mlp`, or a tanh RNN from
:mod:`stabviz.rnn`), then cast to each half format to count what is lost. Loss scaling multiplies the loss by
S = 2^k before the backward pass: every gradient entry is multiplied by S exactly (a power of two only moves the
exponent), so its log2 moves by exactly k, until an entry passes float16's largest value and becomes inf.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import mse_loss

from stabviz.experiments import Result
from stabviz.experiments.mixed_precision_formats import BANDS, FORMATS, cast_bands, limits, theory_bands
from stabviz.mlp import MLPSpec, build_mlp, gaussian_inputs
from stabviz.rnn import CellSpec, seeded_cell
from stabviz.runtime import device, generator

if TYPE_CHECKING:
    from stabviz.experiments.mixed_precision import Params

NETS = ("mlp", "rnn")
BINADES = (-149, 127)  # the binades of float32's nonzero finite values, smallest subnormal to largest
SWEEP = range(-24, 65)  # the loss scales 2^k the sweep tries: the scale_exp knob's range
CAST_COST = 120.0  # multiply-add equivalents per entry and scale of the sweep's casts and counts (measured: 10.7 s
# for 89 scales of a million entries on this CPU, where the budget's 3e9 multiply-adds take 1-3 s)
ENTRY_COST = 400.0  # per gradient entry: two casts, the theory's counts in float64, the binades (8 s for 16.7M)
RNN_TENSORS = (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0"))


def net_gradients(p: Params, scale: float = 1.0) -> list[tuple[str, torch.Tensor]]:
    """(name, float32 gradient) of every weight tensor for the loss times ``scale``, input side first."""
    dev, g = device(p.device), generator(p.seed)
    if p.net == "mlp":
        model = build_mlp(MLPSpec(p.depth, p.width, p.activation, p.init, std=p.std), g, torch.float32, dev)
        x = gaussian_inputs(p.batch, p.width, g, torch.float32, dev)
        target = gaussian_inputs(p.batch, p.width, g, torch.float32, dev)
        (mse_loss(model(x), target) * scale).backward()
        linears = [m for m in model if isinstance(m, nn.Linear)]
        return [(f"W{i}", lin.weight.grad) for i, lin in enumerate(linears, start=1)]
    cell = seeded_cell(CellSpec("rnn_tanh", p.width, p.width), p.seed, torch.float32, dev)
    x = torch.randn(p.batch, p.seq_len, p.width, generator=g).to(dev)
    target = torch.randn(p.batch, p.width, generator=g).to(dev)
    out, _ = cell(x)
    (mse_loss(out[:, -1], target) * scale).backward()
    return [(name, getattr(cell, attr).grad) for name, attr in RNN_TENSORS]


def _band_rows(grads: list[tuple[str, torch.Tensor]]) -> pd.DataFrame:
    """Per tensor, format and band: entries counted by casting, and by the finfo thresholds (theory)."""
    rows = []
    for layer, (name, grad) in enumerate(grads, start=1):
        for fmt in FORMATS:
            measured, theory = cast_bands(grad, fmt), theory_bands(grad, fmt)
            total = max(1, sum(measured.values()))
            rows += [{"tensor": name, "layer": layer, "format": fmt, "band": b, "count": measured[b],
                      "share": measured[b] / total, "theory_share": theory[b] / total} for b in BANDS]
    return pd.DataFrame(rows)


def histogram(grads: list[tuple[str, torch.Tensor]]) -> pd.DataFrame:
    """Per tensor, the entries in each binade [2^e, 2^(e+1)) of |g| (e = floor(log2|g|)) as counts and shares, for
    every binade of float32 (e from -149 to 127, so that the table's shape depends on the net alone, not on its
    numbers); exact zeros as e = -inf (drawn as markers), inf and nan as their own rows."""
    lo, hi = BINADES
    edges = np.concatenate([[-np.inf], np.arange(lo, hi + 1), [np.inf, np.nan]])
    frames = []
    for layer, (name, grad) in enumerate(grads, start=1):
        a = grad.detach().reshape(-1).double().abs().cpu().numpy()
        finite = a[np.isfinite(a) & (a > 0)]
        counts = np.bincount(np.floor(np.log2(finite)).astype(int) - lo, minlength=hi - lo + 1)
        n = np.concatenate([[(a == 0).sum()], counts, [np.isinf(a).sum(), np.isnan(a).sum()]])
        frames.append(pd.DataFrame({"tensor": name, "layer": layer, "log2_bin": edges, "count": n,
                                    "share": n / a.size}))
    return pd.concat(frames, ignore_index=True)


def _log2_stats(grads: list[tuple[str, torch.Tensor]]) -> dict[str, float]:
    """log2 of the smallest, median and largest nonzero |g| over every tensor, and the share of exact zeros."""
    a = torch.cat([g.detach().reshape(-1).double().abs() for _, g in grads])
    nz = a[torch.isfinite(a) & (a > 0)]
    logs = torch.log2(nz) if nz.numel() else torch.tensor([math.nan], dtype=torch.float64)
    return {"grad_log2_min": float(logs.min()), "grad_log2_median": float(logs.median()),
            "grad_log2_max": float(logs.max()), "grad_zero_share_float32": float((a == 0).double().mean())}


def _shares(bands: pd.DataFrame, column: str) -> dict[str, dict[str, float]]:
    """format -> band -> share of every tensor's nonzero entries (weighted by the tensors' sizes)."""
    total = bands.groupby("format")["count"].sum()
    counts = (bands[column] * bands.groupby(["format", "tensor"])["count"].transform("sum")).groupby(
        [bands["format"], bands["band"]]).sum()
    return {f: {b: float(counts[(f, b)] / max(1, total[f])) for b in BANDS} for f in FORMATS}


def gradients(p: Params) -> Result:
    """The float32 gradients' binades per tensor, and the share each half format loses to 0 or inf, measured by
    casting beside the count the finfo thresholds predict."""
    grads = net_gradients(p)
    bands = _band_rows(grads)
    findings = _log2_stats(grads)
    for kind, column in (("measured", "share"), ("theory", "theory_share")):
        for fmt, share in _shares(bands, column).items():
            findings[f"lost_share_{kind}_{fmt}"] = share["zero"] + share["inf"]
            findings[f"subnormal_share_{kind}_{fmt}"] = share["subnormal"]
    first = bands[(bands["layer"] == 1) & (bands["format"] == "float16")].set_index("band")["share"]
    findings["lost_share_first_tensor_float16"] = float(first["zero"] + first["inf"])
    return Result({"bands": bands, "histogram": histogram(grads)}, findings)


def _sweep(grads: list[tuple[str, torch.Tensor]]) -> pd.DataFrame:
    """For every k of SWEEP: the share of nonzero entries of g·2^k that casting to each format sends to 0, to inf,
    or keeps only as a subnormal (g·2^k is exact in float32 while it stays in float32's normal range)."""
    flat = torch.cat([g.detach().reshape(-1) for _, g in grads])
    rows = []
    for k in SWEEP:
        scaled = flat * 2.0**k
        for fmt in FORMATS:
            bands = cast_bands(scaled, fmt)
            total = max(1, sum(bands.values()))
            rows.append({"log2_scale": k, "format": fmt, **{b: bands[b] / total for b in BANDS},
                         "lost": (bands["zero"] + bands["inf"]) / total})
    return pd.DataFrame(rows)


def _shift(plain: torch.Tensor, scaled: torch.Tensor, k: int) -> tuple[float, float]:
    """Median of log2|g_S| - log2|g| (by the binary exponents, exact) over the entries normal in float32 in both,
    and the share of those entries where g_S is not exactly 2^k·g."""
    normal = torch.finfo(torch.float32).smallest_normal
    ok = (plain.abs() >= normal) & (scaled.abs() >= normal) & torch.isfinite(plain) & torch.isfinite(scaled)
    if not bool(ok.any()):
        return math.nan, math.nan
    a, b = plain[ok].double(), scaled[ok].double()
    shift = torch.frexp(b).exponent - torch.frexp(a).exponent
    return float(shift.double().median()), float((b != a * 2.0**k).double().mean())


def scaling(p: Params) -> Result:
    """Backward of S·L (S = 2^scale_exp) beside that of L: the binades shift by log2 S, float16's losses as S
    sweeps, and the largest S that overflows nothing (theory: max|g|·S <= 65504)."""
    plain, scaled = net_gradients(p), net_gradients(p, 2.0**p.scale_exp)
    flat_plain = torch.cat([g.reshape(-1) for _, g in plain])
    flat_scaled = torch.cat([g.reshape(-1) for _, g in scaled])
    hist = pd.concat([histogram([("g", flat_plain)]).assign(scale="1"),
                      histogram([("g", flat_scaled)]).assign(scale="S")], ignore_index=True)
    sweep = _sweep(plain)
    shift, inexact = _shift(flat_plain, flat_scaled, p.scale_exp)
    fp16 = sweep[sweep["format"] == "float16"]
    largest = float(flat_plain.double().abs().max())
    at_s = cast_bands(flat_scaled, "float16")
    n = max(1, sum(at_s.values()))
    no_inf = fp16[fp16["inf"] == 0]["log2_scale"]
    best = math.floor(math.log2(limits("float16")["max"] / largest)) if 0 < largest < math.inf else math.nan
    findings = {
        "shift_log2_measured": shift, "shift_log2_theory": float(p.scale_exp), "shift_inexact_share": inexact,
        "scaled_lost_share_float16": (at_s["zero"] + at_s["inf"]) / n, "scaled_inf_share_float16": at_s["inf"] / n,
        "scaled_zero_share_float16": at_s["zero"] / n,
        "unscaled_lost_share_float16": float(fp16[fp16["log2_scale"] == 0]["lost"].iloc[0]),
        "best_scale_log2_measured": float(no_inf.max()) if len(no_inf) else math.nan,
        "best_scale_log2_theory": float(best), "grad_largest": largest,
        "best_scale_largest": largest * 2.0**best if math.isfinite(best) else math.nan,
        "min_lost_share_float16": float(fp16["lost"].min()),
    }
    return Result({"scaled_histogram": hist, "scale_sweep": sweep}, findings)


def _backward_work(p: Params) -> tuple[float, float]:
    """(weights of the net, multiply-adds of one forward and backward pass)."""
    weights = p.depth * p.width**2 if p.net == "mlp" else 2 * p.width**2 + 2 * p.width
    return weights, 3.0 * p.batch * (1 if p.net == "mlp" else p.seq_len) * weights


def grads_work(p: Params) -> float:
    """Multiply-adds of one forward and backward pass, and of casting, counting and binning every entry."""
    weights, backward = _backward_work(p)
    return backward + ENTRY_COST * weights


def scaling_work(p: Params) -> float:
    """Two backward passes and the sweep's casts of every entry, per scale and format."""
    weights, backward = _backward_work(p)
    return 2 * backward + CAST_COST * len(SWEEP) * weights
