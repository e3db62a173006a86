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

from stabviz.experiments import Result, Section
from stabviz.experiments.deep_mlp_theory import (
    first_inf_power,
    first_zero_power,
    lyapunov_gaussian,
    mean_field_grad_norms,
)
from stabviz.experiments.deep_mlp_train import dtype_cost, train, train_work
from stabviz.mlp import MLPSpec, build_mlp, init_param, layer_stats, std_param
from stabviz.nets import activation_param
from stabviz.params import ParamsBase, param
from stabviz.runtime import DTYPE_NAMES, device, device_param, dtype, dtype_param, generator, seed_param
from stabviz.states import STATES, state_of

WEIGHT_COST = 20.0  # per-weight cost of initialising, storing and reducing a gradient, in multiply-adds


@dataclass(frozen=True)
class Params(ParamsBase):
    depth: int = param(50, lo=1, hi=256, widget="slider")
    width: int = param(128, lo=2, hi=2048)
    activation: str = activation_param("sigmoid")
    init: str = init_param("xavier_normal")
    std: float = std_param(1.0)
    batch: int = param(64, lo=1, hi=1024)
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
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float32")

    def spec(self) -> MLPSpec:
        """The net of the gradient-flow section."""
        return MLPSpec(self.depth, self.width, self.activation, self.init, std=self.std)


def _entry_fractions(model: torch.nn.Sequential) -> pd.DataFrame:
    """Per Linear layer, the share of weight-gradient entries that are exactly 0 and that are inf or nan."""
    grads = [m.weight.grad for m in model if isinstance(m, torch.nn.Linear)]
    return pd.DataFrame({
        "zero_frac": [int((g == 0).sum()) / g.numel() for g in grads],
        "nonfinite_frac": [int((~torch.isfinite(g)).sum()) / g.numel() for g in grads],
    })


def gradient_flow(p: Params) -> Result:
    """Per-layer weight-gradient norms of one backward pass, in the chosen dtype, beside mean-field theory."""
    dev, g = device(p.device), generator(p.seed)
    model = build_mlp(p.spec(), g, dtype(p.dtype), dev)
    x = torch.randn(p.batch, p.width, generator=g).to(device=dev, dtype=dtype(p.dtype))
    stats, _ = layer_stats(model, x)
    table = pd.concat([stats, _entry_fractions(model)], axis=1)
    table["state"] = state_of(table["weight_grad_norm"])
    table["dtype"] = p.dtype
    theory = mean_field_grad_norms(p.activation, p.init, p.std, p.width, p.depth, p.batch)
    theory_table = pd.DataFrame({"layer": np.arange(1, p.depth + 1), "curve": "mean_field", "value": theory})
    return Result({"gradient_flow": table, "gradient_flow_theory": theory_table}, _flow_findings(table, theory))


def _flow_findings(table: pd.DataFrame, theory: np.ndarray) -> dict:
    """Factor by which the gradient norm changes per layer towards the input (fit and theory); state counts."""
    norms = table["weight_grad_norm"].to_numpy()
    ok = np.isfinite(norms) & (norms > 0)
    layers = table["layer"].to_numpy()
    factor = 10 ** -np.polyfit(layers[ok], np.log10(norms[ok]), 1)[0] if ok.sum() >= 2 else math.nan
    theory_ok = np.isfinite(theory) & (theory > 0)
    t = theory[theory_ok]
    theory_factor = (t[0] / t[-1]) ** (1 / (t.size - 1)) if t.size >= 2 else math.nan
    counts = table["state"].value_counts()
    return {
        "flow_factor_per_layer": float(factor),
        "flow_factor_per_layer_theory": float(theory_factor),
        "flow_ratio_first_last": float(norms[0] / norms[-1]) if norms[-1] != 0 else math.nan,
        **{f"flow_layers_{s}": int(counts.get(s, 0)) for s in STATES},
    }


def _product_norms(p: Params) -> np.ndarray:
    """runs x K array of ||G_k ... G_1||_F, the matrices drawn in float64 and multiplied in the chosen dtype."""
    shape = (p.mat_runs, p.mat_count, p.mat_size, p.mat_size)
    mats = torch.randn(shape, generator=generator(p.seed), dtype=torch.float64)
    mats = mats.to(device=device(p.device), dtype=dtype(p.dtype))
    prod, norms = mats[:, 0], [torch.linalg.matrix_norm(mats[:, 0].double())]
    for k in range(1, p.mat_count):
        prod = mats[:, k] @ prod
        norms.append(torch.linalg.matrix_norm(prod.double()))
    return torch.stack(norms, dim=1).cpu().numpy()


def products(p: Params) -> Result:
    """The norm of a product of k random Gaussian matrices for every k, beside the Lyapunov growth rate."""
    ks = np.arange(1, p.mat_count + 1)
    table = pd.DataFrame({
        "run": np.repeat(np.arange(p.mat_runs), p.mat_count), "k": np.tile(ks, p.mat_runs),
        "norm": _product_norms(p).ravel(), "dtype": p.dtype,
    })
    table["state"] = state_of(table["norm"])
    rate = lyapunov_gaussian(p.mat_size)
    theory = pd.DataFrame({"k": ks, "curve": "lyapunov", "value": math.sqrt(p.mat_size) * np.exp(rate * ks)})
    findings = {"lyapunov_theory": rate, "lyapunov_measured": _growth_rate(table)}
    return Result({"products": table, "products_theory": theory}, findings)


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
    return Result({"scalar": table, "scalar_exact": exact, "scalar_limits": pd.DataFrame(limits)}, findings)


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


def _flow_work(p: Params) -> float:
    return p.depth * p.width**2 * (3.0 * p.batch * dtype_cost(p.dtype, p.width) + WEIGHT_COST)


def _products_work(p: Params) -> float:
    return 4.0 * p.mat_runs * p.mat_count * (p.mat_size**3 * dtype_cost(p.dtype, p.mat_size) + 50)


SECTIONS = (
    Section("gradient_flow", gradient_flow, uses=("depth", "width", "activation", "init", "std", "batch", "seed",
                                                  "device", "dtype"),
            work=_flow_work),
    Section("products", products, uses=("mat_size", "mat_count", "mat_runs", "seed", "device", "dtype"),
            work=_products_work),
    Section("scalar", scalar, uses=("grow", "shrink", "powers"), work=lambda p: 2e4 * p.powers),
    Section("training", train, uses=("train_depth", "train_width", "train_batch", "steps", "lr", "clip", "max_norm",
                                     "activation", "init", "std", "seed", "device", "dtype"),
            work=train_work, long=True),
)
