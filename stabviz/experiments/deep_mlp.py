"""Deep MLP gradients: gradient flow through depth, products of random matrices, scalar powers.

Back-propagation multiplies one Jacobian per layer, so gradient sizes change geometrically with
depth. Measured with torch autograd, beside the mean-field prediction, the Lyapunov exponent of
random-matrix products, and the exact powers b^k; overflow (inf) and underflow (0) are kept as
values in every table. The short training run lives in :mod:`deep_mlp_train`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Finding, Result, Section
from stabviz.experiments.deep_mlp_flow import FLOW_INPUTS, FLOW_LOSSES, FLOW_STATISTICS, flow_work, gradient_flow
from stabviz.experiments.deep_mlp_sweep import lr_sweep, sweep_work
from stabviz.experiments.deep_mlp_theory import first_inf_power, first_zero_power, lyapunov_gaussian
from stabviz.experiments.deep_mlp_train import dtype_cost, train, train_work
from stabviz.mlp import MLPSpec, init_param, std_param
from stabviz.nets import activation_param
from stabviz.params import ParamsBase, param
from stabviz.runtime import DTYPE_NAMES, device, device_param, dtype, dtype_param, dtype_range, generator, seed_param
from stabviz.states import state_of


@dataclass(frozen=True)
class Params(ParamsBase):
    depth: int = param(50, lo=1, hi=256, widget="slider")
    width: int = param(128, lo=2, hi=2048)
    activation: str = activation_param("sigmoid")
    init: str = init_param("xavier_normal")
    std: float = std_param(1.0)
    batch: int = param(64, lo=1, hi=1024)
    inputs: str = param("gaussian", choices=FLOW_INPUTS, vocab="flow_inputs")
    loss: str = param("sum", choices=FLOW_LOSSES, vocab="flow_loss")
    statistic: str = param("norm", choices=FLOW_STATISTICS, vocab="flow_statistic")
    mat_size: int = param(4, lo=1, hi=64)
    mat_count: int = param(100, lo=1, hi=1000, widget="slider")
    mat_runs: int = param(5, lo=1, hi=50)
    grow: float = param(1.5, lo=1.0001, hi=10.0, step=0.05)
    shrink: float = param(0.8, lo=0.01, hi=0.9999, step=0.05)
    powers: int = param(100, lo=1, hi=1000, widget="slider")
    train_depth: int = param(15, lo=1, hi=100)
    train_width: int = param(64, lo=2, hi=512)
    train_batch: int = param(32, lo=1, hi=512)
    steps: int = param(300, lo=10, hi=2000, step=10)
    lr: float = param(0.5, lo=1e-4, hi=10.0, step=0.01)
    clip: bool = param(False)
    max_norm: float = param(1.0, lo=1e-3, hi=1e3, step=0.1)
    sweep_depth: int = param(10, lo=1, hi=100)
    sweep_width: int = param(32, lo=2, hi=512)
    sweep_batch: int = param(32, lo=1, hi=512)
    lr_min: float = param(1e-3, lo=1e-5, hi=10.0)
    lr_max: float = param(3.0, lo=1e-5, hi=10.0)
    lr_points: int = param(8, lo=2, hi=16)
    sweep_steps: int = param(300, lo=10, hi=2000, step=10)
    sweep_target: float = param(0.75, lo=0.5, hi=1.0, step=0.05)
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float32")

    def spec(self) -> MLPSpec:
        """The net of the gradient-flow section."""
        return MLPSpec(self.depth, self.width, self.activation, self.init, std=self.std)


def _product_norms(p: Params) -> tuple[np.ndarray, np.ndarray]:
    """runs x K array of ||G_k ... G_1||_F, the matrices drawn in float64 and multiplied in the chosen dtype; and
    each run's largest |entry| of the final product."""
    shape = (p.mat_runs, p.mat_count, p.mat_size, p.mat_size)
    mats = torch.randn(shape, generator=generator(p.seed), dtype=torch.float64)
    mats = mats.to(device=device(p.device), dtype=dtype(p.dtype))
    prod, norms = mats[:, 0], [torch.linalg.matrix_norm(mats[:, 0].double())]
    for k in range(1, p.mat_count):
        prod = mats[:, k] @ prod
        norms.append(torch.linalg.matrix_norm(prod.double()))
    return torch.stack(norms, dim=1).cpu().numpy(), prod.double().abs().amax(dim=(1, 2)).cpu().numpy()


def products(p: Params) -> Result:
    """The norm of a product of k random Gaussian matrices for every k, beside the Lyapunov growth rate."""
    ks = np.arange(1, p.mat_count + 1)
    norms, largest = _product_norms(p)
    table = pd.DataFrame({
        "run": np.repeat(np.arange(p.mat_runs), p.mat_count), "k": np.tile(ks, p.mat_runs),
        "norm": norms.ravel(), "dtype": p.dtype,
    })
    table["state"] = state_of(table["norm"])
    rate = lyapunov_gaussian(p.mat_size)
    theory = pd.DataFrame({"k": ks, "curve": "lyapunov", "value": math.sqrt(p.mat_size) * np.exp(rate * ks)})
    findings = {"lyapunov_theory": rate, "lyapunov_measured": _growth_rate(table),
                "lyapunov_growth_per_matrix_theory": math.exp(rate), **_final_sizes(norms[:, -1], largest, rate, p)}
    return Result({"products": table, "products_theory": theory}, findings)


def _final_sizes(norms: np.ndarray, largest: np.ndarray, rate: float, p: Params) -> dict:
    """log10 of the last product's norm and largest entry (mean over runs); theory: log10 sqrt(n) e^(rate K)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return {
            "products_log10_norm_last": float(np.mean(np.log10(norms))),
            "products_log10_max_entry_last": float(np.mean(np.log10(largest))),
            "products_log10_norm_last_theory": (0.5 * math.log(p.mat_size) + rate * p.mat_count) / math.log(10),
        }


def _growth_rate(table: pd.DataFrame) -> float:
    """Least-squares slope of ln ||product|| against k, up to the first k where any run is not finite."""
    finite = table.groupby("k")["state"].apply(lambda s: bool((s == "finite").all()))
    ks = finite.index[finite.cumprod().astype(bool)]
    ok = table[table["k"].isin(ks)]
    if ks.size < 2:
        return math.nan
    return float(np.polyfit(ok["k"], np.log(ok["norm"]), 1)[0])


def _powers(base: float, name: str, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """base^k in one dtype: by torch.pow, and by k successive multiplications (each rounded)."""
    b = torch.tensor(base, dtype=dtype(name))
    power = torch.pow(b, torch.from_numpy(ks))  # a 0-d float base keeps its dtype
    repeated, v = [torch.ones((), dtype=dtype(name))], torch.ones((), dtype=dtype(name))
    for _ in ks[1:]:
        v = v * b
        repeated.append(v)
    return power.double().numpy(), torch.stack(repeated).double().numpy()


def scalar(p: Params) -> Result:
    """grow^k and shrink^k in every dtype, with where theory says they become inf or 0."""
    ks = np.arange(p.powers + 1)
    factors = (("grow", p.grow), ("shrink", p.shrink))
    rows, limits = [], []
    for (which, base), name in itertools.product(factors, DTYPE_NAMES):
        power, repeated = _powers(base, name, ks)
        for method, value in (("power", power), ("repeated", repeated)):
            rows.append(pd.DataFrame({"factor": which, "base": base, "dtype": name, "method": method, "k": ks,
                                      "value": value}))
        limits.append(_limit_row(which, base, name, ks, power))
    table = pd.concat(rows, ignore_index=True)
    table["state"] = state_of(table["value"])
    exact = pd.concat([pd.DataFrame({"factor": w, "base": b, "k": ks, "log10_value": ks * math.log10(b)})
                       for w, b in factors], ignore_index=True)
    findings = {f"{r['factor']}_{r['dtype']}_{c}": r[c] for r in limits for c in ("inf_at", "zero_at")}
    findings |= _limit_series(limits) | _last_powers(table, factors, p.powers)
    return Result({"scalar": table, "scalar_exact": exact, "scalar_limits": pd.DataFrame(limits)}, findings)


def _last_powers(table: pd.DataFrame, factors: tuple[tuple[str, float], ...], k: int) -> dict:
    """grow^k and shrink^k at the largest k by torch.pow in each dtype (float64: 1.5^100 = 4.07e17), float16's range."""
    last = table[(table["method"] == "power") & (table["k"] == k)]
    out = {f"{r.factor}_power_{r.dtype}": float(r.value) for r in last.itertuples()}
    out |= {f"{w}_power_exact": math.exp(k * math.log(b)) if k * math.log(b) < 709 else math.inf for w, b in factors}
    tiny, _, big = dtype_range("float16")
    return out | {"float16_max": big, "float16_smallest_subnormal": tiny}


def _limit_series(limits: list[dict]) -> dict:
    """grow's first inf and shrink's first 0 per dtype, named dtype last (a sweep's series), with theory's k."""
    out = {}
    for r in limits:
        edge = "inf" if r["factor"] == "grow" else "zero"
        out |= {f"{r['factor']}_{edge}_at_{r['dtype']}": r[f"{edge}_at"],
                f"{r['factor']}_{edge}_theory_{r['dtype']}": r[f"{edge}_at_theory"]}
    return out


def _limit_row(which: str, base: float, name: str, ks: np.ndarray, power: np.ndarray) -> dict:
    """First k where the measured power is inf or 0, beside the theory's k."""
    def first(mask: np.ndarray) -> float:
        hits = np.flatnonzero(mask)
        return float(ks[hits[0]]) if hits.size else math.nan

    return {
        "factor": which, "base": base, "dtype": name,
        "inf_at": first(np.isinf(power)), "inf_at_theory": first_inf_power(base, name),
        "zero_at": first(power == 0), "zero_at_theory": first_zero_power(base, name),
    }


def _products_work(p: Params) -> float:
    return 4.0 * p.mat_runs * p.mat_count * (p.mat_size**3 * dtype_cost(p.dtype, p.mat_size) + 50)


FLOW_FINDINGS = (
    Finding("flow_factor_per_layer", theory="flow_factor_per_layer_theory"),
    Finding("flow_ratio_first_last", theory="flow_ratio_first_last_theory"),
    Finding("flow_signal_factor_per_layer", theory="flow_signal_factor_per_layer_theory"),
    *(Finding(k) for k in ("flow_mean_factor_per_layer", "flow_layers_zero", "flow_layers_inf", "flow_layers_nan",
                           "flow_act_derivative_mean")),
)
SCALAR_FINDINGS = (
    Finding("grow_power_*", theory="grow_power_exact"), Finding("shrink_power_*", theory="shrink_power_exact"),
    Finding("grow_inf_at_*", theory="grow_inf_theory_*"), Finding("shrink_zero_at_*", theory="shrink_zero_theory_*"),
)
TRAIN_FINDINGS = tuple(Finding(f"train_{k}") for k in (
    "loss_last", "accuracy", "change_first_layer", "change_last_hidden_layer", "clipped_steps"))
SWEEP_FINDINGS = tuple(Finding(f"sweep_{k}") for k in (
    "best_lr", "best_accuracy", "band_low", "band_high", "trained_lrs", "diverged_lrs"))

SECTIONS = (
    Section("gradient_flow", gradient_flow, uses=("depth", "width", "activation", "init", "std", "batch", "inputs",
                                                  "loss", "statistic", "seed", "device", "dtype"),
            work=flow_work, findings=FLOW_FINDINGS),
    Section("products", products, uses=("mat_size", "mat_count", "mat_runs", "seed", "device", "dtype"),
            work=_products_work, findings=(Finding("lyapunov_measured", theory="lyapunov_theory"), Finding(
                "products_log10_norm_last", theory="products_log10_norm_last_theory"))),
    Section("scalar", scalar, uses=("grow", "shrink", "powers"), work=lambda p: 2e4 * p.powers,
            findings=SCALAR_FINDINGS),
    Section("training", train, uses=("train_depth", "train_width", "train_batch", "steps", "lr", "clip", "max_norm",
                                     "activation", "init", "std", "seed", "device", "dtype"),
            work=train_work, long=True, findings=TRAIN_FINDINGS),
    Section("lr_sweep", lr_sweep, uses=("sweep_depth", "sweep_width", "sweep_batch", "lr_min", "lr_max", "lr_points",
                                        "sweep_steps", "sweep_target", "activation", "init", "std", "seed", "device",
                                        "dtype"),
            work=sweep_work, long=True, findings=SWEEP_FINDINGS),
)
