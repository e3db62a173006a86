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


def _pairs(gs: tuple[np.ndarray, ...], z: np.ndarray, w: np.ndarray, step: float, s: float,
           rho: float) -> tuple[float, ...]:
    """E g(a)^2 and E g(a)g(b) for each g on the grid, (a, b) Gaussian with correlation rho, in that order.

    b = rho a + sqrt(1 - rho^2) v with v independent, so E g(a) g(b) = E_a g(a) h(rho a), where h is
    g smoothed by the Gaussian of v.
    """
    spread = math.sqrt(max(0.0, 1 - rho * rho)) * s
    cross = [np.interp(rho * z, z, _smoothed(g, spread, step)) for g in gs]
    with np.errstate(over="ignore", invalid="ignore"):  # an exploded variance gives inf moments: the prediction
        return tuple(float(np.sum(w * x)) for g, c in zip(gs, cross, strict=True) for x in (g * g, g * c))


def _on_grid(act: str, q: float, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float,
                                                   float]:
    """f and f' on the grid of N(0, q), with the grid, its weights and step, the std and the correlation k / q."""
    s = math.sqrt(q)
    z, w, step = _z_grid(s)
    f, d = (t.numpy() for t in value_and_derivative(act, torch.from_numpy(z)))
    return f, d, z, w, step, s, max(-1.0, min(1.0, k / q))


def pair_moments(act: str, q: float, k: float) -> tuple[float, float, float, float]:
    """E f(a)^2, E f(a)f(b), E f'(a)^2, E f'(a)f'(b) for (a, b) Gaussian, variance q, covariance k."""
    f, d, *grid = _on_grid(act, q, k)
    return _pairs((f, d), *grid)


def loss_moments(act: str, q: float, k: float) -> tuple[float, float]:
    """E (f f')(a)^2 and E (f f')(a) (f f')(b): the moments of dL/dz for a squared-error loss on f(z)."""
    f, d, *grid = _on_grid(act, q, k)
    return _pairs((f * d,), *grid)


INPUT_MOMENTS = {"gaussian": (1.0, 0.0), "uniform": (1 / 3, 1 / 4)}  # E x^2 and E x_a x_b (two samples, one unit)


def _forward(act: str, nv: float, depth: int, inputs: str) -> tuple[list[tuple[float, ...]], list[float],
                                                                   list[float], tuple[float, float]]:
    """Layer-by-layer moments of the forward pass from the inputs' moments; the last layer's (q, k)."""
    x_sq, x_cross = INPUT_MOMENTS[inputs]
    q, k = nv * x_sq, nv * x_cross
    moments, h_sq, h_cross, last = [], [x_sq], [x_cross], (math.nan, math.nan)
    for _ in range(depth):
        if not (math.isfinite(q) and q > 0):
            moments.append((math.nan,) * 4)
            h_sq.append(math.nan)
            h_cross.append(math.nan)
            last = (math.nan, math.nan)
            continue
        m, mk, d2, dk = pair_moments(act, q, k)
        moments.append((m, mk, d2, dk))
        h_sq.append(m)
        h_cross.append(mk)
        last = (q, k)
        q, k = nv * m, nv * mk
    return moments, h_sq, h_cross, last


def _output_delta(act: str, loss: str, moments: tuple[float, ...], last: tuple[float, float], width: int,
                  batch: int) -> tuple[float, float]:
    """E delta_L^2 and E delta_L(a) delta_L(b) at the output: dL/dz_L = f'(z_L) / batch for the sum of the outputs
    over the batch, 2 f(z_L) f'(z_L) / (batch width) for the mean squared error against zeros (torch's MSELoss)."""
    if loss == "sum":
        return moments[2] / batch**2, moments[3] / batch**2
    if not math.isfinite(last[0]):
        return math.nan, math.nan
    sq, cross = loss_moments(act, *last)
    scale = (2.0 / (batch * width)) ** 2
    return scale * sq, scale * cross


def mean_field(act: str, init: str, std: float, width: int, depth: int, batch: int, inputs: str = "gaussian",
               loss: str = "sum") -> tuple[np.ndarray, np.ndarray]:
    """Predicted ||dL/dW_l||_F and rms of dL/dz_l, l = 1..depth, for N(0, 1) or U[0, 1) inputs and either loss.

    ||dW_l||^2 = sum_{a,b} (delta_a . delta_b)(h_a . h_b) over the batch: a diagonal term
    (same sample) and a cross term (two samples), each a product of forward and backward moments.
    """
    nv = width * weight_variance(init, width, width, std)
    moments, h_sq, h_cross, last = _forward(act, nv, depth, inputs)
    d, e = _output_delta(act, loss, moments[-1], last, width, batch)
    norms, signal = np.empty(depth), np.empty(depth)
    for layer in range(depth - 1, -1, -1):
        if layer < depth - 1:
            d, e = nv * moments[layer][2] * d, nv * moments[layer][3] * e
        sq = width**2 * (batch * d * h_sq[layer] + batch * (batch - 1) * e * h_cross[layer])
        norms[layer] = math.sqrt(sq) if sq >= 0 else math.nan
        signal[layer] = math.sqrt(d) if d >= 0 else math.nan
    return norms, signal


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
