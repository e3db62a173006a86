"""Skip connections on the normalization page: first-layer gradient vs depth, and block Jacobians.

Theory: a residual block maps h to h + F(h), so its Jacobian is I + J_F. Back-propagation
multiplies the transposed block Jacobians, so ||dL/dh_0|| lies between prod sigma_min(J_l) and
prod sigma_max(J_l) times ||dL/dh_L||; with a small J_F both products stay near 1. The Jacobians
come from torch.autograd.functional.jacobian on a small width (whole batch: BatchNorm couples samples).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import torch
from torch import nn

from stabviz.experiments import Result
from stabviz.experiments.normalization_nets import NetSpec, applicable, block_macs, build, inputs, readout_loss
from stabviz.runtime import device, dtype, generator

if TYPE_CHECKING:
    from stabviz.experiments.normalization import Params

JAC_WIDTH = 16  # largest width of the Jacobian nets (the Jacobian is (batch*width)^2)
JAC_BATCH = 4  # samples in the Jacobian nets' batch
COMMON_USES = ("norms", "groups", "placement", "activation", "init", "std", "depth", "width", "seed", "device")
RESIDUAL_USES = (*COMMON_USES, "batch", "dtype")
JACOBIAN_USES = COMMON_USES


def mlp_spec(p: Params, norm: str, skip: bool, depth: int, width: int) -> NetSpec:
    """An MLP of the page's kind with the given normalization, skips, depth and width."""
    return NetSpec("mlp", depth, width, norm, p.groups, p.placement, skip, p.activation, p.init, p.std)


def depth_grid(depth: int) -> list[int]:
    """1, 2, 4, ... up to ``depth``, and ``depth`` itself."""
    return sorted({2**k for k in range(depth.bit_length()) if 2**k <= depth} | {depth})


def first_grad(spec: NetSpec, batch: int, seed: int, dt: torch.dtype, dev: torch.device) -> float:
    """||dL/dW_1|| of a freshly drawn net, by autograd."""
    g = generator(seed, dev)
    model = build(spec, g, dt, dev)
    readout_loss(model(inputs(spec, batch, g, dt, dev)), g).backward()
    return float(model[0].weight.weight.grad.double().norm())


def residual(p: Params) -> Result:
    """First-layer gradient norm against depth, plain vs residual, for each normalization."""
    dev, dt = device(p.device), dtype(p.dtype)
    rows = [
        {"norm": n, "residual": skip, "depth": d,
         "grad_norm": first_grad(mlp_spec(p, n, skip, d, p.width), p.batch, p.seed, dt, dev)}
        for n in applicable(p.norms, "mlp") for skip in (False, True) for d in depth_grid(p.depth)
    ]
    table = pd.DataFrame(rows)
    deepest = table[table["depth"] == p.depth].set_index(["residual", "norm"])["grad_norm"]
    gain = deepest.loc[True] / deepest.loc[False]  # pandas keeps x/0 = inf as a value
    findings = {f"skip_gain_{n}": float(g) for n, g in gain.items()}
    findings |= {f"first_grad_{'residual' if skip else 'plain'}_{n}": float(v) for (skip, n), v in deepest.items()}
    return Result({"residual_depth": table}, findings)


def block_jacobian(block: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """d block(h) / d h over the whole batch, flattened to a square matrix."""
    jac = torch.autograd.functional.jacobian(block, h, vectorize=True)
    return jac.reshape(h.numel(), h.numel())


def jacobian_rows(model: nn.Sequential, x: torch.Tensor, g: torch.Generator) -> pd.DataFrame:
    """Per block: extreme singular values of J, ||J - I||, measured ||dL/dh_in||, its gain and the product bounds."""
    hs = [x.requires_grad_(True)]
    for block in model:
        hs.append(block(hs[-1]))
        hs[-1].retain_grad()
    readout_loss(hs[-1], g).backward()
    jacs = torch.stack([block_jacobian(block, hs[k].detach()) for k, block in enumerate(model)])
    sv = torch.linalg.svdvals(jacs)  # all blocks in one batched call
    eye = torch.eye(jacs.shape[-1], dtype=jacs.dtype, device=jacs.device)
    table = pd.DataFrame({
        "layer": range(1, len(model) + 1),
        "sigma_max": sv[:, 0].tolist(), "sigma_min": sv[:, -1].tolist(),
        "dist_identity": torch.linalg.matrix_norm(jacs - eye, 2).tolist(),
        "grad_norm": [float(h.grad.norm()) for h in hs[:-1]],
    })
    top = float(hs[-1].grad.norm())
    table["gain"] = table["grad_norm"] / [*table["grad_norm"][1:], top]  # ||dL/dh_in|| / ||dL/dh_out||
    table["upper"] = top * table["sigma_max"][::-1].cumprod()[::-1]
    table["lower"] = top * table["sigma_min"][::-1].cumprod()[::-1]
    return table


def jacobians(p: Params) -> Result:
    """Block Jacobians (float64, small width) of plain and residual nets, with the product bounds beside."""
    dev, width = device(p.device), min(p.width, JAC_WIDTH)
    frames = []
    for n in applicable(p.norms, "mlp"):
        for skip in (False, True):
            spec, g = mlp_spec(p, n, skip, p.depth, width), generator(p.seed, dev)
            model = build(spec, g, torch.float64, dev)
            x = inputs(spec, JAC_BATCH, g, torch.float64, dev)
            frames.append(jacobian_rows(model, x, g).assign(norm=n, residual=skip))
    table = pd.concat(frames, ignore_index=True)
    findings = {"jacobian_width": width, "jacobian_batch": JAC_BATCH, **jacobian_findings(table)}
    return Result({"jacobian": table}, findings)


def jacobian_findings(table: pd.DataFrame) -> dict[str, float]:
    """Per net and norm: ||dL/dh_0|| / ||dL/dh_L|| (the product of the block gains), its upper bound (the product of
    every block's sigma_max), and the mean distance ||J - I|| of a block's Jacobian from the identity."""
    out = {}
    for (norm, skip), rows in table.groupby(["norm", "residual"], sort=False):
        net = "residual" if skip else "plain"
        out |= {f"jacobian_ratio_{net}_{norm}": float(rows["gain"].prod()),
                f"jacobian_upper_{net}_{norm}": float(rows["sigma_max"].prod()),
                f"identity_gap_{net}_{norm}": float(rows["dist_identity"].mean())}
    return out


def residual_work(p: Params) -> float:
    """Forward + backward of every net in the depth sweep (the grid sums to at most 2x the deepest net)."""
    return 3.0 * block_macs(mlp_spec(p, "none", False, 1, p.width), p.batch) * 2 * p.depth * 2 * len(p.norms)


def jacobian_work(p: Params) -> float:
    """Per block: one backward pass per Jacobian row, and two SVDs of the n x n Jacobian (about 10 n^3)."""
    width = min(p.width, JAC_WIDTH)
    n = JAC_BATCH * width
    return 2 * len(p.norms) * p.depth * (3.0 * n * JAC_BATCH * width**2 + 20.0 * n**3)
