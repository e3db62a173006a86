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

from stabviz.experiments import Result, Section
from stabviz.experiments.newton_roots import FAILURE_CASES, ROOTS, failures, roots
from stabviz.params import ParamsBase, param
from stabviz.runtime import device, device_param, dtype, dtype_param, generator, seed_param
from stabviz.surfaces import (
    SURFACES,
    curvature_param,
    formula_param,
    grid,
    landmarks,
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
METHOD_STEP = 2e5  # one method's eigendecomposition and update (~0.1 ms)
ROOT_STEP = 2e6  # one 1-D Newton iteration with its autograd derivative (~1.4 ms)


@dataclass(frozen=True)
class Params(ParamsBase):
    surface: str = surface_param("saddle")
    a: float = curvature_param(10.0)
    b: float = curvature_param(1.0)
    formula: str = formula_param()
    x0: float = start_param(1.0)
    y0: float = start_param(0.3)
    perturb: float = param(0.0, lo=0.0, hi=1.0, step=0.001)
    methods: tuple[str, ...] = param(("newton", "saddle_free", "gd"), choices=METHODS, vocab="method")
    lr: float = param(0.2, lo=1e-4, hi=2.0, step=0.01)
    damping: float = param(0.5, lo=0.01, hi=1.0, step=0.05)
    steps: int = param(20, lo=1, hi=200, widget="slider")
    roots: tuple[str, ...] = param(("sqrt", "cbrt"), choices=ROOTS, vocab="root")
    k: float = param(2.0, lo=1e-6, hi=1e6)
    r0: float = param(1.0, lo=-1e6, hi=1e6)
    root_steps: int = param(8, lo=1, hi=100)
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param("float64")


def _start(p: Params, dev: torch.device) -> torch.Tensor:
    """(x0, y0) plus the seeded perturbation, as a (1, 2) tensor."""
    nudge = torch.randn(1, 2, generator=generator(p.seed), dtype=torch.float64) * p.perturb
    return (torch.tensor([[p.x0, p.y0]], dtype=torch.float64) + nudge).to(device=dev, dtype=dtype(p.dtype))


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


def iterate(fn, start: torch.Tensor, p: Params) -> pd.DataFrame:
    """Run every chosen method from the same start; one row per method and step."""
    pts, rec = start.repeat(len(p.methods), 1), []
    for t in range(p.steps + 1):
        loss, g, h = derivatives(fn, pts)
        rec.append(torch.cat([pts.detach(), loss[:, None], torch.linalg.vector_norm(g, dim=-1)[:, None],
                              eigenvalues(h)], dim=1))
        if t < p.steps:
            with torch.no_grad():
                pts = pts - torch.stack([direction(m, g[i], h[i], p) for i, m in enumerate(p.methods)])
    return _table(torch.stack(rec).cpu().double().numpy(), p)


def _table(rec: np.ndarray, p: Params) -> pd.DataFrame:
    """Long form of (step, method, [x, y, loss, |g|, eig_min, eig_max]) with the eigenvalues' verdict."""
    steps, m, _ = rec.shape
    flat = rec.reshape(steps * m, -1)
    table = pd.DataFrame(flat, columns=["x", "y", "loss", "grad_norm", "eig_min", "eig_max"])
    table.insert(0, "step", np.repeat(np.arange(steps), m))
    table.insert(0, "method", np.tile(np.asarray(p.methods), steps))
    table["kind"] = _kind(flat[:, 4:6])
    table["status"] = status(flat[:, 0], flat[:, 1], flat[:, 2], SURFACES[p.surface].box)
    return table


def theory_factors(p: Params, method: str, x: float, y: float) -> tuple[float, float] | None:
    """Per-step factors (x_{t+1}/x_t, y_{t+1}/y_t) where the method has a closed form on the surface."""
    alpha = p.damping if method == "damped" else 1.0
    if method == "gd":
        curv = {"quadratic": (2 * p.a, 2 * p.b), "saddle": (2.0, -2.0)}.get(p.surface)
        return None if curv is None else (1 - p.lr * curv[0], 1 - p.lr * curv[1])
    if p.surface == "saddle" and method == "saddle_free":
        return 0.0, 2.0
    if p.surface == "cubic" and method == "saddle_free":
        return tuple(0.5 if c > 0 else 1.5 for c in (x, y))
    shrink = {"quadratic": 1.0, "saddle": 1.0, "quartic": 1 / 3, "cubic": 0.5}.get(p.surface)
    return None if shrink is None else (1 - alpha * shrink, 1 - alpha * shrink)


def theory(p: Params, start: torch.Tensor) -> pd.DataFrame:
    """Closed-form iterates x0·fx^t, y0·fy^t beside the measured ones."""
    x0, y0 = (float(v) for v in start[0].double().cpu())
    t = np.arange(p.steps + 1)
    frames = []
    for m in p.methods:
        fac = theory_factors(p, m, x0, y0)
        if fac is not None:
            with np.errstate(over="ignore"):
                frames.append(pd.DataFrame({"method": m, "step": t, "x": x0 * fac[0] ** t, "y": y0 * fac[1] ** t}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["method", "step", "x", "y"])


def _plain(v: object) -> object:
    """A numpy scalar as a plain Python value (JSON-ready findings)."""
    return v.item() if isinstance(v, np.generic) else v


def descent(p: Params) -> Result:
    """Newton variants and gradient descent on the chosen surface, with the Hessian's eigenvalues per step."""
    fn, box = surface_fn(p.surface, p.a, p.b, p.formula), SURFACES[p.surface].box
    start = _start(p, device(p.device))
    paths = iterate(fn, start, p)
    last = paths[paths["step"] == p.steps].set_index("method")
    findings = {f"final_{k}_{m}": _plain(last.at[m, k]) for m in p.methods for k in ("x", "y", "loss", "kind")}
    tables = {"newton_paths": paths, "newton_theory": theory(p, start),
              "newton_contour": grid(fn, box, GRID, torch.float64), "newton_landmarks": landmarks(p.surface)}
    return Result(tables, findings)


def root_finding(p: Params) -> Result:
    """Newton's iterates for the chosen roots of K, and the classic failures."""
    found = roots(p.roots, p.k, p.r0, p.root_steps, dtype(p.dtype))
    return found.merge(Result({"root_failures": failures(p.k, p.root_steps, dtype(p.dtype))}))


SECTIONS = (
    Section("descent", descent,
            uses=("surface", "a", "b", "formula", "x0", "y0", "perturb", "methods", "lr", "damping", "steps",
                  "seed", "device", "dtype"),
            work=lambda p: p.steps * (HESSIAN_STEP + METHOD_STEP * len(p.methods))),
    Section("roots", root_finding, uses=("roots", "k", "r0", "root_steps", "dtype"),
            work=lambda p: ROOT_STEP * (len(p.roots) + FAILURE_CASES) * p.root_steps),
)
