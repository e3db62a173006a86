"""Normalization layers: what BatchNorm, LayerNorm, GroupNorm, InstanceNorm and RMSNorm do to a deep net.

Per-layer activation statistics, gradient norms and saturation for each norm side by side; the
batch-size dependence of BatchNorm (statistics noise, train/eval mismatch, a short training run);
and skip connections, whose block Jacobian is I + (small). All measured with torch.nn and autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stabviz.experiments import Result, Section
from stabviz.experiments.normalization_nets import (
    ARCHS,
    MLP_NORMS,
    NORM_LABELS,
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
from stabviz.experiments.normalization_residual import (
    JACOBIAN_USES,
    RESIDUAL_USES,
    jacobian_work,
    jacobians,
    residual,
    residual_work,
)
from stabviz.experiments.normalization_train import (
    BATCH_CHOICES,
    NOISE_USES,
    TRAIN_USES,
    batch_noise,
    noise_work,
    train_work,
    training,
)
from stabviz.mlp import init_param, std_param
from stabviz.nets import activation_param
from stabviz.params import ParamsBase, Text, param
from stabviz.runtime import device, device_param, dtype, dtype_param, generator, seed_param

SATURATING = ("sigmoid", "tanh")  # the activations of the saturation section
ARCH_LABELS = {"mlp": Text("MLP (Linear layers)", "多层感知机（全连接层）"), "conv": Text("small conv net (3×3)", "小型卷积网络（3×3）")}
PLACEMENT_LABELS = {
    "post": Text("post: Linear → Norm → act", "后置：线性层 → 规范化 → 激活"),
    "pre": Text("pre: Norm → Linear → act", "前置：规范化 → 线性层 → 激活"),
}


@dataclass(frozen=True)
class Params(ParamsBase):
    arch: str = param(
        "mlp", Text("Network", "网络"),
        Text("A deep MLP, or a small conv net (InstanceNorm and GroupNorm act on its channels).",
             "深层多层感知机，或小型卷积网络（实例规范化与组规范化作用于其通道）。"),
        choices=ARCHS, labels=ARCH_LABELS,
    )
    norms: tuple[str, ...] = param(
        ("none", "batch", "layer", "group", "rms"), Text("Normalizations", "规范化方法"),
        Text("Normalization layers compared side by side (InstanceNorm needs the conv net).",
             "并排比较的规范化层（实例规范化需要卷积网络）。"),
        choices=NORMS, labels=NORM_LABELS,
    )
    groups: int = param(
        4, Text("GroupNorm groups", "GroupNorm 组数"),
        Text("Channels are split into this many groups (the nearest divisor of the width is used).",
             "通道被分成的组数（取不超过该值的宽度的最大约数）。"),
        lo=1, hi=64,
    )
    placement: str = param(
        "post", Text("Placement", "规范化位置"),
        Text("Normalize after the Linear layer (BatchNorm paper) or before it (pre-norm).",
             "在线性层之后规范化（BatchNorm 原论文），或在其之前（前置规范化）。"),
        choices=("post", "pre"), labels=PLACEMENT_LABELS,
    )
    residual: bool = param(
        False, Text("Skip connections", "残差连接"),
        Text("Each block adds its input to its output: x + f(x).", "每个块把输入加到输出上：x + f(x)。"),
    )
    activation: str = activation_param("tanh")
    init: str = init_param("normal")
    std: float = std_param(1.0)
    depth: int = param(
        30, Text("Depth", "深度"), Text("Number of blocks (each: weight, norm, activation).", "块数（每块：权重、规范化、激活）。"),
        lo=1, hi=200, widget="slider",
    )
    width: int = param(
        32, Text("Width", "宽度"), Text("Units per MLP layer.", "多层感知机每层的单元数。"), lo=4, hi=512, widget="slider",
    )
    channels: int = param(
        8, Text("Conv channels", "卷积通道数"), Text("Channels of every conv layer.", "每个卷积层的通道数。"), lo=2, hi=64,
    )
    size: int = param(
        6, Text("Image size", "图像边长"), Text("Height and width of the conv net's feature maps.", "卷积网络特征图的高和宽。"),
        lo=2, hi=32,
    )
    batch: int = param(
        64, Text("Batch size", "批量大小"), Text("Samples in the batch of the forward/backward pass.", "前向/反向传播所用批量中的样本数。"),
        lo=2, hi=1024,
    )
    threshold: float = param(
        0.05, Text("Saturation threshold", "饱和阈值"),
        Text("A unit counts as saturated where |f'(z)| is below this.", "|f'(z)| 低于此值即视为饱和。"),
        lo=1e-4, hi=0.5, step=0.01,
    )
    train_norms: tuple[str, ...] = param(
        ("batch", "group", "layer"), Text("Norms trained", "参与训练的规范化"),
        Text("Normalizations of the short training run (MLP: no InstanceNorm).", "短程训练所比较的规范化（多层感知机，无实例规范化）。"),
        choices=MLP_NORMS, labels=NORM_LABELS,
    )
    batches: tuple[str, ...] = param(
        ("2", "4", "8", "16", "32", "64"), Text("Training batch sizes", "训练批量大小"),
        Text("Batch sizes of the short training run.", "短程训练所比较的批量大小。"), choices=BATCH_CHOICES,
    )
    train_depth: int = param(
        4, Text("Training depth", "训练网络深度"), Text("Blocks of the trained MLP.", "训练的多层感知机的块数。"), lo=1, hi=30,
    )
    epochs: int = param(
        2, Text("Epochs", "训练轮数"),
        Text("Passes over the 512 training samples: every batch size sees the same data.", "遍历 512 个训练样本的轮数：各批量大小见到的数据相同。"),
        lo=1, hi=50,
    )
    lr: float = param(
        0.1, Text("Learning rate at batch 32", "批量 32 时的学习率"),
        Text("SGD (momentum 0.9) learning rate, scaled linearly with the batch size.", "SGD（动量 0.9）学习率，随批量大小线性缩放。"),
        lo=1e-4, hi=2.0, step=0.01,
    )
    seed: int = seed_param()
    device: str = device_param()
    dtype: str = dtype_param()


def net_spec(p: Params, norm: str, act: str) -> NetSpec:
    """The page's network with one normalization and activation."""
    conv = p.arch == "conv"
    return NetSpec(
        p.arch, p.depth, p.channels if conv else p.width, norm, p.groups, p.placement, p.residual, act, p.init, p.std, p.size,
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
    """
    table = profiles(p, p.activation)
    first, last = table[table["layer"] == 1], table[table["layer"] == p.depth]
    ratio = first.set_index("norm")["grad_norm"] / last.set_index("norm")["grad_norm"]
    skipped = [n for n in p.norms if n not in applicable(p.norms, p.arch)]
    width = p.channels if p.arch == "conv" else p.width
    findings = {f"grad_ratio_{n}": float(r) for n, r in ratio.items()}
    findings |= {"skipped_norms": ",".join(skipped), "groups_used": groups_used(width, p.groups)}
    findings["normal_mean"], findings["normal_std"] = normal_moments(p.activation)
    return Result({"layers": table}, findings)


def saturation(p: Params) -> Result:
    """Saturated share per layer for sigmoid and tanh under each normalization, N(0, 1) theory beside."""
    frames = [profiles(p, act).assign(activation=act) for act in SATURATING]
    table = pd.concat(frames, ignore_index=True)[["activation", "norm", "layer", "saturated"]]
    theory = pd.DataFrame([{"activation": a, "saturated": normal_saturation(a, p.threshold)} for a in SATURATING])
    return Result({"saturation": table, "saturation_theory": theory})


def _profile_work(p: Params) -> float:
    """Forward + backward (about 3x forward) of every chosen net."""
    return 3.0 * block_macs(net_spec(p, "none", p.activation), p.batch) * p.depth * len(p.norms)


PROFILE_USES = (
    "arch", "norms", "groups", "placement", "residual", "init", "std", "depth", "width", "channels", "size",
    "batch", "threshold", "seed", "device", "dtype",
)

SECTIONS = (
    Section("layers", layers, uses=(*PROFILE_USES, "activation"), work=_profile_work),
    Section("saturation", saturation, uses=PROFILE_USES, work=lambda p: 2 * _profile_work(p)),
    Section("noise", batch_noise, uses=NOISE_USES, work=noise_work),
    Section("residual", residual, uses=RESIDUAL_USES, work=residual_work),
    Section("jacobian", jacobians, uses=JACOBIAN_USES, work=jacobian_work),
    Section("training", training, uses=TRAIN_USES, work=train_work, long=True),
)
