"""Mixed precision: where float16 and bfloat16 lose the gradient, and how loss scaling and float32 master weights
get it back.

Real torch machinery throughout: gradients by autograd in float32 cast to each half format (what is lost to 0 or
inf), the loss multiplied by S = 2^k (the exact shift by k binades), a short training run under ``torch.autocast``
with and without ``torch.amp.GradScaler``, the update w + lr·g rounded in each format, and the formats' limits
read from ``torch.finfo``. Helpers: :mod:`mixed_precision_formats`, :mod:`mixed_precision_grads`,
:mod:`mixed_precision_train`, :mod:`mixed_precision_master`.
"""

from __future__ import annotations

from dataclasses import dataclass

from stabviz.experiments import Finding, Section
from stabviz.experiments.mixed_precision_formats import formats
from stabviz.experiments.mixed_precision_grads import NETS, gradients, grads_work, scaling, scaling_work
from stabviz.experiments.mixed_precision_master import master, master_work
from stabviz.experiments.mixed_precision_train import train, train_work
from stabviz.mlp import init_param, std_param
from stabviz.nets import activation_param
from stabviz.params import ParamsBase, param
from stabviz.runtime import device_param, seed_param


@dataclass(frozen=True)
class Params(ParamsBase):
    net: str = param("mlp", choices=NETS, vocab="mp_net")
    depth: int = param(8, lo=1, hi=64, widget="slider")
    width: int = param(64, lo=2, hi=512)
    batch: int = param(32, lo=1, hi=512)
    seq_len: int = param(20, lo=1, hi=200)
    activation: str = activation_param("sigmoid")
    init: str = init_param("xavier_normal")
    std: float = std_param(1.0)
    scale_exp: int = param(16, lo=-24, hi=64, widget="slider")
    train_depth: int = param(10, lo=1, hi=32)
    train_width: int = param(32, lo=2, hi=256)
    train_batch: int = param(32, lo=1, hi=256)
    steps: int = param(100, lo=10, hi=1000, step=10)
    lr: float = param(0.5, lo=1e-4, hi=10.0, step=0.01)
    init_scale_exp: int = param(16, lo=0, hi=40)
    growth_interval: int = param(20, lo=1, hi=2000)
    weight: float = param(1.0, lo=1e-4, hi=6e4)
    master_width: int = param(64, lo=1, hi=1024)
    master_lr: float = param(0.05, lo=1e-6, hi=0.5)
    master_steps: int = param(100, lo=10, hi=2000, step=10)
    probe: float = param(0.1, lo=-1e30, hi=1e30)
    seed: int = seed_param()
    device: str = device_param()


NET = ("net", "depth", "width", "batch", "seq_len", "activation", "init", "std", "seed", "device")

SECTIONS = (
    Section("gradients", gradients, uses=NET, work=grads_work, findings=(
        Finding("lost_share_measured_*", theory="lost_share_theory_*"),
        Finding("subnormal_share_measured_*", theory="subnormal_share_theory_*"),
        Finding("lost_share_first_tensor_float16"), Finding("grad_log2_median"), Finding("grad_log2_max"))),
    Section("scaling", scaling, uses=(*NET, "scale_exp"), work=scaling_work, findings=(
        Finding("shift_log2_measured", theory="shift_log2_theory"),
        Finding("scaled_lost_share_float16"), Finding("scaled_inf_share_float16"),
        Finding("best_scale_log2_measured", theory="best_scale_log2_theory"))),
    Section("training", train, uses=("train_depth", "train_width", "train_batch", "steps", "lr", "init_scale_exp",
                                     "growth_interval", "activation", "init", "std", "seed", "device"),
            work=train_work, long=True, findings=(
                Finding("train_final_loss_*"), Finding("train_zero_grad_share_*"), Finding("train_skipped_steps"),
                Finding("train_final_log2_scale"))),
    Section("master", master, uses=("weight", "master_width", "master_lr", "master_steps", "seed", "device"),
            work=master_work, long=True, findings=(
                Finding("update_smallest_measured_*", theory="update_smallest_theory_*"),
                Finding("master_final_loss_*"), Finding("master_stalled_share_*"))),
    Section("formats", formats, uses=("probe",), work=lambda p: 1e4, findings=(
        Finding("format_max_measured_*", theory="format_max_finfo_*"),
        Finding("format_subnormal_measured_*", theory="format_subnormal_finfo_*"),
        Finding("format_eps_measured_*", theory="format_eps_finfo_*"),
        Finding("probe_rel_error_*", theory="probe_bound_*"))),
)
