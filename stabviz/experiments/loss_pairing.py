"""Loss pairing: why a sigmoid or softmax output wants cross-entropy, not squared error.

With a sigmoid output, dBCE/dz = y_hat - y, while dMSE/dz carries an extra factor sigmoid'(z) =
y_hat (1 - y_hat): a confidently wrong neuron has almost no gradient under MSE and sits on a
plateau, while BCE pulls it back at full strength. The same holds for softmax with CE
(dCE/dz = p - onehot). The numerics section shows why the pairing is computed on the logits
(BCEWithLogits, log_softmax, logsumexp) and never as log(sigmoid) or log(softmax).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Finding, Progress, Result, Section
from stabviz.experiments import loss_descent as ld
from stabviz.experiments.loss_numerics import NUMERIC_DTYPES, numerics_result
from stabviz.params import ParamsBase, param
from stabviz.runtime import DTYPE_NAMES, device, device_param, generator, seed_param
from stabviz.surfaces import parse_points as surface_points

CURVE_POINTS = 401  # points of the dL/dz curves
MAX_POINTS = 24  # start points a link may list (as many as the ring's largest count)
POINT_LIMIT = 100.0  # largest |w| or |b| of a listed start
STEP_COST = 5e5  # multiply-add equivalent of one batched step: torch overhead, about 0.3-0.5 ms on 2 idle cores
ELEMENT_COST = 100.0  # multiply-adds per element per step (forward and backward)


def parse_points(text: str) -> tuple[tuple[float, float], ...]:
    """Neuron starts written ``w,b;w,b`` (empty: none), by the surfaces' start-point parser; ValueError says what
    is wrong."""
    return tuple((s.x, s.y) for s in surface_points(text, (), MAX_POINTS, POINT_LIMIT, "w,b"))


def _check_points(text: str) -> None:
    """The points field's check: a malformed list falls back to the ring (with a warning naming it)."""
    parse_points(text)


@dataclass(frozen=True)
class Params(ParamsBase):
    target: int = param(1, lo=0, hi=1)
    x: float = param(1.0, lo=-4.0, hi=4.0, step=0.1)
    lr: float = param(1.0, lo=1e-3, hi=50.0, step=0.1)
    steps: int = param(1000, lo=1, hi=100_000, step=100)
    starts: int = param(6, lo=1, hi=24, widget="slider")
    radius: float = param(5.0, lo=0.0, hi=15.0, step=0.5, widget="slider")
    points: str = param("", check=_check_points)
    span: float = param(10.0, lo=1.0, hi=30.0, step=0.5)
    grid: int = param(41, lo=11, hi=60)
    z_max: float = param(10.0, lo=1.0, hi=50.0, step=0.5)
    classes: int = param(4, lo=2, hi=10, widget="slider")
    confidence: float = param(7.0, lo=0.0, hi=30.0, step=0.5)
    num_max: float = param(1000.0, lo=10.0, hi=1e4)
    num_points: int = param(41, lo=5, hi=200)
    dtypes: tuple[str, ...] = param(NUMERIC_DTYPES, choices=DTYPE_NAMES)
    seed: int = seed_param()
    device: str = device_param()


def neuron_starts(p: Params) -> int:
    """How many neuron starts run: the listed points, else the ring's count."""
    return len(parse_points(p.points)) or p.starts


def _ring(p: Params, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Neuron starts (w0, b0): the listed points, else evenly on a circle (an even count holds both saturated
    corners)."""
    if p.points:
        w0, b0 = torch.tensor(parse_points(p.points), dtype=torch.float64, device=dev).T
        return w0, b0
    angles = math.pi / 4 + 2 * math.pi * torch.arange(p.starts, dtype=torch.float64, device=dev) / p.starts
    return p.radius * torch.cos(angles), p.radius * torch.sin(angles)


def _batched(start: torch.Tensor, losses: int) -> torch.Tensor:
    """One independent copy of the start values per loss, as a leaf tensor to optimise."""
    return start.expand(losses, *start.shape).clone().requires_grad_(True)


def neuron(p: Params, progress: Progress | None = None) -> Result:
    """Gradient descent on (w, b) of sigmoid(w x + b) with MSE and with BCE, every start at once; the surfaces."""
    dev, names = device(p.device), tuple(ld.NEURON_LOSSES)
    w0, b0 = _ring(p, dev)
    w, b = _batched(w0, len(names)), _batched(b0, len(names))
    y = torch.full(w.shape, float(p.target), dtype=torch.float64, device=dev)

    def objective() -> tuple[torch.Tensor, torch.Tensor]:
        z = w * p.x + b
        loss = torch.stack([fn(z[i], y[i]) for i, fn in enumerate(ld.NEURON_LOSSES.values())])
        return loss, (torch.sigmoid(z) - y).abs()

    snaps, fit_step = ld.descend([w, b], objective, p.lr, p.steps, progress)
    path = _neuron_path(p, names, snaps)
    summary = ld.summary_frame(names, snaps, fit_step.cpu())
    tables = {"neuron_path": path, "neuron_summary": summary}
    findings = ld.fit_findings("neuron", names, fit_step, snaps) | _per_start(path, summary)
    return Result(tables, findings).merge(neuron_surface(p))


def _per_start(path: pd.DataFrame, summary: pd.DataFrame) -> dict:
    """Per loss and start (numbered from 1): final loss and y_hat, |grad| at the start and its closed form."""
    first, last = path[path["step"] == 0], path[path["step"] == path["step"].max()]
    out = {}
    for loss, start, end in summary[["loss", "start", "loss_end"]].itertuples(index=False):
        at0 = first[(first["loss"] == loss) & (first["start"] == start)].iloc[0]
        at_end = last[(last["loss"] == loss) & (last["start"] == start)].iloc[0]
        key = f"neuron_{loss}_{{}}_{start + 1}"
        out |= {key.format("loss_end"): float(end), key.format("y_hat_end"): float(at_end["y_hat"]),
                key.format("grad_start"): float(at0["grad_norm"]),
                key.format("grad_start_theory"): float(at0["grad_norm_theory"])}
    return out


def _neuron_path(p: Params, names: tuple[str, ...], snaps: list[dict]) -> pd.DataFrame:
    """Recorded (w, b), z, y_hat, loss and |grad| per step, with the theory |grad| = |dL/dz| sqrt(x² + 1)."""
    w, b = ld.stack(snaps, "values", 0), ld.stack(snaps, "values", 1)
    z = torch.from_numpy(w * p.x + b)
    y_hat = torch.sigmoid(z)
    dz = torch.stack([ld.neuron_dz_theory(n, y_hat[:, i], torch.tensor(float(p.target)))
                      for i, n in enumerate(names)], 1)
    steps = np.array([s["step"] for s in snaps])
    return ld.long_frame(names, steps, {
        "w": w, "b": b, "z": z.numpy(), "y_hat": y_hat.numpy(), "loss_value": ld.stack(snaps, "loss"),
        "grad_norm": ld.stack(snaps, "grad_norm"), "grad_norm_theory": (dz.abs() * math.hypot(p.x, 1.0)).numpy(),
    })


def neuron_surface(p: Params) -> Result:
    """Each loss over a (w, b) grid, for the contour plots under the trajectories."""
    axis = torch.linspace(-p.span, p.span, p.grid, dtype=torch.float64)
    w, b = torch.meshgrid(axis, axis, indexing="ij")
    y = torch.full(w.shape, float(p.target), dtype=torch.float64)
    frames = [pd.DataFrame({"w": w.ravel().numpy(), "b": b.ravel().numpy(), "loss": name,
                            "value": fn(w * p.x + b, y).ravel().numpy()}) for name, fn in ld.NEURON_LOSSES.items()]
    return Result({"neuron_surface": pd.concat(frames, ignore_index=True)})


def _curve_rows(key: str, grid: np.ndarray, name: str, measured: torch.Tensor, theory: torch.Tensor) -> pd.DataFrame:
    """Autograd and theory values of one loss's gradient curve, in long form."""
    return pd.DataFrame({key: np.tile(grid, 2), "loss": name, "source": np.repeat(["autograd", "theory"], grid.size),
                         "value": torch.cat([measured, theory]).cpu().numpy()})


def neuron_curves(p: Params) -> Result:
    """dL/dz over z for MSE and BCE: autograd beside the closed forms (theory)."""
    z = torch.linspace(-p.z_max, p.z_max, CURVE_POINTS, dtype=torch.float64)
    y = torch.full_like(z, float(p.target))
    frames, gaps = [], {}
    for name, fn in ld.NEURON_LOSSES.items():
        measured, theory = ld.dz_autograd(fn, z, y), ld.neuron_dz_theory(name, torch.sigmoid(z), y)
        frames.append(_curve_rows("z", z.numpy(), name, measured, theory))
        gaps[f"neuron_{name}_dz_max_abs"] = float(measured.abs().max())
        gaps[f"neuron_{name}_dz_theory_gap"] = float((measured - theory).abs().max())
    return Result({"neuron_dz": pd.concat(frames, ignore_index=True)}, gaps)


def _softmax_start(p: Params, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Random logits (seeded) plus `confidence` on one wrong class per start; class 0 is the target."""
    z = torch.randn(p.starts, p.classes, generator=generator(p.seed, dev), device=dev, dtype=torch.float64)
    wrong = 1 + torch.arange(p.starts, device=dev) % (p.classes - 1)
    z[torch.arange(p.starts, device=dev), wrong] += p.confidence
    onehot = torch.zeros_like(z)
    onehot[:, 0] = 1.0
    return z, onehot


def softmax(p: Params, progress: Progress | None = None) -> Result:
    """Gradient descent on free logits with softmax + MSE and with softmax + CE, every start at once."""
    dev, names = device(p.device), tuple(ld.SOFTMAX_LOSSES)
    z0, onehot = _softmax_start(p, dev)
    z = _batched(z0, len(names))

    def objective() -> tuple[torch.Tensor, torch.Tensor]:
        loss = torch.stack([fn(z[i], onehot) for i, fn in enumerate(ld.SOFTMAX_LOSSES.values())])
        return loss, 1 - torch.softmax(z, dim=-1)[..., 0]

    snaps, fit_step = ld.descend([z], objective, p.lr, p.steps, progress)
    probs = torch.softmax(torch.from_numpy(ld.stack(snaps, "values", 0)), dim=-1)
    theory = torch.stack([ld.softmax_dz_theory(n, probs[:, i], onehot.cpu()) for i, n in enumerate(names)], 1)
    path = ld.long_frame(names, np.array([s["step"] for s in snaps]), {
        "p_target": probs[..., 0].numpy(), "loss_value": ld.stack(snaps, "loss"),
        "grad_norm": ld.stack(snaps, "grad_norm"), "grad_norm_theory": theory.norm(dim=-1).numpy(),
    })
    tables = {"softmax_path": path, "softmax_summary": ld.summary_frame(names, snaps, fit_step.cpu())}
    return Result(tables, ld.fit_findings("softmax", names, fit_step, snaps))


def softmax_curves(p: Params) -> Result:
    """|dL/dz| against the wrong class's margin m (logits m e_1, target class 0): autograd beside theory; its largest
    value, and its value at the widest margin m = z_max beside the closed form's."""
    margin = torch.linspace(0, p.z_max, CURVE_POINTS, dtype=torch.float64)
    z = torch.zeros(CURVE_POINTS, p.classes, dtype=torch.float64)
    z[:, 1] = margin
    onehot = torch.zeros_like(z)
    onehot[:, 0] = 1.0
    frames, findings = [], {}
    for name, fn in ld.SOFTMAX_LOSSES.items():
        theory = ld.softmax_dz_theory(name, torch.softmax(z, dim=-1), onehot).norm(dim=-1)
        measured = ld.dz_autograd(fn, z, onehot).norm(dim=-1)
        frames.append(_curve_rows("margin", margin.numpy(), name, measured, theory))
        findings |= {f"softmax_{name}_dz_max_abs": float(measured.max()),
                     f"softmax_{name}_dz_at_z_max": float(measured[-1]),
                     f"softmax_{name}_dz_at_z_max_theory": float(theory[-1])}
    return Result({"softmax_dz": pd.concat(frames, ignore_index=True)}, findings)


def numerics(p: Params) -> Result:
    """Naive and stable forms of BCE and softmax-CE over a wide z range in several dtypes."""
    return numerics_result(p.dtypes, p.num_max, p.num_points, device(p.device))


def _neuron_work(p: Params) -> float:
    return (p.steps + 1) * (STEP_COST + ELEMENT_COST * 2 * neuron_starts(p)) + ELEMENT_COST * 2 * p.grid**2


def _softmax_work(p: Params) -> float:
    return (p.steps + 1) * (STEP_COST + ELEMENT_COST * 2 * p.starts * p.classes)


def _numerics_work(p: Params) -> float:
    return STEP_COST * 14 * len(p.dtypes) + ELEMENT_COST * 14 * len(p.dtypes) * p.num_points


def _per_loss(prefix: str, losses: dict, names: tuple[str, ...], theory: bool = False) -> tuple[Finding, ...]:
    """One finding per name and loss, ``<prefix>_<loss>_<name>`` (its theory ``..._theory``), losses together."""
    return tuple(Finding(f"{prefix}_{loss}_{name}", theory=f"{prefix}_{loss}_{name}_theory" if theory else None)
                 for name in names for loss in losses)


FITS = ("fitted", "slowest_fit", "grad_worst_start")
NUMERICS = ("naive_sigmoid_breaks_float32", "naive_softmax_breaks_float32", "log_of_softmax_breaks_float32",
            "stable_forms_nonfinite", "bce_loss_max")

SECTIONS = (
    Section("neuron", neuron, uses=("target", "x", "lr", "steps", "starts", "radius", "points", "span", "grid",
                                    "device"),
            work=_neuron_work, long=True, findings=_per_loss("neuron", ld.NEURON_LOSSES, FITS)),
    Section("neuron_curves", neuron_curves, uses=("target", "z_max"), work=lambda p: ELEMENT_COST * 2 * CURVE_POINTS,
            findings=_per_loss("neuron", ld.NEURON_LOSSES, ("dz_max_abs",))),
    Section("softmax", softmax, uses=("lr", "steps", "starts", "classes", "confidence", "seed", "device"),
            work=_softmax_work, long=True, findings=_per_loss("softmax", ld.SOFTMAX_LOSSES, FITS)),
    Section("softmax_curves", softmax_curves, uses=("classes", "z_max"),
            work=lambda p: ELEMENT_COST * 2 * CURVE_POINTS * p.classes,
            findings=(*_per_loss("softmax", ld.SOFTMAX_LOSSES, ("dz_at_z_max",), theory=True),
                      *_per_loss("softmax", ld.SOFTMAX_LOSSES, ("dz_max_abs",)))),
    Section("numerics", numerics, uses=("num_max", "num_points", "dtypes", "device"), work=_numerics_work,
            findings=tuple(Finding(k) for k in NUMERICS)),
)
