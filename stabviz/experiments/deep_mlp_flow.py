"""The gradient-flow section of the deep-MLP page: one forward and backward pass through a bias-free MLP.

Per layer, autograd's weight gradient is summarised by its Frobenius norm and by the mean of its
entries (the statistic of the lecture notes' code, signed), beside the mean-field prediction of the
norm; the activation's derivative f'(z) at every unit (autograd) is the diagonal of each layer's
Jacobian. Inputs are N(0, 1) or uniform on [0, 1) (``torch.rand``, as in the notes); the loss is the
sum of the outputs over the batch, or the mean squared error against zeros (``torch.nn.MSELoss``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from stabviz.experiments import Result
from stabviz.experiments.deep_mlp_theory import mean_field
from stabviz.experiments.deep_mlp_train import dtype_cost
from stabviz.mlp import Loss, build_mlp, layer_stats
from stabviz.nets import value_and_derivative
from stabviz.runtime import device, dtype, generator
from stabviz.states import STATES, state_of

FLOW_INPUTS = ("gaussian", "uniform")
FLOW_LOSSES = ("sum", "mse")
FLOW_STATISTICS = ("norm", "mean", "signal")
WEIGHT_COST = 20.0  # per-weight cost of initialising, storing and reducing a gradient, in multiply-adds


def flow_inputs(kind: str, batch: int, width: int, g: torch.Generator) -> torch.Tensor:
    """x ~ N(0, I) (torch.randn), or uniform on [0, 1) (torch.rand, the notes' inputs), in float32."""
    draw = torch.randn if kind == "gaussian" else torch.rand
    return draw(batch, width, generator=g)


def flow_loss(name: str) -> Loss | None:
    """None for layer_stats' own sum(output) / batch; MSELoss against zeros for "mse"."""
    if name == "sum":
        return None
    return lambda out: F.mse_loss(out, torch.zeros_like(out))


def _entry_stats(model: nn.Sequential) -> pd.DataFrame:
    """Per Linear layer: the mean of the weight-gradient entries (float64) and the shares that are 0 and inf/nan."""
    grads = [m.weight.grad for m in model if isinstance(m, nn.Linear)]
    return pd.DataFrame({
        "weight_grad_mean": [float(g.double().mean()) for g in grads],
        "zero_frac": [int((g == 0).sum()) / g.numel() for g in grads],
        "nonfinite_frac": [int((~torch.isfinite(g)).sum()) / g.numel() for g in grads],
    })


def _derivatives(pre: dict[int, torch.Tensor], act: str) -> tuple[pd.DataFrame, float]:
    """Per layer the mean and max of f'(z) over batch and units (autograd), and the share of all f' in {0, 1}."""
    rows, binary, total = [], 0, 0
    for k in sorted(pre):
        d = value_and_derivative(act, pre[k].double())[1]
        rows.append({"act_deriv_mean": float(d.mean()), "act_deriv_max": float(d.max())})
        binary += int(((d == 0) | (d == 1)).sum())
        total += d.numel()
    return pd.DataFrame(rows), binary / total


def gradient_flow(p: Any) -> Result:
    """Per-layer weight-gradient norms and means of one backward pass, in the chosen dtype, beside mean-field theory."""
    dev, g = device(p.device), generator(p.seed)
    model = build_mlp(p.spec(), g, dtype(p.dtype), dev)
    x = flow_inputs(p.inputs, p.batch, p.width, g).to(device=dev, dtype=dtype(p.dtype))
    pre: dict[int, torch.Tensor] = {}
    stats, _ = layer_stats(model, x, loss=flow_loss(p.loss), keep_pre=pre)
    derivs, binary = _derivatives(pre, p.activation)
    table = pd.concat([stats, _entry_stats(model), derivs], axis=1)
    table["state"] = state_of(table["weight_grad_norm"])
    table["mean_state"] = state_of(table["weight_grad_mean"])
    table["dtype"] = p.dtype
    theory, signal = mean_field(p.activation, p.init, p.std, p.width, p.depth, p.batch, p.inputs, p.loss)
    layers = np.arange(1, p.depth + 1)
    tables = {"gradient_flow": table,
              "gradient_flow_theory": pd.DataFrame({"layer": layers, "curve": "mean_field", "value": theory}),
              "gradient_flow_signal_theory": pd.DataFrame({"layer": layers, "curve": "mean_field", "value": signal})}
    findings = {**_norm_findings(table, theory), **_mean_findings(table), **_signal_findings(table, signal),
                **_derivative_findings(table, binary), "flow_input_mean": float(x.double().mean())}
    return Result(tables, findings)


def _factor(layers: np.ndarray, values: np.ndarray) -> float:
    """Factor per layer towards the input of a least-squares fit of log10 |value| (finite, nonzero ones)."""
    size = np.abs(values)
    ok = np.isfinite(size) & (size > 0)
    return float(10 ** -np.polyfit(layers[ok], np.log10(size[ok]), 1)[0]) if ok.sum() >= 2 else math.nan


def _theory_factor(theory: np.ndarray) -> float:
    """(first / last) ** (1 / (layers - 1)) over the finite, positive theory values: the per-layer factor."""
    t = theory[np.isfinite(theory) & (theory > 0)]
    return float((t[0] / t[-1]) ** (1 / (t.size - 1))) if t.size >= 2 else math.nan


def _signal_findings(table: pd.DataFrame, theory: np.ndarray) -> dict:
    """rms of dL/dz (the product of the Jacobians above a layer): its factor per layer, fitted and predicted."""
    rms = np.sqrt(table["grad_ms"].to_numpy())
    return {"flow_signal_factor_per_layer": _factor(table["layer"].to_numpy(), rms),
            "flow_signal_factor_per_layer_theory": _theory_factor(theory),
            "flow_signal_ratio_first_last": float(rms[0] / rms[-1]) if rms[-1] != 0 else math.nan}


def _norm_findings(table: pd.DataFrame, theory: np.ndarray) -> dict:
    """Factor by which the gradient norm changes per layer towards the input (fit and theory); state counts."""
    norms = table["weight_grad_norm"].to_numpy()
    counts = table["state"].value_counts()
    return {
        "flow_factor_per_layer": _factor(table["layer"].to_numpy(), norms),
        "flow_factor_per_layer_theory": _theory_factor(theory),
        "flow_ratio_first_last": float(norms[0] / norms[-1]) if norms[-1] != 0 else math.nan,
        "flow_ratio_first_last_theory": float(theory[0] / theory[-1]) if theory[-1] != 0 else math.nan,
        **{f"flow_layers_{s}": int(counts.get(s, 0)) for s in STATES},
    }


def _mean_findings(table: pd.DataFrame) -> dict:
    """The signed mean gradient of the first and last layer, |first| / |last|, the fitted factor, signs."""
    means = table["weight_grad_mean"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = abs(means[0]) / abs(means[-1])
    return {
        "flow_mean_first": float(means[0]), "flow_mean_last": float(means[-1]),
        "flow_mean_ratio_first_last": float(ratio) if means[-1] != 0 else math.nan,
        "flow_mean_factor_per_layer": _factor(table["layer"].to_numpy(), means),
        "flow_mean_positive_layers": int((means > 0).sum()), "flow_mean_negative_layers": int((means < 0).sum()),
    }


def _derivative_findings(table: pd.DataFrame, binary: float) -> dict:
    """f'(z) over every unit of every layer: its largest and mean value, and the share exactly 0 or 1 (ReLU: all)."""
    return {"flow_act_derivative_max": float(table["act_deriv_max"].max()),
            "flow_act_derivative_mean": float(table["act_deriv_mean"].mean()),
            "flow_act_derivative_binary_frac": float(binary)}


def flow_work(p: Any) -> float:
    """Multiply-adds of the passes (in the dtype's cost) plus the per-weight work."""
    return p.depth * p.width**2 * (3.0 * p.batch * dtype_cost(p.dtype, p.width) + WEIGHT_COST)
