"""Mean-field theory of a deep random MLP: the laws the initialization page draws beside its measurements.

With zero-mean weights of variance Var(w), width n and no biases, the pre-activation second
moment obeys q_{l+1} = n Var(w) E[f(h)^2] with h ~ N(0, q_l) (forward), and the backward signal
E[δ_l^2] = n Var(w) E[f'(h_l)^2] E[δ_{l+1}^2]. The Gaussian expectations ("gain factors") are
computed by quadrature, f' by autograd; nothing here is fitted to a measurement.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from stabviz.nets import ACTIVATION_NAMES, value_and_derivative

QUAD_NODES = 1000  # even, so no node sits at z = 0 (inf * 0 never appears)
QUAD_RANGE = 10.0  # nodes span z in [-10, 10] standard deviations
QUAD_CORE = 1e-3  # z = QUAD_CORE * sinh(u): spacing ~1e-5 near 0, ~2% of |z| elsewhere, so f(sqrt(q) z) is
# resolved whether its kink or transition sits at z ~ 1 or at z ~ 1/sqrt(q) (machine precision for smooth f)
Q_GRID = np.geomspace(1e-10, 1e6, 641)  # second moments searched for the fixed point q*
SIGMA_GRID = np.geomspace(0.05, 20.0, 1201)  # sigma_w values searched for the critical point


def _nodes() -> tuple[torch.Tensor, torch.Tensor]:
    """Quadrature nodes z and weights for E[g(z)], z ~ N(0, 1): trapezoid rule in u on z = c sinh(u)."""
    top = math.asinh(QUAD_RANGE / QUAD_CORE)
    u = torch.linspace(-top, top, QUAD_NODES, dtype=torch.float64)
    z = QUAD_CORE * torch.sinh(u)
    w = torch.exp(-0.5 * z**2) * torch.cosh(u)
    return z, w / w.sum()


def gauss_moments(name: str, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[f(h)^2] and E[f'(h)^2] for h ~ N(0, q), one pair per entry of q."""
    z, w = _nodes()
    h = torch.as_tensor(np.asarray(q, dtype=np.float64)).sqrt().unsqueeze(-1) * z
    f, df = value_and_derivative(name, h)
    return (f.square() @ w).numpy(), (df.square() @ w).numpy()


def gain_factors(name: str) -> tuple[float, float]:
    """The per-layer factors at unit variance: E[f(z)^2] (forward) and E[f'(z)^2] (backward), z ~ N(0, 1)."""
    v, g = gauss_moments(name, np.ones(1))
    return float(v[0]), float(g[0])


def propagate(name: str, n_var_w: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean-field q_l (layers 1..depth) and chi_l = n Var(w) E[f'(h_l)^2], one row per n Var(w); input E[x^2] = 1."""
    n_var_w = np.asarray(n_var_w, dtype=np.float64)
    q, qs, chis = n_var_w.copy(), [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            v, g = gauss_moments(name, q)
            qs.append(q)
            chis.append(n_var_w * g)
            q = n_var_w * v
    return np.stack(qs, axis=-1), np.stack(chis, axis=-1)


def backward_profile(q: np.ndarray, chi: np.ndarray, n_var_w: np.ndarray, batch: int) -> np.ndarray:
    """Mean-field E[(dL/dh_l)^2] for loss = sum(output)/batch: E[f'(h_L)^2]/batch^2 times chi of each layer below."""
    g = chi / np.asarray(n_var_w, dtype=np.float64)[..., None]
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        above = np.flip(np.cumprod(np.flip(chi[..., 1:], -1), axis=-1), -1)
        above = np.concatenate([above, np.ones_like(chi[..., :1])], axis=-1)
        return g * above / batch**2


def log10_grad_ratio(chi: np.ndarray) -> np.ndarray:
    """log10(||dL/dh_1|| / ||dL/dh_L||) for a depth-L net, L = 1..depth: half the sum of log10 chi below L."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = 0.5 * np.log10(chi[..., :-1])
    return np.concatenate([np.zeros_like(chi[..., :1]), np.cumsum(logs, axis=-1)], axis=-1)


@lru_cache(maxsize=len(ACTIVATION_NAMES))
def _grid_moments(name: str) -> tuple[np.ndarray, np.ndarray]:
    """gauss_moments on Q_GRID, computed once per activation (a pure function of the name)."""
    return gauss_moments(name, Q_GRID)


def fixed_point_chi(name: str, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q* reached by iterating q -> sigma^2 E[f(h)^2] from q = 1, and chi_1 = sigma^2 E[f'(h)^2] there."""
    v, g = _grid_moments(name)
    s2 = np.asarray(sigmas, dtype=np.float64)[:, None] ** 2
    drift = s2 * v - Q_GRID  # > 0 where the map pushes q up
    i0 = int(np.argmin(np.abs(np.log(Q_GRID))))
    idx = np.arange(Q_GRID.size)
    up_stop = np.where((drift <= 0) & (idx >= i0), idx, Q_GRID.size - 1).min(axis=1)
    down_stop = np.where((drift >= 0) & (idx <= i0), idx, 0).max(axis=1)
    j = np.where(drift[:, i0] > 0, up_stop, down_stop)
    return Q_GRID[j], s2[:, 0] * g[j]


def critical_sigma(name: str) -> float:
    """sigma_w (std times sqrt(n)) where chi_1 at the fixed point crosses 1: order -> chaos; nan if it never does."""
    _, chi = fixed_point_chi(name, SIGMA_GRID)
    cross = np.flatnonzero((chi[:-1] < 1) & (chi[1:] >= 1))
    if not cross.size:
        return math.nan
    i = cross[0]
    t = (1 - chi[i]) / (chi[i + 1] - chi[i])
    return float(np.exp(np.log(SIGMA_GRID[i]) + t * (np.log(SIGMA_GRID[i + 1]) - np.log(SIGMA_GRID[i]))))
