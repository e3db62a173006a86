"""Recurrent cells from torch.nn with a chosen recurrent initialization, and their gates recomputed.

Shared by the recurrent page's sections. Modules are built on the meta device and every weight is
then drawn from a private generator, so torch's global RNG is never touched. Gradients through
time come from autograd on the per-step states (``retain_grad``), never by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from stabviz.runtime import generator

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
VANILLA = ("rnn_tanh", "rnn_relu")  # the cells with a single nonlinearity, h_t = phi(W_ih x_t + W_hh h_{t-1} + b)
GATE_BLOCKS = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}  # H x H blocks stacked in W_hh
INITS = ("default", "orthogonal", "identity", "radius", "normal")


@dataclass(frozen=True)
class CellSpec:
    """Shape and initialization of one single-layer recurrent module."""

    cell: str  # a name from CELLS
    input_size: int  # features per time step
    hidden: int  # hidden units H
    init: str = "default"  # a name from INITS, applied to each gate's H x H block of W_hh
    radius: float = 1.0  # the scale r of the orthogonal, identity and Gaussian inits
    forget_bias: float = 0.0  # LSTM forget-gate bias (b_if + b_hf); ignored by the other cells
    std: float = 1.0  # entry std of the "normal" init, W_hh ~ N(0, std²)
    bias: bool = True  # False: every bias is 0 (then only forget_bias and update_bias set gate biases)
    update_bias: float = 0.0  # added to the GRU's update-gate bias b_iz; ignored by the other cells


def _empty_module(spec: CellSpec) -> nn.RNNBase:
    """The torch.nn module for a cell name, on the meta device in float64 (drawn exactly, then cast)."""
    size = (spec.input_size, spec.hidden)
    if spec.cell in VANILLA:
        return nn.RNN(*size, nonlinearity=spec.cell[4:], batch_first=True, device="meta", dtype=torch.float64)
    return (nn.LSTM if spec.cell == "lstm" else nn.GRU)(*size, batch_first=True, device="meta", dtype=torch.float64)


def fill_uniform(module: nn.Module, bound: float, g: torch.Generator) -> None:
    """Every parameter from U(-bound, bound): torch's own default init, drawn from ``g``."""
    with torch.no_grad():
        for w in module.parameters():
            nn.init.uniform_(w, -bound, bound, generator=g)


def spectral_radius(w: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix (in float64)."""
    return float(torch.linalg.eigvals(w.detach().double().cpu()).abs().max())


def init_recurrent(w: torch.Tensor, init: str, radius: float, g: torch.Generator, std: float = 1.0) -> None:
    """Fill one H x H recurrent block in place; ``default`` keeps torch's uniform draw."""
    with torch.no_grad():
        if init == "normal":
            nn.init.normal_(w, 0.0, std, generator=g)
        elif init == "orthogonal":
            nn.init.orthogonal_(w, gain=radius, generator=g)
        elif init == "identity":
            w.copy_(radius * torch.eye(w.shape[0], dtype=w.dtype, device=w.device))
        elif init == "radius":
            nn.init.normal_(w, generator=g)
            w.mul_(radius / spectral_radius(w))


def build_cell(spec: CellSpec, g: torch.Generator, dtype: torch.dtype, dev: torch.device) -> nn.RNNBase:
    """A one-layer batch-first RNN/LSTM/GRU with every weight drawn from ``g``."""
    module = _empty_module(spec).to_empty(device=dev)
    fill_uniform(module, 1 / math.sqrt(spec.hidden), g)
    for block in module.weight_hh_l0.split(spec.hidden):
        init_recurrent(block, spec.init, spec.radius, g, spec.std)
    _set_biases(module, spec)
    return module.to(dtype)


def _set_biases(module: nn.RNNBase, spec: CellSpec) -> None:
    """Zero the biases if asked; the LSTM's forget-gate bias := forget_bias; the GRU's b_iz += update_bias."""
    gate = slice(spec.hidden, 2 * spec.hidden)  # torch's second gate block: LSTM forget f, GRU update z
    with torch.no_grad():
        if not spec.bias:
            module.bias_ih_l0.zero_()
            module.bias_hh_l0.zero_()
        if spec.cell == "lstm":
            module.bias_ih_l0[gate] = spec.forget_bias
            module.bias_hh_l0[gate] = 0.0
        elif spec.cell == "gru":
            module.bias_ih_l0[gate] += spec.update_bias


def gate_blocks(cells: tuple[str, ...]) -> int:
    """H x H blocks of W_hh summed over cells: the cost of a time step in units of H(I + H) multiply-adds."""
    return sum(GATE_BLOCKS[c] for c in cells)


def spec_of(p: Any, cell: str, input_size: int) -> CellSpec:
    """The CellSpec a page's params ask for (hidden, init, radius, forget_bias, std, bias, update_bias)."""
    return CellSpec(cell, input_size, p.hidden, p.init, p.radius, p.forget_bias, p.std, p.bias, p.update_bias)


def seeded_cell(spec: CellSpec, seed: int, dtype: torch.dtype, dev: torch.device) -> nn.RNNBase:
    """Build a cell from its own generator, so its weights do not depend on which other cells are chosen."""
    return build_cell(spec, generator(seed + 1 + CELLS.index(spec.cell), dev), dtype, dev)


def unroll(module: nn.RNNBase, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Step the module one time step at a time so every h_t (and LSTM c_t) keeps its gradient."""
    state, hs, cs = None, [], []
    for t in range(x.shape[1]):
        _, state = module(x[:, t: t + 1], state)
        for kept, s in zip((hs, cs), state if isinstance(state, tuple) else (state,), strict=False):
            s.retain_grad()
            kept.append(s)
    return hs, cs


def stack_states(states: list[torch.Tensor], grad: bool) -> torch.Tensor:
    """Per-step states (1, batch, H) from :func:`unroll` -> one (batch, T, H) tensor of their values or gradients."""
    return torch.stack([(s.grad if grad else s.detach())[0] for s in states], dim=1)


def median_norm(g: torch.Tensor) -> np.ndarray:
    """Median over the batch of each sequence's gradient norm, (batch, T, H) -> (T,), in float64; inf/nan kept."""
    return g.double().norm(dim=-1).median(dim=0).values.cpu().numpy()


def previous(h: torch.Tensor) -> torch.Tensor:
    """h_{t-1} for every step of a (batch, T, H) sequence, with h_0 = 0."""
    return torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)


def preactivations(module: nn.RNNBase, x: torch.Tensor, h_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """W_ih x_t + b_ih and W_hh h_{t-1} + b_hh at every step at once (gates stacked in torch's order)."""
    gi = F.linear(x, module.weight_ih_l0, module.bias_ih_l0)
    return gi, F.linear(h_prev, module.weight_hh_l0, module.bias_hh_l0)


def lstm_gates(module: nn.LSTM, x: torch.Tensor, h_prev: torch.Tensor) -> dict[str, torch.Tensor]:
    """Input, forget, candidate and output gates of an LSTM (torch order i, f, g, o)."""
    gi, gh = preactivations(module, x, h_prev)
    i, f, cand, o = (gi + gh).chunk(4, dim=-1)
    return {"input": torch.sigmoid(i), "forget": torch.sigmoid(f), "candidate": torch.tanh(cand),
            "output": torch.sigmoid(o)}


def gru_gates(module: nn.GRU, x: torch.Tensor, h_prev: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reset r, update z and candidate n of a GRU; h_t = (1 - z) n + z h_{t-1} (torch order r, z, n)."""
    gi, gh = preactivations(module, x, h_prev)
    (ri, zi, ni), (rh, zh, nh) = gi.chunk(3, dim=-1), gh.chunk(3, dim=-1)
    r = torch.sigmoid(ri + rh)
    return {"reset": r, "update": torch.sigmoid(zi + zh), "candidate": torch.tanh(ni + r * nh)}
