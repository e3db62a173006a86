"""RNN vs LSTM vs GRU: gradients through time, the gates that carry them, and a spectral-radius sweep.

Back-propagation through time multiplies one recurrent Jacobian diag(phi'(a_t)) W_hh per step, so
in a vanilla RNN ||dL_T/dh_t|| shrinks or grows like (rho(W_hh) * typical phi')^(T-t); the LSTM's
cell state is carried by the forget gate (dc_t/dc_{t-1} = f_t with h_{t-1} held) and the GRU's
by z_t. Gradients come from autograd on torch.nn modules; theory lines are labelled as such.
Training on the adding problem lives in :mod:`stabviz.experiments.recurrent_train`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Result, Section
from stabviz.experiments.recurrent_train import TRAIN_USES, train, train_work
from stabviz.nets import value_and_derivative
from stabviz.params import ParamsBase, param
from stabviz.rnn import (
    CELLS,
    INITS,
    VANILLA,
    gate_blocks,
    gru_gates,
    lstm_gates,
    median_norm,
    preactivations,
    previous,
    seeded_cell,
    spec_of,
    spectral_radius,
    stack_states,
    unroll,
)
from stabviz.runtime import device, device_param, dtype, dtype_param, generator, seed_param

SWEEP_RADII = tuple(float(r) for r in np.arange(0.5, 2.0001, 0.125))  # spectral radii of the sweep
STEP_OVERHEAD = 2e5  # multiply-add equivalent of one Python-level module call (about 0.1 ms here)
QUANTILES = (0.1, 0.9)  # band drawn around the mean gate value


@dataclass(frozen=True)
class Params(ParamsBase):
    cells: tuple[str, ...] = param(("rnn_tanh", "lstm", "gru"), choices=CELLS, vocab="cell")
    seq_len: int = param(100, lo=2, hi=2000, widget="slider")
    hidden: int = param(16, lo=1, hi=512)
    input_size: int = param(8, lo=1, hi=256)
    batch: int = param(16, lo=1, hi=512)
    input_std: float = param(1.0, lo=0.0, hi=10.0, step=0.1)
    init: str = param("default", choices=INITS, vocab="rnn_init")
    radius: float = param(1.0, lo=0.0, hi=4.0, step=0.05, widget="slider")
    forget_bias: float = param(2.0, lo=-10.0, hi=10.0, step=0.5)
    train_len: int = param(30, lo=2, hi=1000)
    steps: int = param(500, lo=10, hi=5000)
    lr: float = param(0.02, lo=1e-5, hi=1.0, step=0.001)
    clip: bool = param(True)
    clip_norm: float = param(1.0, lo=1e-3, hi=100.0, step=0.1)
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float32")


def make_cell(p: Params, name: str, **changes: object) -> torch.nn.RNNBase:
    """Cell ``name`` as these params ask for it (``changes`` override CellSpec fields, e.g. the sweep's radius)."""
    spec = replace(spec_of(p, name, p.input_size), **changes)
    return seeded_cell(spec, p.seed, dtype(p.dtype), device(p.device))


def inputs(p: Params) -> torch.Tensor:
    """The (batch, T, input) input sequences, N(0, input_std²), the same for every cell."""
    dev = device(p.device)
    x = torch.randn(p.batch, p.seq_len, p.input_size, generator=generator(p.seed, dev), device=dev)
    return (x * p.input_std).to(dtype(p.dtype))


def _vanilla_factors(module: torch.nn.RNN, x: torch.Tensor, h: torch.Tensor) -> dict[str, float]:
    """rho(W_hh), sigma_max(W_hh) and the rms of phi'(a_t) over the run: the per-step factors of the theory."""
    gi, gh = preactivations(module, x, previous(h))
    dphi = value_and_derivative(module.nonlinearity, (gi + gh).detach().double())[1]
    w = module.weight_hh_l0.detach()
    return {"rho": spectral_radius(w), "sigma_max": float(torch.linalg.matrix_norm(w.double(), 2)),
            "rms_dphi": float(dphi.pow(2).mean().sqrt())}


def _theory_curves(f: dict[str, float], steps: np.ndarray) -> dict[str, np.ndarray]:
    """After k steps back: estimate (rho rms phi')^k (phi' mixing at random), bound sigma_max^k (as |phi'| <= 1)."""
    with np.errstate(over="ignore", under="ignore"):
        return {"estimate": (f["rho"] * f["rms_dphi"]) ** steps, "bound": f["sigma_max"] ** steps}


def _carousel(module: torch.nn.LSTM, x: torch.Tensor, h: torch.Tensor, dc_last: torch.Tensor) -> np.ndarray:
    """Theory of the cell-state path alone, t < T: ||dL/dc_{T-1} * prod_{t<s<T} f_s|| (median over the batch)."""
    f = lstm_gates(module, x, previous(h))["forget"].detach().double()
    tail = torch.cat([f[:, 1:-1], torch.ones_like(f[:, :1])], dim=1).flip(1).cumprod(1).flip(1)
    return median_norm(dc_last.double()[:, None, :] * tail)


def _frame(name: str, state: str, column: str, values: np.ndarray, **extra: str) -> pd.DataFrame:
    """One curve against t = 1, 2, ... as a tidy table."""
    return pd.DataFrame({"cell": name, "state": state, "t": np.arange(1, len(values) + 1), **extra, column: values})


def _cell_through_time(p: Params, name: str, x: torch.Tensor) -> tuple[list[pd.DataFrame], list[pd.DataFrame], dict]:
    """Unroll one cell, back-propagate L = sum(h_T), and tabulate ||dL/dh_t|| (and ||dL/dc_t||)."""
    module = make_cell(p, name)
    hs, cs = unroll(module, x)
    hs[-1].sum().backward()
    h, grads = stack_states(hs, False), median_norm(stack_states(hs, True))
    # The fused LSTM op returns c_T beside h_T, not beneath it, so autograd defines dL/dc_t for t < T only.
    measured = [_frame(name, "h", "grad_norm", grads)]
    with np.errstate(divide="ignore", invalid="ignore"):
        findings, theory = {f"grad_ratio_{name}": float(grads[0] / grads[-1])}, []
    if cs:
        dc = stack_states(cs[:-1], True)
        measured.append(_frame(name, "c", "grad_norm", median_norm(dc)))
        theory.append(_frame(name, "c", "value", _carousel(module, x, h, dc[:, -1]), curve="carousel"))
    if name in VANILLA:
        found = _vanilla_factors(module, x, h)
        findings |= {f"{k}_{name}": v for k, v in found.items()}
        curves = _theory_curves(found, np.arange(p.seq_len - 1, -1, -1, dtype=np.float64))
        theory += [_frame(name, "h", "value", grads[-1] * v, curve=k) for k, v in curves.items()]
    return measured, theory, findings


def through_time(p: Params) -> Result:
    """||dL_T/dh_t|| against t for every chosen cell, measured by autograd, with the theory lines."""
    x, measured, theory, findings = inputs(p), [], [], {}
    for name in p.cells:
        m, th, f = _cell_through_time(p, name, x)
        measured, theory, findings = measured + m, theory + th, findings | f
    empty = pd.DataFrame({"cell": [], "state": [], "t": np.array([], dtype=int), "curve": [], "value": np.array([])})
    theory_table = pd.concat(theory, ignore_index=True) if theory else empty
    return Result({"bptt": pd.concat(measured, ignore_index=True), "bptt_theory": theory_table}, findings)


def _sweep_point(p: Params, name: str, radius: float, x: torch.Tensor) -> dict:
    """||dL/dh_0|| through all T steps for one vanilla cell at one spectral radius (fused module), with its theory."""
    module = make_cell(p, name, init=p.init if p.init != "default" else "orthogonal", radius=radius)
    h0 = torch.zeros(1, p.batch, p.hidden, dtype=x.dtype, device=x.device, requires_grad=True)
    out, h_last = module(x, h0)
    h_last.sum().backward()
    curves = _theory_curves(_vanilla_factors(module, x, out), np.float64(p.seq_len))
    measured = float(median_norm(h0.grad[0][:, None, :])[0])
    return {"cell": name, "radius": radius, "grad_norm": measured,
            **{k: math.sqrt(p.hidden) * v for k, v in curves.items()}}


def sweep(p: Params) -> Result:
    """Gradient at h_0 of both vanilla RNNs over a grid of spectral radii (default init: orthogonal x r)."""
    x = inputs(p)
    table = pd.DataFrame([_sweep_point(p, name, r, x) for name in VANILLA for r in SWEEP_RADII])
    return Result({"sweep": table})


def _band(gate: str, values: torch.Tensor) -> pd.DataFrame:
    """Mean and 10-90 % band over batch and units of a (batch, T, H) gate, per step."""
    v = values.detach().double().transpose(0, 1).flatten(1)
    lo, hi = torch.quantile(v, torch.tensor(QUANTILES, dtype=v.dtype, device=v.device), dim=1).cpu().numpy()
    return pd.DataFrame({"gate": gate, "t": np.arange(1, v.shape[0] + 1), "mean": v.mean(1).cpu().numpy(),
                         "lo": lo, "hi": hi})


def _cell_path(module: torch.nn.LSTM, x: torch.Tensor, h_prev: torch.Tensor, g: dict) -> tuple[torch.Tensor, float]:
    """dc_t/dc_{t-1} (h_{t-1} held) by autograd through the module, every step as one batch; and the c_t check."""
    c = torch.zeros_like(g["forget"])
    for t in range(c.shape[1]):
        c[:, t] = g["forget"][:, t] * (c[:, t - 1] if t else 0) + g["input"][:, t] * g["candidate"][:, t]
    size = (1, -1, c.shape[-1])
    c_prev = previous(c.detach()).reshape(size).requires_grad_(True)
    _, (_, c_new) = module(x.reshape(-1, 1, x.shape[-1]), (h_prev.reshape(size), c_prev))
    (dc,) = torch.autograd.grad(c_new.sum(), c_prev)
    return dc.reshape(c.shape), float((c_new.detach().reshape(c.shape) - c).abs().max())


def gates(p: Params) -> Result:
    """LSTM forget/input/output gates and its cell-state path, and the GRU's update share 1 - z_t, over time."""
    x = inputs(p)
    lstm, gru = make_cell(p, "lstm"), make_cell(p, "gru")
    with torch.no_grad():
        h_lstm, h_gru = lstm(x)[0], gru(x)[0]
        lg, gg = lstm_gates(lstm, x, previous(h_lstm)), gru_gates(gru, x, previous(h_gru))
    h_check = (1 - gg["update"]) * gg["candidate"] + gg["update"] * previous(h_gru)
    dc, c_error = _cell_path(lstm, x, previous(h_lstm), lg)
    lstm_table = [_band(k, lg[k]) for k in ("forget", "input", "output")] + [_band("dc_dc_prev", dc)]
    gru_table = [_band("one_minus_z", 1 - gg["update"]), _band("z", gg["update"]), _band("reset", gg["reset"])]
    findings = {
        "forget_first": float(lg["forget"][:, 0].double().mean()),
        "forget_sigmoid_b": 1 / (1 + math.exp(-p.forget_bias)),
        "forget_mean": float(lg["forget"].double().mean()),
        "update_share_mean": float((1 - gg["update"]).double().mean()),
        "cell_path_error": float((dc - lg["forget"]).abs().max()), "cell_recompute_error": c_error,
        "gru_recompute_error": float((h_check - h_gru).abs().max()),
    }
    return Result({"lstm_gates": pd.concat(lstm_table, ignore_index=True),
                   "gru_gates": pd.concat(gru_table, ignore_index=True)}, findings)


def _step_macs(p: Params, gate_blocks: int, batch: int) -> float:
    """Multiply-adds of one time step forward and backward for ``gate_blocks`` H x H blocks."""
    return 3.0 * gate_blocks * p.hidden * (p.input_size + p.hidden) * batch


def _through_time_work(p: Params) -> float:
    return p.seq_len * (_step_macs(p, gate_blocks(p.cells), p.batch) + STEP_OVERHEAD * len(p.cells))


def _sweep_work(p: Params) -> float:
    return len(SWEEP_RADII) * p.seq_len * (_step_macs(p, len(VANILLA), p.batch) + STEP_OVERHEAD / 10)


def _gates_work(p: Params) -> float:
    return p.seq_len * (2 * _step_macs(p, gate_blocks(("lstm", "gru")), p.batch) + STEP_OVERHEAD / 10)


SECTIONS = (
    Section("through_time", through_time, work=_through_time_work, uses=(
        "cells", "seq_len", "hidden", "input_size", "batch", "input_std", "init", "radius", "forget_bias",
        "seed", "device", "dtype")),
    Section("sweep", sweep, work=_sweep_work, uses=(
        "seq_len", "hidden", "input_size", "batch", "input_std", "init", "seed", "device", "dtype")),
    Section("gates", gates, work=_gates_work, uses=(
        "seq_len", "hidden", "input_size", "batch", "input_std", "init", "radius", "forget_bias",
        "seed", "device", "dtype")),
    Section("train", train, uses=TRAIN_USES, work=train_work, long=True),
)
