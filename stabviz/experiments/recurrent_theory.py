"""Theory beside the recurrent page's measurements: the per-step factors of back-propagation through time.

A vanilla RNN h_t = phi(W_ih x_t + W_hh h_{t-1} + b) has dL/dh_{t-1} = W_hh^T (phi'(a_t) * dL/dh_t): the
gradient through time is a product of W_hh and phi' factors (computed here in float64 from the
module's own weights and states, to be checked against autograd). The LSTM's cell path multiplies
by f_t, the GRU's direct path h_{t-1} -> h_t by z_t (torch's convention h_t = (1 - z) n + z h_{t-1}).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from stabviz.nets import value_and_derivative
from stabviz.rnn import gru_gates, lstm_gates, median_norm, preactivations, previous, spectral_radius
from stabviz.runtime import dtype_range

SAFE_MARGIN = 2.0**10  # the product is compared where its norm lies this far inside the dtype's normal range


def vanilla_factors(module: torch.nn.RNN, x: torch.Tensor, h: torch.Tensor) -> dict[str, float]:
    """rho(W_hh), sigma_max(W_hh) and the rms of phi'(a_t) over the run: the per-step factors of the theory."""
    gi, gh = preactivations(module, x, previous(h))
    dphi = value_and_derivative(module.nonlinearity, (gi + gh).detach().double())[1]
    w = module.weight_hh_l0.detach()
    return {"rho": spectral_radius(w), "sigma_max": float(torch.linalg.matrix_norm(w.double(), 2)),
            "rms_dphi": float(dphi.pow(2).mean().sqrt())}


def theory_curves(f: dict[str, float], steps: np.ndarray) -> dict[str, np.ndarray]:
    """After k steps back: estimate (rho rms phi')^k (phi' mixing at random), bound sigma_max^k (as |phi'| <= 1)."""
    with np.errstate(over="ignore", under="ignore"):
        return {"estimate": (f["rho"] * f["rms_dphi"]) ** steps, "bound": f["sigma_max"] ** steps}


def edge_radius(radius: np.ndarray, size: np.ndarray, level: float) -> float:
    """The first radius where ``size`` reaches ``level``: interpolated linearly in (log r, log size), exact for a
    power law c·r^T; nan where it stays below (or starts above) on the whole grid, or a neighbour is 0, inf or nan."""
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(np.asarray(size, dtype=np.float64) / level)
    above = np.flatnonzero(gap >= 0)
    if not above.size or above[0] == 0 or not np.isfinite(gap[above[0] - 1 : above[0] + 1]).all():
        return float("nan")
    i, lr = above[0], np.log(np.asarray(radius, dtype=np.float64))
    return float(np.exp(lr[i - 1] + (lr[i] - lr[i - 1]) * -gap[i - 1] / (gap[i] - gap[i - 1])))


def sweep_findings(table: pd.DataFrame, hidden: int) -> dict[str, float]:
    """Per cell: the gradient at r = 1 and the edge radius where it reaches √H (a per-step gain of 1), measured
    and by the estimate."""
    out = {}
    for name, rows in table.groupby("cell", sort=False):
        at_one = rows[rows["radius"] == 1.0]
        out |= {f"grad_at_r1_{name}": float(at_one["grad_norm"].iloc[0]),
                f"estimate_at_r1_{name}": float(at_one["estimate"].iloc[0])}
        for column, key in (("grad_norm", "edge_radius"), ("estimate", "estimate_edge_radius")):
            out[f"{key}_{name}"] = edge_radius(rows["radius"].to_numpy(), rows[column].to_numpy(), math.sqrt(hidden))
    return out


def chain_product(module: torch.nn.RNN, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """dL/dh_t for L = sum(h_T) as the lecture's product of factors W_hh^T diag(phi'(a_s)), float64, (batch, T, H)."""
    gi, gh = preactivations(module, x, previous(h))
    dphi = value_and_derivative(module.nonlinearity, (gi + gh).detach().double())[1]
    w = module.weight_hh_l0.detach().double()
    v = [torch.ones_like(dphi[:, -1])]
    for t in range(dphi.shape[1] - 1, 0, -1):
        v.append((dphi[:, t] * v[-1]) @ w)
    return torch.stack(v[::-1], dim=1)


def chain_error(measured: torch.Tensor, product: torch.Tensor, dtype_name: str) -> float:
    """Largest ||autograd - product|| / ||product|| over sequences and steps the dtype can hold (nan if none)."""
    _, tiny, huge = dtype_range(dtype_name)
    size = product.norm(dim=-1)
    held = (size >= tiny * SAFE_MARGIN) & (size <= huge / SAFE_MARGIN)
    if not bool(held.any()):
        return float("nan")
    return float(((measured.double() - product).norm(dim=-1)[held] / size[held]).max())


def carousel(module: torch.nn.LSTM, x: torch.Tensor, h: torch.Tensor, dc_last: torch.Tensor) -> np.ndarray:
    """Theory of the cell-state path alone, t < T: ||dL/dc_{T-1} * prod_{t<s<T} f_s|| (median over the batch)."""
    f = lstm_gates(module, x, previous(h))["forget"].detach().double()
    tail = torch.cat([f[:, 1:-1], torch.ones_like(f[:, :1])], dim=1).flip(1).cumprod(1).flip(1)
    return median_norm(dc_last.double()[:, None, :] * tail)


def gru_path_ratio(module: torch.nn.GRU, x: torch.Tensor, h: torch.Tensor) -> float:
    """The GRU's direct path alone, h_1 -> h_T: ||prod_{1<s<=T} z_s|| / ||1|| (median over the batch)."""
    z = gru_gates(module, x, previous(h))["update"].detach().double()
    return float(median_norm(z[:, 1:].prod(dim=1, keepdim=True))[0] / np.sqrt(z.shape[-1]))
