"""Activation functions: shape, derivative, saturation, and the product of derivatives over depth.

Why gradients vanish in a sigmoid net: back-propagation multiplies one f'(z) per layer, and
sigmoid' never exceeds 1/4. Everything here is measured with torch (autograd for f'),
with the expectations also computed by quadrature as the theory beside the Monte Carlo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Finding, Result, Section
from stabviz.nets import ACTIVATION_NAMES, value_and_derivative
from stabviz.params import ParamsBase, param
from stabviz.runtime import device, device_param, dtype_range, generator, seed_param

GRID_POINTS = 241  # points of the f / f' curves without a step: 4-5 px apart on a wide screen (~0.1 ms each to draw)
MAX_GRID = 20_001  # most points of a stepped grid: a finer step is widened to 2 x_max / 20 000
QUAD_POINTS = 200_001  # trapezoid nodes over +-12 standard deviations
CHAINS = 1001  # independent chains for the product over depth (odd: the median is a chain)
CHAIN_DTYPES = ("float64", "float32", "bfloat16", "float16")
SATURATION_FINDINGS = ("max_abs_grad", "saturated_mc", "saturated_quad", "mean_sq_grad_mc", "mean_sq_grad_quad")


@dataclass(frozen=True)
class Params(ParamsBase):
    functions: tuple[str, ...] = param(("sigmoid", "tanh", "relu", "gelu"), choices=ACTIVATION_NAMES,
                                       vocab="activation")
    x_max: float = param(6.0, lo=0.5, hi=50.0, step=0.5, widget="slider")
    x_step: float = param(0.0, lo=0.0, hi=10.0, step=0.05)
    threshold: float = param(0.05, lo=1e-4, hi=0.5, step=0.01)
    input_std: float = param(2.0, lo=0.01, hi=20.0, step=0.1)
    samples: int = param(100_000, lo=1_000, hi=2_000_000, step=1_000)
    depth: int = param(100, lo=1, hi=1000, widget="slider")
    seed: int = seed_param()
    device: str = device_param()


CLOSED_FORMS = {  # f' written with f, as lecture notes do: sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2
    "sigmoid": lambda y: y * (1 - y),
    "tanh": lambda y: 1 - y * y,
}


def grid_step(p: Params) -> float:
    """The curves' step: x_step, widened where the range would need more than MAX_GRID points and at most the
    range (two points, -x_max and x_max); 0 without a step."""
    return min(max(p.x_step, 2 * p.x_max / (MAX_GRID - 1)), 2 * p.x_max) if p.x_step > 0 else 0.0


def grid_points(p: Params) -> int:
    """Points of the curves' grid: GRID_POINTS, or -x_max, -x_max + step, ... up to x_max."""
    step = grid_step(p)
    return math.floor(2 * p.x_max / step + 1e-9) + 1 if step else GRID_POINTS


def curve_grid(p: Params) -> torch.Tensor:
    """x in float64: linspace(-x_max, x_max, GRID_POINTS), or -x_max + k step, k = 0, 1, ... (x_step > 0)."""
    if p.x_step == 0:
        return torch.linspace(-p.x_max, p.x_max, GRID_POINTS, dtype=torch.float64)
    return -p.x_max + grid_step(p) * torch.arange(grid_points(p), dtype=torch.float64)


def curves(p: Params) -> Result:
    """f(x) and f'(x) on a grid, derivative by autograd; its largest value and its gap to the closed form."""
    x = curve_grid(p)
    rows, findings = [], {"grid_points": int(x.numel()), "grid_first": float(x[0]), "grid_last": float(x[-1]),
                          "grid_step": float(x[1] - x[0])}
    for name in p.functions:
        y, dy = value_and_derivative(name, x)
        rows.append(pd.DataFrame({"function": name, "x": x.numpy(), "f": y.numpy(), "df": dy.numpy()}))
        findings |= {f"max_df_{name}": float(dy.max()), f"argmax_df_{name}": float(x[dy.argmax()]),
                     f"df_at_x_max_{name}": float(dy[-1])}
        if name in CLOSED_FORMS:
            findings[f"df_closed_form_gap_{name}"] = float((dy - CLOSED_FORMS[name](y)).abs().max())
    return Result({"curves": pd.concat(rows, ignore_index=True)}, findings)


def _quadrature(name: str, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes' f'(z) values and trapezoid weights of the N(0, s²) density."""
    z = torch.linspace(-12 * s, 12 * s, QUAD_POINTS, dtype=torch.float64)
    _, dz = value_and_derivative(name, z)
    pdf = torch.exp(-0.5 * (z / s) ** 2) / (s * math.sqrt(2 * math.pi))
    w = pdf * (z[1] - z[0])
    w[0] *= 0.5
    w[-1] *= 0.5
    return dz.numpy(), w.numpy()


def saturation(p: Params) -> Result:
    """Max |f'|, saturated fraction, E f'(z) and E f'(z)^2: Monte Carlo beside quadrature."""
    dev = device(p.device)
    z = torch.randn(p.samples, generator=generator(p.seed, dev), device=dev, dtype=torch.float64) * p.input_std
    grid = torch.linspace(-max(p.x_max, 6 * p.input_std), max(p.x_max, 6 * p.input_std), 20_001, dtype=torch.float64)
    rows = []
    for name in p.functions:
        d_mc = value_and_derivative(name, z)[1].cpu().numpy()
        d_q, w = _quadrature(name, p.input_std)
        rows.append({
            "function": name,
            "max_abs_grad": float(value_and_derivative(name, grid)[1].abs().max()),
            "saturated_mc": float(np.mean(np.abs(d_mc) < p.threshold)),
            "saturated_quad": float(np.sum(w * (np.abs(d_q) < p.threshold))),
            "mean_grad_mc": float(d_mc.mean()),
            "mean_grad_quad": float(np.sum(w * d_q)),
            "mean_sq_grad_mc": float(np.mean(d_mc**2)),
            "mean_sq_grad_quad": float(np.sum(w * d_q**2)),
        })
    findings = {f"{k}_{r['function']}": r[k] for r in rows for k in SATURATION_FINDINGS}
    return Result({"saturation": pd.DataFrame(rows)}, findings)


def _median_chain(factors: torch.Tensor, dtype_name: str) -> np.ndarray:
    """Median over chains of |prod_{i<=l} f'(z_i)|, multiplied in the given dtype."""
    prods = torch.cumprod(factors.abs().to(getattr(torch, dtype_name)), dim=1)
    return prods.double().median(dim=0).values.cpu().numpy()


def chain(p: Params) -> Result:
    """The product of L derivative factors, in four dtypes, with the theory of its typical size."""
    dev = device(p.device)
    z = torch.randn(CHAINS, p.depth, generator=generator(p.seed, dev), device=dev, dtype=torch.float64) * p.input_std
    layers = np.arange(1, p.depth + 1)
    measured, theory, limits = [], [], []
    for name in p.functions:
        factors = value_and_derivative(name, z)[1]
        for dt in CHAIN_DTYPES:
            value = _median_chain(factors, dt)
            measured.append(pd.DataFrame({"function": name, "layer": layers, "dtype": dt, "value": value}))
            limits.append(_leaves_range(name, dt, value))
        theory.append(_chain_theory(name, p, layers))
    tables = {
        "chain": pd.concat(measured, ignore_index=True),
        "chain_theory": pd.concat(theory, ignore_index=True),
        "chain_limits": pd.DataFrame(limits),
    }
    return Result(tables, _chain_findings(tables, p.depth))


def _chain_findings(tables: dict[str, pd.DataFrame], depth: int) -> dict:
    """Per function, the product at the last depth: measured median (float64), typical size and bound of theory.

    ``chain_median_<f>`` repeats ``chain_last_<f>`` under a name no theory key extends (a sweep's series)."""
    chain, theory = tables["chain"], tables["chain_theory"]
    last = chain[(chain["layer"] == depth) & (chain["dtype"] == "float64")].set_index("function")["value"]
    at = theory[theory["layer"] == depth].set_index(["function", "curve"])["value"]
    out = {}
    for name, value in last.items():
        out |= {f"chain_last_{name}": float(value), f"chain_median_{name}": float(value),
                f"chain_last_typical_{name}": float(at[(name, "typical")]),
                f"chain_last_bound_{name}": float(at[(name, "bound")])}
    return out


def _chain_theory(name: str, p: Params, layers: np.ndarray) -> pd.DataFrame:
    """Typical size exp(L E[ln|f'(z)|]) (the median, by the CLT on the log) and the bound max|f'|^L."""
    d_q, w = _quadrature(name, p.input_std)
    dead = d_q == 0  # f' = 0 on real probability mass (ReLU) sends the typical product to 0
    if w[dead].sum() > 1e-12:
        mean_log = -math.inf
    else:  # far tails where f' underflows in float64 (tanh' at |z| > 19) carry no mass
        mean_log = float(np.sum(w[~dead] * np.log(np.abs(d_q[~dead]))))
    max_grad = float(np.abs(d_q).max())
    with np.errstate(over="ignore", under="ignore"):
        typical = np.exp(layers * mean_log)
        bound = np.float64(max_grad) ** layers.astype(np.float64)
    return pd.concat([
        pd.DataFrame({"function": name, "layer": layers, "curve": "typical", "value": typical}),
        pd.DataFrame({"function": name, "layer": layers, "curve": "bound", "value": bound}),
    ], ignore_index=True)


def _leaves_range(name: str, dtype_name: str, value: np.ndarray) -> dict:
    """First depth where the measured product leaves the dtype's normal range, underflows to 0, or overflows."""
    _, normal, _ = dtype_range(dtype_name)

    def first(mask: np.ndarray) -> float:
        hits = np.flatnonzero(mask)
        return float(hits[0] + 1) if hits.size else math.nan

    return {
        "function": name, "dtype": dtype_name,
        "subnormal_at": first((value < normal) & (value > 0)),
        "zero_at": first(value == 0),
        "inf_at": first(np.isinf(value)),
    }


def _curves_work(p: Params) -> float:
    return 40.0 * grid_points(p) * len(p.functions)


def _chain_work(p: Params) -> float:
    return 40.0 * CHAINS * p.depth * len(p.functions)


def _saturation_work(p: Params) -> float:
    return 40.0 * (p.samples + QUAD_POINTS * 2) * len(p.functions)


SECTIONS = (
    Section("curves", curves, uses=("functions", "x_max", "x_step"), work=_curves_work,
            findings=(Finding("max_df_*"), Finding("df_at_x_max_*"))),
    Section("saturation", saturation, uses=("functions", "x_max", "threshold", "input_std", "samples", "seed",
                                            "device"),
            work=_saturation_work,
            findings=(Finding("saturated_mc_*", theory="saturated_quad_*"), Finding("max_abs_grad_*"),
                      Finding("mean_sq_grad_mc_*", theory="mean_sq_grad_quad_*"))),
    Section("chain", chain, uses=("functions", "input_std", "depth", "seed", "device"), work=_chain_work,
            findings=(Finding("chain_median_*", theory="chain_last_typical_*"),)),
)
