"""RNN vs LSTM vs GRU: gradients through time, the gates that carry them, and a spectral-radius sweep.

Back-propagation through time multiplies one recurrent Jacobian diag(phi'(a_t)) W_hh per step, so
in a vanilla RNN ||dL_T/dh_t|| shrinks or grows like (rho(W_hh) * typical phi')^(T-t); the LSTM's
cell state is carried by the forget gate (dc_t/dc_{t-1} = f_t with h_{t-1} held) and the GRU's
by z_t. Gradients come from autograd on torch.nn modules; theory lines are labelled as such.
The theory (factors, product of Jacobians, gate paths) lives in :mod:`stabviz.experiments.recurrent_theory`,
training on the adding problem in :mod:`stabviz.experiments.recurrent_train`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Finding, Result, Section
from stabviz.experiments.recurrent_theory import (
    carousel,
    chain_error,
    chain_product,
    gru_path_ratio,
    sweep_findings,
    theory_curves,
    vanilla_factors,
)
from stabviz.experiments.recurrent_train import OPTIMIZERS, TRAIN_USES, train, train_work
from stabviz.params import ParamsBase, param
from stabviz.rnn import (
    CELLS,
    INITS,
    VANILLA,
    gate_blocks,
    gru_gates,
    lstm_gates,
    median_norm,
    previous,
    seeded_cell,
    spec_of,
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
    std: float = param(0.1, lo=0.0, hi=10.0, step=0.01)
    bias: bool = param(True)
    update_bias: float = param(0.0, lo=-10.0, hi=10.0, step=0.5)
    train_len: int = param(30, lo=2, hi=1000)
    steps: int = param(500, lo=10, hi=5000)
    lr: float = param(0.02, lo=1e-5, hi=1.0, step=0.001)
    clip: bool = param(True)
    clip_norm: float = param(1.0, lo=1e-3, hi=100.0, step=0.1)
    optimizer: str = param("adam", choices=OPTIMIZERS, vocab="optimizer")
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


def _frame(name: str, state: str, column: str, values: np.ndarray, **extra: str) -> pd.DataFrame:
    """One curve against t = 1, 2, ... as a tidy table."""
    return pd.DataFrame({"cell": name, "state": state, "t": np.arange(1, len(values) + 1), **extra, column: values})


def _ratio(values: np.ndarray) -> float:
    """First over last entry (t = 1 against the last step), inf/nan kept."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(values[0] / values[-1])


def _vanilla_theory(p: Params, name: str, module: torch.nn.RNN, x: torch.Tensor, h: torch.Tensor,
                    grads: np.ndarray, dh: torch.Tensor) -> tuple[list[pd.DataFrame], dict]:
    """The estimate and bound lines, their ratios over T - 1 steps, and the product of factors against autograd."""
    found = vanilla_factors(module, x, h)
    curves = theory_curves(found, np.arange(p.seq_len - 1, -1, -1, dtype=np.float64))
    findings = {f"{k}_{name}": v for k, v in found.items()}
    findings |= {f"ratio_{k}_{name}": float(v[0]) for k, v in curves.items()}
    findings[f"chain_error_{name}"] = chain_error(dh, chain_product(module, x, h), p.dtype)
    return [_frame(name, "h", "value", grads[-1] * v, curve=k) for k, v in curves.items()], findings


def _cell_through_time(p: Params, name: str, x: torch.Tensor) -> tuple[list[pd.DataFrame], list[pd.DataFrame], dict]:
    """Unroll one cell, back-propagate L = sum(h_T), and tabulate ||dL/dh_t|| (and ||dL/dc_t||)."""
    module = make_cell(p, name)
    hs, cs = unroll(module, x)
    hs[-1].sum().backward()
    h, dh = stack_states(hs, False), stack_states(hs, True)
    grads = median_norm(dh)
    # The fused LSTM op returns c_T beside h_T, not beneath it, so autograd defines dL/dc_t for t < T only.
    measured, theory = [_frame(name, "h", "grad_norm", grads)], []
    findings = {f"grad_ratio_{name}": _ratio(grads)}
    if cs:
        dc = stack_states(cs[:-1], True)
        dc_norm, path = median_norm(dc), carousel(module, x, h, dc[:, -1])
        measured.append(_frame(name, "c", "grad_norm", dc_norm))
        theory.append(_frame(name, "c", "value", path, curve="carousel"))
        findings |= {f"grad_ratio_c_{name}": _ratio(dc_norm), f"carousel_ratio_{name}": _ratio(path)}
    if name == "gru":
        findings["path_ratio_gru"] = gru_path_ratio(module, x, h)
    if name in VANILLA:
        lines, found = _vanilla_theory(p, name, module, x, h, grads, dh)
        theory, findings = theory + lines, findings | found
    return measured, theory, findings


def through_time(p: Params) -> Result:
    """||dL_T/dh_t|| against t for every chosen cell, measured by autograd, with the theory lines."""
    x, measured, theory, findings = inputs(p), [], [], {}
    if p.init == "normal":  # circular law: an n x n matrix of N(0, s²) entries has its eigenvalues in |z| <= s sqrt(n)
        findings["circular_rho"] = p.std * math.sqrt(p.hidden)
    for name in p.cells:
        m, th, f = _cell_through_time(p, name, x)
        measured, theory, findings = measured + m, theory + th, findings | f
    empty = pd.DataFrame({"cell": [], "state": [], "t": np.array([], dtype=int), "curve": [], "value": np.array([])})
    theory_table = pd.concat(theory, ignore_index=True) if theory else empty
    return Result({"bptt": pd.concat(measured, ignore_index=True), "bptt_theory": theory_table}, findings)


def _sweep_point(p: Params, name: str, radius: float, x: torch.Tensor) -> dict:
    """||dL/dh_0|| through all T steps for one vanilla cell at one spectral radius (fused module), with its theory."""
    module = make_cell(p, name, init=sweep_init(p.init), radius=radius)
    h0 = torch.zeros(1, p.batch, p.hidden, dtype=x.dtype, device=x.device, requires_grad=True)
    out, h_last = module(x, h0)
    h_last.sum().backward()
    curves = theory_curves(vanilla_factors(module, x, out), np.float64(p.seq_len))
    measured = float(median_norm(h0.grad[0][:, None, :])[0])
    return {"cell": name, "radius": radius, "grad_norm": measured,
            **{k: math.sqrt(p.hidden) * v for k, v in curves.items()}}


def sweep_init(init: str) -> str:
    """The sweep's init, which sets the spectral radius r: orthogonal for torch's default, rescaled Gaussian for
    N(0, std²)."""
    return {"default": "orthogonal", "normal": "radius"}.get(init, init)


def sweep(p: Params) -> Result:
    """Gradient at h_0 of both vanilla RNNs over a grid of spectral radii (default init: orthogonal x r)."""
    x = inputs(p)
    table = pd.DataFrame([_sweep_point(p, name, r, x) for name in VANILLA for r in SWEEP_RADII])
    return Result({"sweep": table}, sweep_findings(table, p.hidden))


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
        "update_first": float(gg["update"][:, 0].double().mean()),
        "update_sigmoid_b": 1 / (1 + math.exp(-p.update_bias)),
        "update_mean": float(gg["update"].double().mean()),
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


CELL_USES = ("hidden", "init", "radius", "forget_bias", "std", "bias", "update_bias")  # what spec_of reads
SECTIONS = (
    Section("through_time", through_time, work=_through_time_work, uses=(
        "cells", "seq_len", "input_size", "batch", "input_std", *CELL_USES, "seed", "device", "dtype"),
        findings=(Finding("grad_ratio_*", theory="ratio_estimate_*"),)),
    Section("sweep", sweep, work=_sweep_work, uses=(
        "seq_len", "hidden", "input_size", "batch", "input_std", "init", "bias", "seed", "device", "dtype"),
        findings=(Finding("edge_radius_*", theory="estimate_edge_radius_*"),
                  Finding("grad_at_r1_*", theory="estimate_at_r1_*"))),
    Section("gates", gates, work=_gates_work, uses=(
        "seq_len", "input_size", "batch", "input_std", *CELL_USES, "seed", "device", "dtype"),
        findings=(Finding("forget_first", theory="forget_sigmoid_b"), Finding("forget_mean"),
                  Finding("update_first", theory="update_sigmoid_b"), Finding("update_mean"))),
    Section("train", train, uses=TRAIN_USES, work=train_work, long=True, findings=tuple(Finding(f"{k}_*") for k in (
        "final_loss", "max_grad_norm", "clipped_share", "nonfinite_steps"))),
)
