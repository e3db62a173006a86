"""Normalization layers: what BatchNorm, LayerNorm, GroupNorm, InstanceNorm and RMSNorm do to a deep net.

Per-layer activation statistics, gradient norms and saturation for each norm side by side; the
batch-size dependence of BatchNorm (statistics noise, train/eval mismatch, a short training run);
and skip connections, whose block Jacobian is I + (small). All measured with torch.nn and autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stabviz.experiments import Finding, Result, Section
from stabviz.experiments.normalization_nets import (
    ARCHS,
    MLP_NORMS,
    NORMS,
    NetSpec,
    applicable,
    block_macs,
    build,
    groups_used,
    inputs,
    layer_profile,
    normal_moments,
    normal_saturation,
)
from stabviz.experiments.normalization_noise import NOISE_USES, batch_noise, noise_work
from stabviz.experiments.normalization_residual import (
    JACOBIAN_USES,
    RESIDUAL_USES,
    jacobian_work,
    jacobians,
    residual,
    residual_work,
)
from stabviz.experiments.normalization_train import BATCH_CHOICES, TRAIN_USES, train_work, training
from stabviz.mlp import init_param, std_param
from stabviz.nets import activation_param
from stabviz.params import ParamsBase, param
from stabviz.runtime import device, device_param, dtype, dtype_param, generator, seed_param

SATURATING = ("sigmoid", "tanh")  # the activations of the saturation section


@dataclass(frozen=True)
class Params(ParamsBase):
    arch: str = param("mlp", choices=ARCHS, vocab="arch")
    norms: tuple[str, ...] = param(("none", "batch", "layer", "group", "rms"), choices=NORMS, vocab="norm")
    groups: int = param(4, lo=1, hi=64)
    placement: str = param("post", choices=("post", "pre"), vocab="placement")
    residual: bool = param(False)
    activation: str = activation_param("tanh")
    init: str = init_param("normal")
    std: float = std_param(1.0)
    depth: int = param(30, lo=1, hi=200, widget="slider")
    width: int = param(32, lo=4, hi=512, widget="slider")
    channels: int = param(8, lo=2, hi=64)
    size: int = param(6, lo=2, hi=32)
    batch: int = param(64, lo=2, hi=1024)
    threshold: float = param(0.05, lo=1e-4, hi=0.5, step=0.01)
    train_norms: tuple[str, ...] = param(("batch", "group", "layer"), choices=MLP_NORMS, vocab="norm")
    batches: tuple[str, ...] = param(("2", "4", "8", "16", "32", "64"), choices=BATCH_CHOICES)
    train_depth: int = param(4, lo=1, hi=30)
    epochs: int = param(2, lo=1, hi=50)
    lr: float = param(0.1, lo=1e-4, hi=2.0, step=0.01)
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param()


def net_spec(p: Params, norm: str, act: str) -> NetSpec:
    """The page's network with one normalization and activation."""
    conv = p.arch == "conv"
    return NetSpec(
        p.arch, p.depth, p.channels if conv else p.width, norm,
        p.groups, p.placement, p.residual, act, p.init, p.std, p.size,
    )


def profiles(p: Params, act: str) -> pd.DataFrame:
    """Per-layer statistics of one forward/backward pass for every chosen normalization (same seed each)."""
    dev, dt = device(p.device), dtype(p.dtype)
    frames = []
    for norm in applicable(p.norms, p.arch):
        spec, g = net_spec(p, norm, act), generator(p.seed, dev)
        model = build(spec, g, dt, dev)
        x = inputs(spec, p.batch, g, dt, dev)
        frames.append(layer_profile(model, x, g, act, p.threshold).assign(norm=norm))
    return pd.concat(frames, ignore_index=True)


def layers(p: Params) -> Result:
    """Activation mean/std, saturation and weight-gradient norm per layer, one curve per normalization.

    Theory beside: with post placement and no skips every block outputs f(z), z ~ N(0, 1) per unit.
    Findings per norm: the first/last gradient ratio, the largest and smallest layer gradient (explosion shows in
    their size, not only in their ratio) and the last block's output std.
    """
    table = profiles(p, p.activation)
    first, last = table[table["layer"] == 1], table[table["layer"] == p.depth]
    ratio = first.set_index("norm")["grad_norm"] / last.set_index("norm")["grad_norm"]
    skipped = [n for n in p.norms if n not in applicable(p.norms, p.arch)]
    width = p.channels if p.arch == "conv" else p.width
    findings = {f"grad_ratio_{n}": float(r) for n, r in ratio.items()}
    by_norm = table.groupby("norm", sort=False)
    findings |= {f"grad_max_{n}": float(v) for n, v in by_norm["grad_norm"].max().items()}
    findings |= {f"grad_min_{n}": float(v) for n, v in by_norm["grad_norm"].min().items()}
    findings |= {f"act_std_last_{n}": float(v) for n, v in last.set_index("norm")["act_std"].items()}
    findings |= {"skipped_norms": ",".join(skipped), "groups_used": groups_used(width, p.groups)}
    findings["normal_mean"], findings["normal_std"] = normal_moments(p.activation)
    return Result({"layers": table}, findings)


def saturation(p: Params) -> Result:
    """Saturated share per layer for sigmoid and tanh under each normalization, N(0, 1) theory beside."""
    frames = [profiles(p, act).assign(activation=act) for act in SATURATING]
    table = pd.concat(frames, ignore_index=True)[["activation", "norm", "layer", "saturated"]]
    theory = pd.DataFrame([{"activation": a, "saturated": normal_saturation(a, p.threshold)} for a in SATURATING])
    last = table[table["layer"] == p.depth]
    findings = {f"saturated_last_{r.activation}_{r.norm}": float(r.saturated) for r in last.itertuples()}
    findings |= {f"saturated_theory_{r.activation}": float(r.saturated) for r in theory.itertuples()}
    return Result({"saturation": table, "saturation_theory": theory}, findings)


def _profile_work(p: Params) -> float:
    """Forward + backward (about 3x forward) of every chosen net."""
    return 3.0 * block_macs(net_spec(p, "none", p.activation), p.batch) * p.depth * len(p.norms)


PROFILE_USES = (
    "arch", "norms", "groups", "placement", "residual", "init", "std", "depth", "width", "channels", "size",
    "batch", "threshold", "seed", "device", "dtype",
)

SECTIONS = (
    Section("layers", layers, uses=(*PROFILE_USES, "activation"), work=_profile_work, findings=(
        Finding("grad_ratio_*"), Finding("grad_max_*"), Finding("act_std_last_*", theory="normal_std"))),
    Section("saturation", saturation, uses=PROFILE_USES, work=lambda p: 2 * _profile_work(p),
            findings=tuple(Finding(f"saturated_last_{a}_*", theory=f"saturated_theory_{a}") for a in SATURATING)),
    Section("noise", batch_noise, uses=NOISE_USES, work=noise_work, findings=(
        Finding("train_noise_slope_*", theory="slope_theory"), Finding("mismatch_slope_*", theory="slope_theory"),
        Finding("gap_max_*"))),
    Section("residual", residual, uses=RESIDUAL_USES, work=residual_work, findings=(
        Finding("skip_gain_*"), Finding("first_grad_plain_*"), Finding("first_grad_residual_*"))),
    Section("jacobian", jacobians, uses=JACOBIAN_USES, work=jacobian_work, findings=(
        Finding("jacobian_ratio_plain_*"), Finding("identity_gap_plain_*"), Finding("jacobian_ratio_residual_*"),
        Finding("identity_gap_residual_*"))),
    Section("training", training, uses=TRAIN_USES, work=train_work, long=True, findings=(
        Finding("accuracy_smallest_batch_*"), Finding("accuracy_largest_batch_*"), Finding("chance_accuracy"))),
)
