"""Building blocks shared by experiments: the activation zoo and its derivative by autograd."""

from __future__ import annotations

import torch
from torch import nn

from stabviz.params import param

# name -> factory of a torch.nn module; names are language-neutral (they go into URLs).
ACTIVATIONS: dict[str, type[nn.Module] | object] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "hardtanh": nn.Hardtanh,
}
ACTIVATION_NAMES = tuple(ACTIVATIONS)


def activation(name: str) -> nn.Module:
    """A fresh torch.nn activation module by name."""
    return ACTIVATIONS[name]()


def value_and_derivative(name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) and f'(x) elementwise, the derivative taken by autograd."""
    x = x.detach().clone().requires_grad_(True)
    y = activation(name)(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), dy


def activation_param(default: str) -> str:
    """The activation field, declared alike on every page that has one."""
    return param(default, choices=ACTIVATION_NAMES, vocab="activation")
