"""Closed-form predictions for the deep-MLP page, kept apart from the measurements they are drawn beside.

* Mean-field theory (infinite width, gradient-independence assumption; Poole et al. 2016,
  Schoenholz et al. 2017) of the weight-gradient norm of every layer of a bias-free MLP.
* The top Lyapunov exponent of products of n x n Gaussian matrices (Newman 1986).
* Where b^k leaves a floating-point format: the first k that rounds to inf or to 0.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from stabviz.mlp import weight_variance
from stabviz.nets import value_and_derivative
from stabviz.runtime import dtype_range

Z_STEP = 0.02  # grid step in pre-activation units: resolves the ~unit-wide bumps of f' (sigmoid', tanh')
Z_SPAN = 10.0  # the grid covers +-10 standard deviations
MAX_POINTS = 2**17  # beyond this (s > ~65) the step grows: f' is then a narrow feature of the Gaussian


def _z_grid(s: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Uniform grid over N(0, s^2), its trapezoid probability weights, and its step.

    Uniform in z, not Gauss-Hermite in z/s: with wide pre-activations (s = 24 for std 3 on width 128)
    Hermite nodes land several units apart and step over f' entirely, predicting vanishing gradients
    where the network explodes.
    """
    step = min(Z_STEP, s / 50)
    n = min(MAX_POINTS, int(2 * Z_SPAN * s / step) + 1)
    n += n % 2  # even: no node sits on the kink of ReLU-like derivatives at z = 0
    z = np.linspace(-Z_SPAN * s, Z_SPAN * s, n)
    w = np.exp(-0.5 * (z / s) ** 2)
    w[[0, -1]] *= 0.5
    return z, w / w.sum(), z[1] - z[0]


def _smoothed(g: np.ndarray, width: float, step: float) -> np.ndarray:
    """E_v g(z + v) for v ~ N(0, width^2), on the same grid (FFT convolution; 0 outside the grid)."""
    if width < step:
        return g
    half = min(len(g) // 2, int(Z_SPAN * width / step))
    t = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (t / width) ** 2)
    kernel /= kernel.sum()
    size = 1 << (len(g) + len(kernel) - 2).bit_length()  # a power of two: an FFT of awkward length is 20x slower
    full = np.fft.irfft(np.fft.rfft(g, size) * np.fft.rfft(kernel, size), size)
    return full[half: half + len(g)]


def pair_moments(act: str, q: float, k: float) -> tuple[float, float, float, float]:
    """E f(a)^2, E f(a)f(b), E f'(a)^2, E f'(a)f'(b) for (a, b) Gaussian, variance q, covariance k.

    b = rho a + sqrt(1 - rho^2) v with v independent, so E g(a) g(b) = E_a g(a) h(rho a), where h is
    g smoothed by the Gaussian of v.
    """
    s = math.sqrt(q)
    rho = max(-1.0, min(1.0, k / q))
    z, w, step = _z_grid(s)
    f, d = (t.numpy() for t in value_and_derivative(act, torch.from_numpy(z)))
    spread = math.sqrt(max(0.0, 1 - rho * rho)) * s
    cross = [np.interp(rho * z, z, _smoothed(g, spread, step)) for g in (f, d)]
    with np.errstate(over="ignore", invalid="ignore"):  # an exploded variance gives inf moments: the prediction
        return tuple(float(np.sum(w * x)) for x in (f * f, f * cross[0], d * d, d * cross[1]))


def _forward(act: str, nv: float, depth: int) -> tuple[list[tuple[float, ...]], list[float], list[float]]:
    """Layer-by-layer moments of the forward pass from N(0, 1) inputs uncorrelated across the batch."""
    q, k = nv, 0.0
    moments, h_sq, h_cross = [], [1.0], [0.0]
    for _ in range(depth):
        if not (math.isfinite(q) and q > 0):
            moments.append((math.nan,) * 4)
            h_sq.append(math.nan)
            h_cross.append(math.nan)
            continue
        m, mk, d2, dk = pair_moments(act, q, k)
        moments.append((m, mk, d2, dk))
        h_sq.append(m)
        h_cross.append(mk)
        q, k = nv * m, nv * mk
    return moments, h_sq, h_cross


def mean_field_grad_norms(act: str, init: str, std: float, width: int, depth: int, batch: int) -> np.ndarray:
    """Predicted ||dL/dW_l||_F, l = 1..depth, for loss = sum(output) / batch (as in mlp.layer_stats).

    ||dW_l||^2 = sum_{a,b} (delta_a . delta_b)(h_a . h_b) over the batch: a diagonal term
    (same sample) and a cross term (two samples), each a product of forward and backward moments.
    """
    nv = width * weight_variance(init, width, width, std)
    moments, h_sq, h_cross = _forward(act, nv, depth)
    d = moments[-1][2] / batch**2  # E delta_L^2: dL/dh_L = 1 / batch for every unit
    e = moments[-1][3] / batch**2  # E delta_L(a) delta_L(b) for two samples
    out = np.empty(depth)
    for layer in range(depth - 1, -1, -1):
        if layer < depth - 1:
            d, e = nv * moments[layer][2] * d, nv * moments[layer][3] * e
        sq = width**2 * (batch * d * h_sq[layer] + batch * (batch - 1) * e * h_cross[layer])
        out[layer] = math.sqrt(sq) if sq >= 0 else math.nan
    return out


def lyapunov_gaussian(n: int) -> float:
    """Top Lyapunov exponent of products of n x n matrices with N(0, 1) entries: (ln 2 + digamma(n/2)) / 2."""
    return 0.5 * (math.log(2.0) + float(torch.special.digamma(torch.tensor(n / 2.0, dtype=torch.float64))))


def first_inf_power(base: float, dtype_name: str) -> float:
    """Smallest k with base^k >= the overflow threshold max + ulp/2 (round to nearest gives inf); nan if never."""
    _, _, largest = dtype_range(dtype_name)
    eps = torch.finfo(getattr(torch, dtype_name)).eps
    threshold = math.log(largest) + math.log1p(eps / 2)
    return float(math.ceil(threshold / math.log(base))) if base > 1 else math.nan


def first_zero_power(base: float, dtype_name: str) -> float:
    """Smallest k with base^k <= half the smallest subnormal (rounds to 0, ties to even); nan if never."""
    tiny, _, _ = dtype_range(dtype_name)
    return float(math.ceil((math.log(tiny) - math.log(2.0)) / math.log(base))) if base < 1 else math.nan
