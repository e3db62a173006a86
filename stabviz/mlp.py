"""A deep MLP with a chosen initialization, and per-layer statistics of one forward/backward pass.

Shared by the initialization and deep-MLP pages. Weights are set with ``torch.nn.init`` from a
private generator; the statistics come from forward hooks and autograd, never by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from stabviz.nets import activation
from stabviz.params import param

# name -> (torch.nn.init function, keyword arguments); "normal"/"uniform" use the std parameter.
INITS = (
    "normal", "uniform", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform",
    "kaiming_normal_fan_out", "kaiming_uniform_fan_out", "lecun_normal", "orthogonal",
)


def weight_variance(scheme: str, fan_in: int, fan_out: int, std: float = 1.0) -> float:
    """Var(w) each scheme gives a fan_in x fan_out layer (orthogonal: 1/fan_in for square layers)."""
    if scheme in ("normal", "uniform"):
        return std**2
    if scheme.startswith("xavier"):
        return 2.0 / (fan_in + fan_out)
    if scheme.startswith("kaiming"):
        return 2.0 / (fan_out if scheme.endswith("fan_out") else fan_in)
    return 1.0 / fan_in if scheme == "lecun_normal" else 1.0 / max(fan_in, fan_out)


def init_weight(w: torch.Tensor, scheme: str, std: float, g: torch.Generator) -> None:
    """Fill a Linear weight in place with torch.nn.init (ReLU gain for Kaiming, gain 1 otherwise)."""
    init = nn.init
    mode = "fan_out" if scheme.endswith("fan_out") else "fan_in"
    with torch.no_grad():
        if scheme == "normal":
            init.normal_(w, 0.0, std, generator=g)
        elif scheme == "uniform":
            init.uniform_(w, -std * 3**0.5, std * 3**0.5, generator=g)
        elif scheme == "xavier_normal":
            init.xavier_normal_(w, generator=g)
        elif scheme == "xavier_uniform":
            init.xavier_uniform_(w, generator=g)
        elif scheme.startswith("kaiming_normal"):
            init.kaiming_normal_(w, mode=mode, nonlinearity="relu", generator=g)
        elif scheme.startswith("kaiming_uniform"):
            init.kaiming_uniform_(w, mode=mode, nonlinearity="relu", generator=g)
        elif scheme == "lecun_normal":
            init.kaiming_normal_(w, mode="fan_in", nonlinearity="linear", generator=g)
        else:
            init.orthogonal_(w, generator=g)


Loss = Callable[[torch.Tensor], torch.Tensor]  # a network's output -> a scalar loss


@dataclass(frozen=True)
class MLPSpec:
    """Shape and initialization of a plain deep MLP (no biases: the variance laws stay exact)."""

    depth: int  # number of Linear layers
    width: int  # units per hidden layer (and input size)
    activation: str  # a name from stabviz.nets.ACTIVATIONS
    init: str  # a name from INITS
    std: float = 1.0  # weight std for the "normal" and "uniform" schemes
    gain: float = 1.0  # multiplies every weight after initialization


def build_mlp(spec: MLPSpec, g: torch.Generator, dtype: torch.dtype, dev: torch.device) -> nn.Sequential:
    """Linear -> activation, ``depth`` times; the last layer too (so every layer is alike)."""
    layers: list[nn.Module] = []
    for _ in range(spec.depth):
        lin = nn.Linear(spec.width, spec.width, bias=False, device=g.device)
        init_weight(lin.weight, spec.init, spec.std, g)
        if spec.gain != 1.0:
            with torch.no_grad():
                lin.weight.mul_(spec.gain)
        layers += [lin, activation(spec.activation)]
    return nn.Sequential(*layers).to(device=dev, dtype=dtype)


def gaussian_inputs(batch: int, width: int, g: torch.Generator, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """x ~ N(0, I), drawn on the generator's device and moved, so every device sees the same numbers."""
    return torch.randn(batch, width, generator=g, device=g.device).to(device=dev, dtype=dtype)


def layer_stats(model: nn.Sequential, x: torch.Tensor, readout: torch.Tensor | None = None,
                loss: Loss | None = None, keep_pre: dict[int, torch.Tensor] | None = None,
                ) -> tuple[pd.DataFrame, dict[int, torch.Tensor]]:
    """One forward and backward pass with loss = sum(output * readout)/batch (readout: all ones if None), or
    ``loss(output)`` when a loss is given (e.g. the mean squared error against zeros). ``keep_pre``, when given,
    receives each layer's pre-activation (detached), so a caller needs no second forward pass.

    ``readout`` broadcasts against the (batch, width) output. A zero-mean random readout, one row per
    example, is what mean-field theory assumes; the all-ones readout correlates the backward signal
    with the forward weights near the output (for He + ReLU the gradient's second moment then grows
    by ~7% per layer on average over 50 layers instead of staying flat).

    Returns a table with, for each Linear layer l (1 = nearest the input): the variance and the
    mean square of the pre-activation, the variance of the post-activation output, the variance
    and the mean square of dL/d(pre-activation), and the Frobenius norm of the weight gradient
    (inf/nan/0 kept as they are); plus the post-activations by layer.
    """
    outputs: dict[int, torch.Tensor] = {}
    pre: dict[int, torch.Tensor] = {}
    linears = [m for m in model if isinstance(m, nn.Linear)]
    hooks, layer = [], 0
    for m in model:
        if isinstance(m, nn.Linear):
            layer += 1
            hooks.append(m.register_forward_hook(lambda _m, _i, o, k=layer: _keep_grad(pre, k, o)))
        else:
            hooks.append(m.register_forward_hook(lambda _m, _i, o, k=layer: outputs.__setitem__(k, o.detach())))
    try:
        out = model(x)
        (loss(out) if loss is not None else (out if readout is None else out * readout).sum() / x.shape[0]).backward()
    finally:
        for h in hooks:
            h.remove()
    if keep_pre is not None:
        keep_pre.update({k: t.detach() for k, t in pre.items()})
    dev = linears[0].weight.device
    var, mean_square = _moments([t for k in pre for t in (pre[k], outputs[k], pre[k].grad)], dev)
    var, mean_square = var.view(-1, 3), mean_square.view(-1, 3)  # (layer, [pre-activation, output, gradient])
    norms = torch.cat([_norm(lin.weight.grad) for lin in linears])
    stats = torch.stack([  # one tensor, one transfer: no per-value device sync
        var[:, 0], mean_square[:, 0], var[:, 1], var[:, 2], mean_square[:, 2], norms], dim=1).tolist()
    columns = ("pre_var", "pre_ms", "act_var", "grad_var", "grad_ms", "weight_grad_norm")
    rows = [{"layer": k, **dict(zip(columns, row, strict=True))} for k, row in enumerate(stats, start=1)]
    return pd.DataFrame(rows), outputs


def _keep_grad(store: dict[int, torch.Tensor], k: int, t: torch.Tensor) -> None:
    t.retain_grad()
    store[k] = t


F64 = torch.float64  # statistics accumulate in float64: a float32 value below ~1e-19 squares to 0 in
# float32, so a tiny but nonzero signal would read as 0; float16 squares would overflow


def _moments(tensors: list[torch.Tensor | None], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Variance and mean square of each tensor (nan for a missing one; inf/nan propagate): a sum and a dot
    product per tensor, then the arithmetic once for all of them (tiny ops cost ~5 µs each on a CPU)."""
    buffer = torch.empty(max((t.numel() for t in tensors if t is not None), default=0), dtype=F64, device=device)
    sums = torch.stack([_sums(t, buffer) for t in tensors])
    n = torch.tensor([1 if t is None else t.numel() for t in tensors], dtype=F64, device=device)
    mean, mean_square = (sums / n[:, None]).unbind(1)
    return (mean_square - mean * mean) * n / (n - 1).clamp(min=1), mean_square


def _sums(t: torch.Tensor | None, buffer: torch.Tensor) -> torch.Tensor:
    """[sum, sum of squares] of ``t`` copied into the float64 ``buffer``, one buffer for all tensors (why:
    bench/README.md); nan if ``t`` is missing."""
    if t is None:
        return torch.full((2,), float("nan"), dtype=F64, device=buffer.device)
    flat = buffer[: t.numel()]
    flat.copy_(t.detach().reshape(-1))
    return torch.stack([flat.sum(), flat.dot(flat)])


def _norm(t: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(t.detach(), dtype=F64).reshape(1)


def init_param(default: str) -> str:
    """The weight-initialization field, declared alike on every page that has one."""
    return param(default, choices=INITS, vocab="init")


def std_param(default: float, lo: float = 1e-3) -> float:
    """The weight std of the constant-std schemes, declared alike on every page that has one."""
    return param(default, lo=lo, hi=10.0, step=0.01)
