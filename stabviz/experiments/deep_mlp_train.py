"""A short SGD run of a deep MLP: which layers learn, and what gradient clipping by norm does.

Synthetic binary classification (labels from a random linear teacher, generated in code);
torch.optim.SGD, torch.nn.utils.clip_grad_norm_. Per-layer gradient norms and weight changes
are recorded at thinned steps (for a heatmap), the loss and total gradient norm at every step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits
from torch.nn.utils import clip_grad_norm_, get_total_norm

from stabviz.experiments import Progress, Result
from stabviz.mlp import MLPSpec, build_mlp, init_weight
from stabviz.runtime import device, dtype, generator
from stabviz.states import state_of

if TYPE_CHECKING:
    from stabviz.experiments.deep_mlp import Params

DATA_SIZE = 2048  # training examples
RECORD_ROWS = 4000  # rows of the per-layer table (steps recorded x layers), for charts under 5000 rows
HALF_COST = 4.0  # large float16 / bfloat16 matmuls ran 4-5x slower than float32 on this CPU
HALF_SLOW_WIDTH = 256  # below this width a matmul is dominated by per-op overhead, in any dtype
STEP_OVERHEAD = 12.0  # per-weight multiply-adds of one step beyond the matmuls (SGD update, norms, clipping)


def dtype_cost(name: str, width: int) -> float:
    """Slow-down of a width x width matmul in a dtype relative to float32 on a CPU (measured)."""
    return HALF_COST if name in ("float16", "bfloat16") and width >= HALF_SLOW_WIDTH else 1.0


def train_net(p: Params, g: torch.Generator, depth: int, width: int) -> nn.Sequential:
    """Hidden MLP from stabviz.mlp (p's activation and init) plus a Linear(width, 1) output layer initialised by the
    same scheme."""
    spec = MLPSpec(depth, width, p.activation, p.init, std=p.std)
    head = nn.Linear(width, 1)
    init_weight(head.weight, p.init, p.std, g)
    nn.init.zeros_(head.bias)
    return nn.Sequential(*build_mlp(spec, g, torch.float32, torch.device("cpu")), head)


def train_data(width: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x ~ N(0, I) and labels y = 1[u . x > 0] for a random teacher u."""
    x = torch.randn(DATA_SIZE, width, generator=g)
    u = torch.randn(width, generator=g)
    return x, (x @ u > 0).float()


def _stride(p: Params) -> int:
    """Record every stride-th step so that recorded steps x layers stays under RECORD_ROWS."""
    return max(1, math.ceil(p.steps * (p.train_depth + 1) / RECORD_ROWS))


def _step(model: nn.Sequential, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor, p: Params) -> tuple:
    """One SGD step; returns (loss, total gradient norm before clipping, norm applied)."""
    loss = binary_cross_entropy_with_logits(model(xb).squeeze(1), yb)
    opt.zero_grad()
    loss.backward()
    params = list(model.parameters())
    total = clip_grad_norm_(params, p.max_norm) if p.clip else get_total_norm([q.grad for q in params])
    applied = get_total_norm([q.grad for q in params]) if p.clip else total
    opt.step()
    return loss.detach(), total.detach(), applied.detach()


def _layer_record(linears: list[nn.Linear], start: list[torch.Tensor]) -> torch.Tensor:
    """Per layer: weight-gradient norm (float64, inf/nan kept) and relative weight change since step 0."""
    grads = torch.stack([torch.linalg.vector_norm(m.weight.grad, dtype=torch.float64) for m in linears])
    change = torch.stack([
        torch.linalg.vector_norm(m.weight.detach() - w0, dtype=torch.float64)
        / torch.linalg.vector_norm(w0, dtype=torch.float64)
        for m, w0 in zip(linears, start, strict=True)
    ])
    return torch.stack([grads, change]).cpu()


def train(p: Params, progress: Progress | None = None) -> Result:
    """SGD on the synthetic task; per-layer gradient norms over (thinned) steps and the loss curve."""
    dev, dt, g = device(p.device), dtype(p.dtype), generator(p.seed)
    model = train_net(p, g, p.train_depth, p.train_width).to(device=dev, dtype=dt)
    x, y = (t.to(device=dev, dtype=dt) for t in train_data(p.train_width, g))
    curve, records, recorded = _run(p, model, x, y, g, progress)
    return _result(p, curve, records, recorded, _accuracy(model, x, y))


def _run(p: Params, model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, g: torch.Generator,
         progress: Progress | None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The SGD loop: per step (loss, norms), per recorded step the per-layer record; progress ~50 times."""
    opt = torch.optim.SGD(model.parameters(), lr=p.lr)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    start = [m.weight.detach().clone() for m in linears]
    stride, every = _stride(p), max(1, p.steps // 50)
    curve, records, recorded = [], [], []
    for step in range(1, p.steps + 1):
        idx = torch.randint(DATA_SIZE, (p.train_batch,), generator=g).to(x.device)
        curve.append(torch.stack([t.double().cpu() for t in _step(model, opt, x[idx], y[idx], p)]))
        if step % stride == 0 or step == p.steps:
            records.append(_layer_record(linears, start))
            recorded.append(step)
        if progress is not None and (step % every == 0 or step == p.steps):
            progress(step / p.steps)
    return torch.stack(curve).numpy(), torch.stack(records).numpy(), recorded


def _accuracy(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of the training set classified correctly after training."""
    with torch.no_grad():
        return float(((model(x).squeeze(1) > 0).to(y.dtype) == y).double().mean())


def _result(p: Params, curve: np.ndarray, records: np.ndarray, recorded: list[int], accuracy: float) -> Result:
    """Tidy tables from the recorded arrays, and the findings a lecturer would read off them."""
    layers = p.train_depth + 1
    loss = pd.DataFrame({"step": np.arange(1, p.steps + 1), "loss": curve[:, 0], "total_norm": curve[:, 1],
                         "applied_norm": curve[:, 2]})
    loss["clipped"] = p.clip & (loss["total_norm"] > p.max_norm)
    per_layer = pd.DataFrame({
        "step": np.repeat(recorded, layers), "layer": np.tile(np.arange(1, layers + 1), len(recorded)),
        "grad_norm": records[:, 0].ravel(), "weight_change": records[:, 1].ravel(),
    })
    per_layer["state"] = state_of(per_layer["grad_norm"])
    last = per_layer[per_layer["step"] == recorded[-1]]["weight_change"].to_numpy()
    findings = {
        "train_loss_first": float(curve[0, 0]), "train_loss_last": float(curve[-1, 0]), "train_accuracy": accuracy,
        "train_change_first_layer": float(last[0]), "train_change_last_hidden_layer": float(last[-2]),
        "train_clipped_steps": int(loss["clipped"].sum()),
    }
    return Result({"train_loss": loss, "train_layers": per_layer}, findings)


def train_work(p: Params) -> float:
    """Multiply-adds of the run: forward + backward per example, plus the per-step update work."""
    weights = p.train_depth * p.train_width**2 + p.train_width
    per_weight_step = 3.0 * p.train_batch * dtype_cost(p.dtype, p.train_width) + STEP_OVERHEAD
    return p.steps * weights * per_weight_step + DATA_SIZE * p.train_width
