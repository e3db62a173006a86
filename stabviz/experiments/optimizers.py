"""Optimizers on 2-D surfaces: trajectories, a learning-rate sweep, and the cost of bad feature scaling.

Every trajectory is a real torch.optim run (see ``optimizers_run``: all optimizers and starts
batched into one backward per step). Theory beside it: gradient descent on a*x^2 + b*y^2
multiplies each coordinate by (1 - 2 lr a) and (1 - 2 lr b) per step, so it diverges once
lr > 1 / max(a, b) = 2 / largest curvature; heavy ball and Nesterov have their own bounds (``optimizers_sweep``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Finding, Result, Section
from stabviz.experiments.optimizers_findings import path_findings, scaling_findings
from stabviz.experiments.optimizers_run import (
    CLIPS,
    OPTIMIZERS,
    Hyper,
    descend,
    fates,
    path_table,
    run_groups,
)
from stabviz.experiments.optimizers_sweep import sweep
from stabviz.params import ParamsBase, param
from stabviz.runtime import device, device_param, dtype, dtype_param, generator, seed_param
from stabviz.surfaces import (
    SURFACES,
    box_table,
    curvature_param,
    formula_param,
    grid,
    landmarks,
    parse_points,
    plot_box,
    points_param,
    runs_of,
    start_param,
    surface_fn,
    surface_param,
)

GRID = 61  # contour grid points per axis
SCALING_GRID = 41  # per axis, for each of the two scaling surfaces
SCALING_BOX = (-2.0, 2.0, -2.0, 2.0)
# Work model in multiply-add equivalents (the budget's 3e9 is about 2 s here), fitted to timings on a 2-core CPU:
# tiny tensors make the cost per-call overhead, not arithmetic.
PASS_STEP = 7.5e5  # one surface evaluation and backward over all points (~0.5 ms)
OPTIMIZER_STEP = 1.5e5  # one optimizer.step() call (~0.1 ms)
TENSOR_STEP = 4.5e4  # each parameter tensor (or group) an optimizer updates (~30 us)
POINT_STEP = 200.0  # each point's share of the arithmetic


@dataclass(frozen=True)
class Params(ParamsBase):
    surface: str = surface_param("quadratic")
    a: float = curvature_param(10.0)
    b: float = curvature_param(1.0)
    formula: str = formula_param()
    x0: float = start_param(-1.5)
    y0: float = start_param(1.5)
    starts: int = param(1, lo=1, hi=32)
    points: str = points_param(OPTIMIZERS)
    optimizers: tuple[str, ...] = param(("sgd", "momentum", "adam"), choices=OPTIMIZERS, vocab="optimizer")
    lr: float = param(0.09, lo=1e-5, hi=10.0, step=0.01)
    lr_adaptive: float = param(0.1, lo=1e-5, hi=10.0, step=0.01)
    momentum: float = param(0.9, lo=0.0, hi=0.999, step=0.01)
    beta1: float = param(0.9, lo=0.0, hi=0.999, step=0.01)
    beta2: float = param(0.999, lo=0.0, hi=0.9999, step=0.001)
    alpha: float = param(0.99, lo=0.0, hi=0.9999, step=0.01)
    eps: float = param(1e-8, lo=1e-12, hi=1.0, step=1e-8)
    weight_decay: float = param(0.01, lo=0.0, hi=1.0, step=0.01)
    clip: str = param("none", choices=CLIPS, vocab="clip")
    clip_at: float = param(1.0, lo=1e-3, hi=1e3, step=0.1)
    steps: int = param(100, lo=1, hi=2000, widget="slider")
    sweep_lo: float = param(1e-3, lo=1e-6, hi=1.0, step=1e-3)
    sweep_hi: float = param(1.0, lo=1e-4, hi=100.0, step=0.1)
    sweep_points: int = param(41, lo=3, hi=200)
    sweep_steps: int = param(50, lo=1, hi=2000)
    stretch: float = param(20.0, lo=1.0, hi=1000.0, step=1.0)
    scale_lr: float = param(0.045, lo=1e-4, hi=2.0, step=0.005)
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float32")

    def hyper(self) -> Hyper:
        """The optimizer settings as the run engine takes them."""
        return Hyper(**{n: getattr(self, n) for n in HYPER})


HYPER = ("lr", "lr_adaptive", "momentum", "beta1", "beta2", "alpha", "eps", "weight_decay", "clip", "clip_at")
SURFACE_FIELDS = ("surface", "a", "b", "formula")
NUMERIC = ("seed", "device", "dtype")


def start_points(p: Params, dev: torch.device) -> torch.Tensor:
    """The listed points, else (x0, y0) and starts-1 seeded uniform points in the inner 80% of the surface's box."""
    listed = parse_points(p.points, OPTIMIZERS)
    if listed:
        pts = torch.tensor([[s.x, s.y] for s in listed], dtype=torch.float64)
    else:
        lo_x, hi_x, lo_y, hi_y = SURFACES[p.surface].box
        u = torch.rand(p.starts - 1, 2, generator=generator(p.seed), dtype=torch.float64)
        centre = torch.tensor([(lo_x + hi_x) / 2, (lo_y + hi_y) / 2], dtype=torch.float64)
        half = 0.8 * torch.tensor([(hi_x - lo_x) / 2, (hi_y - lo_y) / 2], dtype=torch.float64)
        pts = torch.cat([torch.tensor([[p.x0, p.y0]], dtype=torch.float64), centre + (2 * u - 1) * half])
    return pts.to(device=dev, dtype=dtype(p.dtype))


def groups(p: Params) -> list[tuple[str, list[int]]]:
    """Each optimizer that runs and the indices of its starts (``surfaces.runs_of``: ``opt@x,y`` runs one)."""
    listed = parse_points(p.points, OPTIMIZERS)
    return runs_of(p.optimizers, [s.method for s in listed] if listed else [""] * p.starts)


def trajectories(p: Params) -> Result:
    """Every optimizer from each of its starts on the chosen surface, plus the contour grid of a box that
    holds the starts."""
    fn, base = surface_fn(p.surface, p.a, p.b, p.formula), SURFACES[p.surface].box
    starts, runs = start_points(p, device(p.device)), groups(p)
    rec = run_groups(fn, [(n, starts[idx]) for n, idx in runs], p.steps, p.hyper()).numpy()
    box = plot_box(base, starts.double().cpu().numpy(), rec[..., :2])
    paths = path_table(rec, [n for n, idx in runs for _ in idx], [i for _, idx in runs for i in idx], box)
    ends = fates(paths, ("optimizer", "start"))
    findings = {"diverged": int((ends["first_nonfinite"].notna() | ends["first_outside"].notna()).sum()),
                "trajectories": len(ends), **path_findings(paths, p)}
    tables = {"paths": paths, "fates": ends, "contour": grid(fn, box, GRID, torch.float64),
              "landmarks": landmarks(p.surface), "box": box_table(box, base)}
    return Result(tables, findings)


def scaling(p: Params) -> Result:
    """Gradient descent on x^2 + y^2 and on s*x^2 + y^2 at one learning rate, with the per-axis theory."""
    dev, dt = device(p.device), dtype(p.dtype)
    coef = torch.tensor([1.0, p.stretch], dtype=dt, device=dev)
    pts = torch.tensor([[p.x0, p.y0]] * 2, dtype=dt, device=dev).requires_grad_(True)
    rec = descend(lambda x, y: coef * x**2 + y**2, [torch.optim.SGD([pts], lr=p.scale_lr)], p.steps).numpy()
    box = plot_box(SCALING_BOX, np.array([[p.x0, p.y0]]), rec[..., :2])
    table = path_table(rec, ["sgd", "sgd"], [0, 1], box).drop(columns="optimizer")
    table["bowl"] = np.where(table.pop("start") == 0, "round", "stretched")
    s = np.where(table["bowl"] == "round", 1.0, p.stretch)
    with np.errstate(over="ignore"):
        table["x_theory"] = p.x0 * (1 - 2 * p.scale_lr * s) ** table["step"]
        table["y_theory"] = p.y0 * (1 - 2 * p.scale_lr) ** table["step"]
    grids = [grid(surface_fn("quadratic", c, 1.0), box, SCALING_GRID, torch.float64).assign(bowl=bowl)
             for bowl, c in (("round", 1.0), ("stretched", p.stretch))]
    tables = {"scaling": table, "scaling_contour": pd.concat(grids, ignore_index=True),
              "scaling_box": box_table(box, SCALING_BOX)}
    return Result(tables, scaling_findings(table, p.stretch, p.scale_lr))


def _work(points: int, optimizers: int, tensors: int, steps: int) -> float:
    """Estimated cost of ``steps`` batched steps (see the work model at the top)."""
    return steps * (PASS_STEP + optimizers * OPTIMIZER_STEP + tensors * TENSOR_STEP + points * POINT_STEP)


def _trajectories_work(p: Params) -> float:
    """The batched run of every optimizer's starts, and the contour grid."""
    runs = groups(p)
    return _work(sum(len(idx) for _, idx in runs), len(runs), len(runs), p.steps) + GRID**2 * POINT_STEP


TRAJECTORY_FINDINGS = (
    Finding("diverged"),
    Finding("factor_x_*", theory="theory_factor_x_*"),
    Finding("factor_y_*", theory="theory_factor_y_*"),
    Finding("first_step_*"),
    Finding("final_loss_*"),
    Finding("steps_to_diverge_*"),
)
SWEEP_FINDINGS = (
    Finding("first_diverging_lr_*", theory="lr_bound_theory_*"),
    Finding("last_stable_lr_*", theory="lr_bound_theory_*"),
)
SCALING_FINDINGS = (
    Finding("measured_factor_x_*", theory="factor_x_*"),
    Finding("measured_factor_y_*", theory="factor_y"),
    Finding("steps_to_diverge_*"),
    Finding("threshold_*"),
)
SECTIONS = (
    Section("trajectories", trajectories,
            uses=(*SURFACE_FIELDS, "x0", "y0", "starts", "points", "optimizers", *HYPER, "steps", *NUMERIC),
            work=_trajectories_work, findings=TRAJECTORY_FINDINGS),
    Section("sweep", sweep,
            uses=("a", "b", "x0", "y0", "optimizers", *HYPER, "sweep_lo", "sweep_hi", "sweep_points", "sweep_steps",
                  "device", "dtype"),
            work=lambda p: _work(p.sweep_points * len(p.optimizers), len(p.optimizers),
                                 p.sweep_points * len(p.optimizers), p.sweep_steps),
            findings=SWEEP_FINDINGS),
    Section("scaling", scaling, uses=("x0", "y0", "stretch", "scale_lr", "steps", "device", "dtype"),
            work=lambda p: _work(2, 1, 1, p.steps), findings=SCALING_FINDINGS),
)
