"""Weight initialization: how the variance of signals and gradients travels through a deep MLP.

Each scheme sets the weights with torch.nn.init; one forward/backward pass measures, layer by layer,
the second moment of the pre-activations and of dL/d(pre-activation) (autograd). Beside it, the
mean-field theory multiplies the variance per layer by n Var(w) times the activation's gain factor
(see initialization_theory). A sweep over depth and sigma_w = std * sqrt(n) maps where gradients
neither vanish nor explode, with the mean-field critical point chi_1 = 1 as theory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Finding, Result, Section
from stabviz.experiments import initialization_theory as theory
from stabviz.experiments.initialization_fans import fans, fans_work
from stabviz.experiments.initialization_hist import histograms
from stabviz.experiments.initialization_sweep import ELEMENTWISE, streams, sweep, sweep_work
from stabviz.mlp import INITS, MLPSpec, build_mlp, layer_stats, weight_variance
from stabviz.nets import activation_param
from stabviz.params import ParamsBase, param
from stabviz.runtime import device_param, dtype_param, generator, seed_param

MAX_HIST_LAYERS = 8  # histogram panels per scheme
MAX_DEPTH = 200  # deepest network of the per-layer section


def _check_layers(text: str) -> None:
    """Histogram layers: comma-separated whole numbers 1..MAX_DEPTH, at most MAX_HIST_LAYERS of them."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not words or len(words) > MAX_HIST_LAYERS or not all(w.isdigit() and 1 <= int(w) <= MAX_DEPTH for w in words):
        raise ValueError(f"give 1 to {MAX_HIST_LAYERS} layer numbers from 1 to {MAX_DEPTH}, e.g. 1,5,10")


@dataclass(frozen=True)
class Params(ParamsBase):
    activation: str = activation_param("tanh")
    schemes: tuple[str, ...] = param(("normal", "xavier_normal", "kaiming_normal"), choices=INITS, vocab="init")
    std: float = param(0.01, lo=1e-4, hi=10.0, step=0.01)
    depth: int = param(20, lo=1, hi=MAX_DEPTH, widget="slider")
    width: int = param(256, lo=8, hi=2048, step=8)
    batch: int = param(64, lo=1, hi=4096, step=16)
    hist_layers: str = param("1,2,5,10,20", check=_check_layers)
    sweep_depth: int = param(50, lo=2, hi=200, widget="slider")
    depth_points: int = param(10, lo=2, hi=25)
    sigma_min: float = param(0.25, lo=0.01, hi=10.0, step=0.05)
    sigma_max: float = param(4.0, lo=0.02, hi=20.0, step=0.1)
    sigma_points: int = param(25, lo=2, hi=41)
    sweep_width: int = param(64, lo=8, hi=512, step=8)
    sweep_batch: int = param(32, lo=1, hi=512, step=8)
    stable_decades: float = param(1.0, lo=0.1, hi=10.0, step=0.1)
    fan_in: int = param(256, lo=1, hi=4096)
    fan_out: int = param(64, lo=1, hi=4096)
    fan_batch: int = param(1024, lo=2, hi=8192)
    fan_schemes: tuple[str, ...] = param(("xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform"),
                                         choices=INITS, vocab="init")
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float32")


def hist_layer_numbers(p: Params) -> list[int]:
    """The histogram layers, clipped to the depth, sorted, without repeats."""
    return sorted({min(int(w), p.depth) for w in p.hist_layers.split(",") if w.strip()})


def _scheme_run(p: Params, scheme: str, x: torch.Tensor, readout: torch.Tensor) -> tuple[pd.DataFrame, ...]:
    """One scheme's network: measured per-layer statistics, histogram counts and histogram summaries."""
    spec = MLPSpec(p.depth, p.width, p.activation, scheme, std=p.std)
    model = build_mlp(spec, generator(p.seed), x.dtype, x.device)
    stats, outputs = layer_stats(model, x, readout)
    counts, summary = histograms(model, x, outputs, p.activation, hist_layer_numbers(p))
    return stats, counts.assign(scheme=scheme), summary.assign(scheme=scheme)


def _long(scheme: str, layers: np.ndarray, source: str, forward: np.ndarray, backward: np.ndarray) -> pd.DataFrame:
    """Tidy rows (scheme, layer, quantity, source, value) for the forward and backward profiles."""
    return pd.concat([
        pd.DataFrame({"scheme": scheme, "layer": layers, "quantity": q, "source": source, "value": v})
        for q, v in (("forward", forward), ("backward", backward))
    ], ignore_index=True)


def _mean_factor(values: np.ndarray) -> float:
    """Mean of the per-layer factors v[l+1]/v[l] where both are finite and nonzero (nan if none are).

    For He + ReLU each factor has expectation exactly 1, so this average is an unbiased estimate,
    while a single network's end-to-end ratio wanders log-normally with depth/width.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratios = values[1:] / values[:-1]
    ok = np.isfinite(ratios) & (ratios > 0)
    return float(ratios[ok].mean()) if ok.any() else math.nan


def _theory(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n Var(w) of each scheme, and the mean-field forward q_l and backward E[δ_l^2], one row per scheme."""
    n_var_w = np.array([p.width * weight_variance(s, p.width, p.width, p.std) for s in p.schemes])
    q, chi = theory.propagate(p.activation, n_var_w, p.depth)
    return n_var_w, q, theory.backward_profile(q, chi, n_var_w, p.batch)


def _rates(scheme: str, n_var_w: float, fwd: np.ndarray, bwd: np.ndarray, q: np.ndarray, m: np.ndarray) -> dict:
    """Mean per-layer factors of one scheme, forward (input to output) and backward (output to input)."""
    return {
        "scheme": scheme, "n_var_w": n_var_w,
        "forward_measured": _mean_factor(fwd), "forward_theory": _mean_factor(q),
        "backward_measured": _mean_factor(bwd[::-1]), "backward_theory": _mean_factor(m[::-1]),
    }


def network(p: Params) -> Result:
    """Per-layer forward/backward second moments for each scheme, theory beside, plus histograms."""
    x, readout = streams(p, p.width, p.batch)
    n_var_w, q, m = _theory(p)
    layers = np.arange(1, p.depth + 1)
    profile, counts, summaries, rates = [], [], [], []
    for i, scheme in enumerate(p.schemes):
        stats, count, summary = _scheme_run(p, scheme, x, readout)
        fwd, bwd = stats["pre_ms"].to_numpy(), stats["grad_ms"].to_numpy()
        profile += [_long(scheme, layers, "measured", fwd, bwd), _long(scheme, layers, "theory", q[i], m[i])]
        counts.append(count)
        summaries.append(summary)
        rates.append(_rates(scheme, n_var_w[i], fwd, bwd, q[i], m[i]))
    tables = {"profile": pd.concat(profile, ignore_index=True), "rates": pd.DataFrame(rates),
              "histograms": pd.concat(counts, ignore_index=True), "hist_stats": pd.concat(summaries, ignore_index=True)}
    forward_gain, backward_gain = theory.gain_factors(p.activation)
    factors = {f"{c}_{r['scheme']}": r[c] for r in rates for c in r if c not in ("scheme", "n_var_w")}
    return Result(tables, {"forward_gain": forward_gain, "backward_gain": backward_gain, **factors})


def _network_work(p: Params) -> float:
    """Forward, backward and weight-gradient matmuls plus elementwise work per layer, and the quadrature."""
    per_layer = p.batch * p.width * (3 * p.width + ELEMENTWISE)
    return len(p.schemes) * p.depth * (per_layer + theory.QUAD_NODES * ELEMENTWISE)


SECTIONS = (
    Section("network", network, work=_network_work, uses=(
        "activation", "schemes", "std", "depth", "width", "batch", "hist_layers", "seed", "device", "dtype"),
        findings=(Finding("forward_measured_*", theory="forward_theory_*"),
                  Finding("backward_measured_*", theory="backward_theory_*"))),
    Section("sweep", sweep, work=sweep_work, uses=(
        "activation", "sweep_depth", "depth_points", "sigma_min", "sigma_max", "sigma_points", "sweep_width",
        "sweep_batch", "stable_decades", "seed", "device", "dtype"),
        findings=(Finding("stable_fraction", theory="stable_fraction_theory"), Finding("critical_sigma"))),
    Section("fans", fans, work=fans_work, uses=("fan_in", "fan_out", "fan_batch", "fan_schemes", "std", "seed",
                                                "device"),
            findings=(Finding("fans_var_w_*", theory="fans_var_w_theory_*"),
                      Finding("fans_max_abs_w_*", theory="fans_bound_theory_*"),
                      Finding("fans_forward_measured_*", theory="fans_forward_theory_*"),
                      Finding("fans_backward_*", theory="fans_backward_theory_*"),
                      Finding("fans_forward_relu_*", theory="fans_forward_relu_theory_*"))),
)
