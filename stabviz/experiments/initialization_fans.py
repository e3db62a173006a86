"""One layer of n_in inputs and n_out outputs: what each initialization does to its weights and signals.

Xavier's argument in one table: a layer y = W x with Var(w) = sigma^2 multiplies the forward
variance by n_in sigma^2 and the backward variance (of W^T g) by n_out sigma^2, so both are kept
only when n_in = n_out; Xavier's compromise sigma^2 = 2 / (n_in + n_out) (uniform: a = sqrt(6 / (n_in +
n_out))) and He's sigma^2 = 2 / n_in for ReLU, which zeroes half the units (uniform: a = sqrt(6 / n_in)).
The weights are drawn by torch.nn.init and the signals pushed through by torch; the theory column
is each scheme's formula.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import torch

from stabviz.experiments import Result
from stabviz.mlp import init_weight, weight_variance
from stabviz.runtime import device, generator

UNIFORM = ("uniform", "xavier_uniform", "kaiming_uniform", "kaiming_uniform_fan_out")  # bounded by a = sqrt(3) std
ELEMENTWISE = 40.0  # multiply-adds charged per stored element


def _second_moment(t: torch.Tensor) -> float:
    return float(t.double().square().mean())


def _scheme_row(p: Any, scheme: str, x: torch.Tensor, g_out: torch.Tensor) -> dict:
    """Measured Var(w), max |w|, forward and backward factors of one scheme's layer, beside the formulas."""
    w = torch.empty(p.fan_out, p.fan_in, dtype=torch.float64)
    init_weight(w, scheme, p.std, generator(p.seed))
    w = w.to(x.device)
    var = weight_variance(scheme, p.fan_in, p.fan_out, p.std)
    forward = x @ w.T
    x_ms, g_ms = _second_moment(x), _second_moment(g_out)
    return {
        "scheme": scheme,
        "var_w": float(w.var(correction=0)), "var_w_theory": var,
        "max_abs_w": float(w.abs().max()), "bound_theory": math.sqrt(3 * var) if scheme in UNIFORM else math.nan,
        "forward": _second_moment(forward) / x_ms, "forward_theory": p.fan_in * var,
        "backward": _second_moment(g_out @ w) / g_ms, "backward_theory": p.fan_out * var,
        "forward_relu": _second_moment(torch.relu(forward)) / x_ms, "forward_relu_theory": p.fan_in * var / 2,
    }


def fans(p: Any) -> Result:
    """Per scheme: the weights' variance and bound, and the forward, backward and forward-after-ReLU factors."""
    dev = device(p.device)
    x = torch.randn(p.fan_batch, p.fan_in, generator=generator(p.seed + 1), dtype=torch.float64).to(dev)
    g_out = torch.randn(p.fan_batch, p.fan_out, generator=generator(p.seed + 2), dtype=torch.float64).to(dev)
    table = pd.DataFrame([_scheme_row(p, s, x, g_out) for s in p.fan_schemes])
    records = table.to_dict("records")
    findings = {f"fans_{c}_{r['scheme']}": r[c] for r in records for c in table.columns if c != "scheme"}
    findings |= {f"fans_forward_measured_{r['scheme']}": r["forward"] for r in records}  # fans_forward_* has relu's too
    return Result({"fans": table}, findings)


def fans_work(p: Any) -> float:
    """Two matmuls per scheme (forward and backward), plus drawing the weights and the moments."""
    return len(p.fan_schemes) * p.fan_in * p.fan_out * (2 * p.fan_batch + ELEMENTWISE)
