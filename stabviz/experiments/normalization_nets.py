"""Builders for the normalization page: deep MLP or small conv net, blocks with a chosen norm.

A block is ``x -> Linear/Conv -> Norm -> act`` ("post", as in the BatchNorm paper) or
``x -> Norm -> Linear/Conv -> act`` ("pre", as in pre-activation ResNets and Pre-LN
Transformers), optionally with a skip connection ``x + block(x)``. Every norm is a torch.nn
module; statistics come from hooks and autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from stabviz.mlp import init_weight
from stabviz.nets import activation, value_and_derivative

NORMS = ("none", "batch", "layer", "group", "instance", "rms")
BATCH_FREE = ("layer", "group", "instance", "rms")  # norms whose output for a sample ignores the rest of the batch
MLP_NORMS = tuple(n for n in NORMS if n != "instance")  # InstanceNorm needs spatial positions (conv only)
ARCHS = ("mlp", "conv")


@dataclass(frozen=True)
class NetSpec:
    """Shape, normalization and initialization of a stack of equal blocks."""

    arch: str  # "mlp" (Linear on width features) or "conv" (3x3 Conv2d on width channels of size x size)
    depth: int  # number of blocks
    width: int  # features (mlp) or channels (conv)
    norm: str  # a name from NORMS
    groups: int  # requested GroupNorm groups (the largest divisor of width not above it is used)
    placement: str  # "pre" or "post"
    residual: bool  # add the block's input to its output
    activation: str  # a name from stabviz.nets.ACTIVATIONS
    init: str  # a name from stabviz.mlp.INITS
    std: float = 1.0  # weight std of the "normal" and "uniform" schemes
    size: int = 8  # image side of the conv net


def groups_used(width: int, groups: int) -> int:
    """The largest divisor of ``width`` that does not exceed ``groups`` (GroupNorm needs one)."""
    return max(d for d in range(1, min(width, groups) + 1) if width % d == 0)


def applicable(norms: tuple[str, ...], arch: str) -> tuple[str, ...]:
    """The chosen norms that the architecture supports (InstanceNorm is conv only); ("none",) if none is."""
    return tuple(n for n in norms if arch == "conv" or n in MLP_NORMS) or ("none",)


def norm_layer(spec: NetSpec) -> nn.Module:
    """The torch.nn normalization module for one block (Identity for "none")."""
    w, conv = spec.width, spec.arch == "conv"
    whole = (w, spec.size, spec.size) if conv else (w,)
    if spec.norm == "batch":
        return nn.BatchNorm2d(w) if conv else nn.BatchNorm1d(w)
    if spec.norm == "layer":
        return nn.LayerNorm(whole)
    if spec.norm == "group":
        return nn.GroupNorm(groups_used(w, spec.groups), w)
    if spec.norm == "instance":
        return nn.InstanceNorm2d(w, affine=True)
    return nn.RMSNorm(whole) if spec.norm == "rms" else nn.Identity()


class Block(nn.Module):
    """One layer: weight, norm and activation in the chosen order, with an optional skip."""

    def __init__(self, spec: NetSpec, g: torch.Generator) -> None:
        super().__init__()
        w = spec.width
        self.weight = nn.Conv2d(w, w, 3, padding=1, bias=False) if spec.arch == "conv" else nn.Linear(w, w, bias=False)
        init_weight(self.weight.weight, spec.init, spec.std, g)
        self.norm, self.act = norm_layer(spec), activation(spec.activation)
        self.pre, self.residual = spec.placement == "pre", spec.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pre: act(W norm(x)); post: act(norm(W x)); plus x when residual."""
        y = self.act(self.weight(self.norm(x)) if self.pre else self.norm(self.weight(x)))
        return x + y if self.residual else y


def build(spec: NetSpec, g: torch.Generator, dtype: torch.dtype, dev: torch.device) -> nn.Sequential:
    """``depth`` blocks, weights drawn from the private generator."""
    return nn.Sequential(*(Block(spec, g) for _ in range(spec.depth))).to(device=dev, dtype=dtype)


def inputs(spec: NetSpec, batch: int, g: torch.Generator, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """A batch of standard-normal inputs shaped for the net."""
    shape = (batch, spec.width, spec.size, spec.size) if spec.arch == "conv" else (batch, spec.width)
    return torch.randn(shape, generator=g, device=dev, dtype=torch.float64).to(dtype)


def readout_loss(out: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A fixed random projection of the output, averaged over the batch.

    Not sum(out): a sum over the batch of BatchNorm outputs is constant, so its gradient would be 0.
    """
    r = torch.randn(out.shape, generator=g, device=out.device, dtype=torch.float64).to(out.dtype)
    return (out * r).sum() / out.shape[0]


def layer_profile(model: nn.Sequential, x: torch.Tensor, g: torch.Generator, act: str,
                  threshold: float) -> pd.DataFrame:
    """Per block: mean/std of its output, fraction of saturated units, and ||dL/dW|| by autograd."""
    outs: dict[int, torch.Tensor] = {}
    pre: dict[int, torch.Tensor] = {}
    hooks = [b.register_forward_hook(lambda _m, _i, o, k=k: outs.__setitem__(k, o.detach()))
             for k, b in enumerate(model, 1)]
    hooks += [b.act.register_forward_hook(lambda _m, i, _o, k=k: pre.__setitem__(k, i[0].detach()))
              for k, b in enumerate(model, 1)]
    try:
        readout_loss(model(x), g).backward()
    finally:
        for h in hooks:
            h.remove()
    return pd.DataFrame([{
        "layer": k,
        "act_mean": float(outs[k].double().mean()),
        "act_std": float(outs[k].double().std()),
        "saturated": saturated_fraction(act, pre[k], threshold),
        "grad_norm": float(b.weight.weight.grad.double().norm()),
    } for k, b in enumerate(model, 1)])


def saturated_fraction(act: str, z: torch.Tensor, threshold: float) -> float:
    """Share of units whose activation derivative |f'(z)| (by autograd) is below ``threshold``; nan if any is nan."""
    df = value_and_derivative(act, z.double())[1].abs()
    return float((df < threshold).double().mean()) if not df.isnan().any() else math.nan


def _normal_nodes(act: str, points: int = 20_001) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quadrature nodes z, weights of the N(0, 1) density, and f'(z) by autograd, for Gaussian expectations."""
    z = torch.linspace(-12.0, 12.0, points, dtype=torch.float64)
    w = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    return z, w, value_and_derivative(act, z)[1]


def normal_saturation(act: str, threshold: float) -> float:
    """Theory: the saturated share when pre-activations are N(0, 1), as a normalized layer makes them."""
    _, w, df = _normal_nodes(act)
    return float((w * (df.abs() < threshold)).sum())


def normal_moments(act: str) -> tuple[float, float]:
    """Theory: mean and std of f(z) for z ~ N(0, 1), what a post-norm block outputs."""
    z, w, _ = _normal_nodes(act)
    f = value_and_derivative(act, z)[0]
    mean = float((w * f).sum())
    return mean, math.sqrt(max(float((w * f**2).sum()) - mean**2, 0.0))


def block_macs(spec: NetSpec, batch: int) -> float:
    """Multiply-adds of one block's forward pass."""
    if spec.arch == "conv":
        return 9.0 * batch * spec.width**2 * spec.size**2
    return float(batch * spec.width**2)
