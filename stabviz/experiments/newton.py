"""Newton's method and saddle points: Newton vs gradient descent on 2-D surfaces, and 1-D root finding.

Gradients come from autograd and Hessians from torch.autograd.functional.hessian. Newton
rescales the gradient by H^-1, so it heads for the nearest stationary point of the local
quadratic model: a minimum, but just as readily a saddle. Saddle-free Newton uses |H| (the
absolute eigenvalues) and escapes. Theory beside measurement: on a quadratic Newton lands in
one step; on 10x^4 + y^4 each step multiplies the coordinates by 2/3; on 5x^3 + y^3 by 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.autograd.functional import hessian

from stabviz.experiments import Finding, Result, Section
from stabviz.experiments.newton_findings import descent_findings, theory
from stabviz.experiments.newton_roots import FAILURE_CASES, ROOTS, failures, roots
from stabviz.params import ParamsBase, param
from stabviz.runtime import device, device_param, dtype, dtype_param, generator, seed_param
from stabviz.surfaces import (
    SURFACES,
    Box,
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
    status,
    surface_fn,
    surface_param,
)

GRID = 61  # contour grid points per axis
EIG_TOL = 1e-12  # eigenvalues below this (relative to the largest) count as zero: H^-1 becomes a pseudo-inverse
METHODS = ("newton", "damped", "saddle_free", "gd")
# Work in multiply-add equivalents (the budget's 3e9 is about 2 s here): per-call overhead dominates tiny tensors.
HESSIAN_STEP = 1e7  # one batched gradient + torch.autograd.functional.hessian call (~7 ms on a 2-core CPU)
METHOD_STEP = 2e5  # one run's eigendecomposition and update (~0.1 ms)
BATCH_RUNS = 4  # runs one HESSIAN_STEP covers; each further run adds RUN_STEP
RUN_STEP = 1.7e6  # hessian() takes two more backward passes per further run (~1.2 ms; 32 runs: ~45 ms a step)
ROOT_STEP = 2e6  # one 1-D Newton iteration with its autograd derivative (~1.4 ms)


@dataclass(frozen=True)
class Params(ParamsBase):
    surface: str = surface_param("saddle")
    a: float = curvature_param(10.0)
    b: float = curvature_param(1.0)
    formula: str = formula_param()
    x0: float = start_param(1.0)
    y0: float = start_param(0.3)
    points: str = points_param(METHODS)
    perturb: float = param(0.0, lo=0.0, hi=1.0, step=0.001)
    methods: tuple[str, ...] = param(("newton", "saddle_free", "gd"), choices=METHODS, vocab="method")
    lr: float = param(0.2, lo=1e-4, hi=2.0, step=0.01)
    damping: float = param(0.5, lo=0.01, hi=1.0, step=0.05)
    steps: int = param(20, lo=1, hi=200, widget="slider")
    gd_steps: int = param(0, lo=0, hi=200)  # 0: as many as steps
    roots: tuple[str, ...] = param(("sqrt", "cbrt"), choices=ROOTS, vocab="root")
    k: float = param(2.0, lo=1e-6, hi=1e6)
    r0: float = param(1.0, lo=-1e6, hi=1e6)
    root_steps: int = param(8, lo=1, hi=100)
    root_tol: float = param(0.0, lo=0.0, hi=1.0, step=1e-9)  # 0: always root_steps iterations
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float64")

    def steps_of(self, method: str) -> int:
        """How many steps a method takes: gradient descent gd_steps (when set), the others steps."""
        return self.gd_steps if method == "gd" and self.gd_steps else self.steps

    def runs(self) -> list[tuple[str, list[int]]]:
        """Each method that runs and the indices of its starts (``surfaces.runs_of``: ``newton@x,y`` runs one)."""
        listed = parse_points(self.points, METHODS)
        return runs_of(self.methods, [s.method for s in listed] if listed else [""])


def _starts(p: Params, dev: torch.device) -> torch.Tensor:
    """The listed points, else (x0, y0), each plus its own seeded perturbation, as an (n, 2) tensor."""
    listed = parse_points(p.points, METHODS)
    pts = torch.tensor([[s.x, s.y] for s in listed] if listed else [[p.x0, p.y0]], dtype=torch.float64)
    nudge = torch.randn(len(pts), 2, generator=generator(p.seed), dtype=torch.float64) * p.perturb
    return (pts + nudge).to(device=dev, dtype=dtype(p.dtype))


def derivatives(fn, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss (m,), gradient (m, 2) and Hessian (m, 2, 2) of every point, by autograd."""
    pts = pts.detach().requires_grad_(True)
    total = lambda q: fn(q[:, 0], q[:, 1]).sum()  # noqa: E731 - points are independent: blocks of one Hessian
    loss = fn(pts[:, 0], pts[:, 1])
    (grad,) = torch.autograd.grad(loss.sum(), pts)
    h = hessian(total, pts).diagonal(dim1=0, dim2=2).permute(2, 0, 1)
    return loss.detach(), grad, h


def direction(method: str, g: torch.Tensor, h: torch.Tensor, p: Params) -> torch.Tensor:
    """The step each method subtracts: lr·g, or V f(Λ) Vᵀ g with f = 1/λ, α/λ or 1/|λ|."""
    if method == "gd":
        return p.lr * g
    if not torch.isfinite(h).all():
        return torch.full_like(g, float("nan"))
    lam, vec = eigh(h)
    scale = lam.abs() if method == "saddle_free" else lam
    keep = lam.abs() > EIG_TOL * lam.abs().max().clamp_min(torch.finfo(lam.dtype).tiny)
    inv = torch.where(keep, 1.0 / torch.where(keep, scale, 1.0), 0.0)
    step = vec @ (inv * (vec.transpose(-1, -2) @ g[..., None])[..., 0])[..., None]
    return step[..., 0] * (p.damping if method == "damped" else 1.0)


def eigh(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """torch.linalg.eigh; float16/bfloat16 Hessians are decomposed in float32 (torch has no half eigh)."""
    lam, vec = torch.linalg.eigh(h.float() if h.dtype in (torch.float16, torch.bfloat16) else h)
    return lam.to(h.dtype), vec.to(h.dtype)


def eigenvalues(h: torch.Tensor) -> torch.Tensor:
    """Ascending eigenvalues of each 2x2 Hessian; nan where the Hessian itself is not finite."""
    finite = torch.isfinite(h).flatten(1).all(1)
    lam = eigh(torch.where(finite[:, None, None], h, 0.0))[0]
    return torch.where(finite[:, None], lam, float("nan"))


def _kind(lam: np.ndarray) -> np.ndarray:
    """The stationary-point type the Hessian's signs describe at each point."""
    lo, hi = lam[..., 0], lam[..., 1]
    kinds = np.where(lo > 0, "minimum",
                     np.where(hi < 0, "maximum", np.where((lo < 0) & (hi > 0), "saddle", "degenerate")))
    return np.where(np.isfinite(lam).all(-1), kinds, "nonfinite")


def iterate(fn, starts: torch.Tensor, p: Params) -> tuple[np.ndarray, list[str], list[int]]:
    """Run every method from each of its starts, all together: (steps+1, run, [x, y, loss, |g|, eig_min,
    eig_max]), and each run's method and start. Runs with fewer steps than the longest are cut in ``table``."""
    runs = [(m, i) for m, idx in p.runs() for i in idx]
    pts, rec, longest = starts[[i for _, i in runs]], [], max(p.steps_of(m) for m, _ in runs)
    for t in range(longest + 1):
        loss, g, h = derivatives(fn, pts)
        rec.append(torch.cat([pts.detach(), loss[:, None], torch.linalg.vector_norm(g, dim=-1)[:, None],
                              eigenvalues(h)], dim=1))
        if t < longest:
            with torch.no_grad():
                pts = pts - torch.stack([direction(m, g[k], h[k], p) for k, (m, _) in enumerate(runs)])
    return torch.stack(rec).cpu().double().numpy(), [m for m, _ in runs], [i for _, i in runs]


def table(rec: np.ndarray, methods: list[str], starts: list[int], p: Params, box: Box) -> pd.DataFrame:
    """Long form of the record, each run cut at its own step count, with the eigenvalues' verdict and status."""
    steps, m, _ = rec.shape
    flat = rec.reshape(steps * m, -1)
    out = pd.DataFrame(flat, columns=["x", "y", "loss", "grad_norm", "eig_min", "eig_max"])
    out.insert(0, "step", np.repeat(np.arange(steps), m))
    out.insert(0, "start", np.tile(np.asarray(starts), steps))
    out.insert(0, "method", np.tile(np.asarray(methods), steps))
    out["kind"] = _kind(flat[:, 4:6])
    out["status"] = status(flat[:, 0], flat[:, 1], flat[:, 2], box)
    keep = out["step"] <= out["method"].map(p.steps_of)
    return out[keep].reset_index(drop=True)


def descent(p: Params) -> Result:
    """Newton variants and gradient descent on the chosen surface, with the Hessian's eigenvalues per step."""
    fn, base = surface_fn(p.surface, p.a, p.b, p.formula), SURFACES[p.surface].box
    starts = _starts(p, device(p.device))
    rec, methods, runs = iterate(fn, starts, p)
    xy = starts.double().cpu().numpy()
    cut = np.arange(len(rec))[:, None] <= np.array([p.steps_of(m) for m in methods])  # each run's own steps
    box = plot_box(base, xy, rec[..., :2][cut])
    paths = table(rec, methods, runs, p, box)
    tables = {"newton_paths": paths, "newton_theory": theory(p, xy),
              "newton_contour": grid(fn, box, GRID, torch.float64), "newton_landmarks": landmarks(p.surface),
              "newton_box": box_table(box, base)}
    return Result(tables, descent_findings(paths, p, xy))


def root_finding(p: Params) -> Result:
    """Newton's iterates for the chosen roots of K (stopping at |f| <= root_tol if set), and the classic failures."""
    found = roots(p.roots, p.k, p.r0, p.root_steps, dtype(p.dtype), p.root_tol)
    return found.merge(Result({"root_failures": failures(p.k, p.root_steps, dtype(p.dtype))}))


def _descent_work(p: Params) -> float:
    """One batched Hessian per step of the longest run, and each run's share of it and its update."""
    runs = [m for m, idx in p.runs() for _ in idx]
    per_step = HESSIAN_STEP + METHOD_STEP * len(runs) + RUN_STEP * max(0, len(runs) - BATCH_RUNS)
    return max(p.steps_of(m) for m in runs) * per_step


SECTIONS = (
    Section("descent", descent,
            uses=("surface", "a", "b", "formula", "x0", "y0", "points", "perturb", "methods", "lr", "damping", "steps",
                  "gd_steps", "seed", "device", "dtype"),
            work=_descent_work,
            findings=(Finding("final_loss_*"), Finding("final_x_*"), Finding("final_y_*"),
                      Finding("ratio_x_*", theory="ratio_theory_x_*"), Finding("ratio_y_*", theory="ratio_theory_y_*"),
                      Finding("steps_to_diverge_*"))),
    Section("roots", root_finding, uses=("roots", "k", "r0", "root_steps", "root_tol", "dtype"),
            work=lambda p: ROOT_STEP * (len(p.roots) + FAILURE_CASES) * p.root_steps,
            findings=(Finding("steps_to_precision_*"), Finding("steps_taken_*"),
                      Finding("root_*", theory="true_root_*"), Finding("residual_*"))),
)
