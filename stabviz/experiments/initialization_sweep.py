"""The depth x sigma_w sweep of the initialization page: where do gradients neither vanish nor explode?

Every network is LeCun normal (torch.nn.init) times a gain sigma_w, so std = sigma_w / sqrt(n). All
gains share one draw of weights and inputs (common random numbers, so the map is smooth in sigma_w)
and run as one batched forward pass. For each depth L, autograd gives dLoss/dh at layers 1 and L of
the depth-L network (the first L layers), loss = mean over the batch of v_b . output_b with random
readouts v_b ~ N(0, I), the zero-mean readout of mean-field theory, which is drawn beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from stabviz.experiments import Result
from stabviz.experiments import initialization_theory as theory
from stabviz.mlp import MLPSpec, build_mlp, gaussian_inputs
from stabviz.runtime import device, dtype, generator

ELEMENTWISE = 40.0  # multiply-adds charged per stored element (activation, its derivative, statistics)


def streams(p: Any, width: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x_b and readouts v_b ~ N(0, I), one per example (seeds + 1 and + 2; the weights use seed).

    A readout per example keeps the backward signals of the batch independent, so averaging over
    the batch narrows the backward measurement as it does the forward one.
    """
    dev, dt = device(p.device), dtype(p.dtype)
    return tuple(gaussian_inputs(batch, width, generator(p.seed + k), dt, dev) for k in (1, 2))


def sigma_grid(p: Any) -> np.ndarray:
    """The sweep's sigma_w values, evenly spaced on a log scale (the two ends in either order)."""
    return np.geomspace(min(p.sigma_min, p.sigma_max), max(p.sigma_min, p.sigma_max), p.sigma_points)


def depth_grid(p: Any) -> np.ndarray:
    """The sweep's depths, evenly spaced up to sweep_depth, without repeats."""
    depths = np.round(np.linspace(p.sweep_depth / p.depth_points, p.sweep_depth, p.depth_points))
    return np.unique(np.maximum(depths, 1).astype(int))


def _forward(model: nn.Sequential, x: torch.Tensor, gains: torch.Tensor) -> tuple[list, list]:
    """Pre- and post-activations of every layer, one slice of the leading axis per gain."""
    a, pres, outs = x.expand(gains.shape[0], *x.shape), [], []
    mods = list(model)
    for lin, act in zip(mods[0::2], mods[1::2], strict=True):
        pres.append(gains * lin(a))
        outs.append(act(pres[-1]))
        a = outs[-1]
    return pres, outs


def _mean_square(t: torch.Tensor) -> np.ndarray:
    """Mean of squares over batch and units, one value per gain, in float64."""
    return t.detach().double().square().mean(dim=(1, 2)).cpu().numpy()


def measured_ratios(p: Any, sigmas: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """log10(||dLoss/dh_1|| / ||dLoss/dh_L||) measured by autograd, shape (sigmas, depths)."""
    dev, dt = device(p.device), dtype(p.dtype)
    model = build_mlp(MLPSpec(int(depths[-1]), p.sweep_width, p.activation, "lecun_normal"), generator(p.seed), dt, dev)
    x, readout = streams(p, p.sweep_width, p.sweep_batch)
    pres, outs = _forward(model, x, torch.tensor(sigmas, dtype=dt, device=dev).view(-1, 1, 1))
    columns = []
    for depth in depths:
        loss = (outs[depth - 1] * readout).sum() / p.sweep_batch
        g1, g_last = torch.autograd.grad(loss, [pres[0], pres[depth - 1]], retain_graph=True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            columns.append(0.5 * np.log10(_mean_square(g1) / _mean_square(g_last)))
    return np.stack(columns, axis=-1)


def sweep(p: Any) -> Result:
    """Heatmap table of the gradient ratio over depth x sigma_w, measured and mean-field, with the stable band."""
    sigmas, depths = sigma_grid(p), depth_grid(p)
    measured = measured_ratios(p, sigmas, depths)
    _, chi = theory.propagate(p.activation, sigmas**2, int(depths[-1]))
    predicted = theory.log10_grad_ratio(chi)[:, depths - 1]
    s, d = np.meshgrid(sigmas, depths, indexing="ij")
    table = pd.DataFrame({
        "sigma_w": s.ravel(), "depth": d.ravel(), "measured": measured.ravel(), "theory": predicted.ravel(),
    })
    table["stable"] = table["measured"].abs() < p.stable_decades
    table["stable_theory"] = table["theory"].abs() < p.stable_decades
    q_star, chi_star = theory.fixed_point_chi(p.activation, sigmas)
    chi_table = pd.DataFrame({"sigma_w": sigmas, "q_star": q_star, "chi_1": chi_star})
    findings = {"critical_sigma": theory.critical_sigma(p.activation), "stable_fraction": float(table["stable"].mean()),
                "stable_fraction_theory": float(table["stable_theory"].mean())}
    return Result({"sweep": table, "sweep_chi": chi_table}, findings)


def sweep_work(p: Any) -> float:
    """Multiply-adds of the batched forward pass, one backward pass per depth, and the quadratures."""
    depths = depth_grid(p)
    per_layer = p.sigma_points * p.sweep_batch * p.sweep_width * (p.sweep_width + ELEMENTWISE)
    quad = theory.QUAD_NODES * ELEMENTWISE * (p.sigma_points * (depths[-1] + 1) + theory.Q_GRID.size)
    return per_layer * (depths[-1] + depths.sum()) + quad
