"""Per-layer statistics of the shared MLP (stabviz.mlp.layer_stats) against torch itself: the same net run
layer by layer, every gradient from torch.autograd.grad, every moment from torch.var and mean in float64."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.mlp import MLPSpec, _moments, build_mlp, gaussian_inputs, layer_stats
from stabviz.runtime import generator

BATCH, WIDTH = 8, 16


def _net(depth: int = 4, activation: str = "tanh") -> tuple[torch.nn.Sequential, torch.Tensor]:
    model = build_mlp(MLPSpec(depth, WIDTH, activation, "xavier_normal"), generator(0), torch.float32,
                      torch.device("cpu"))
    return model, gaussian_inputs(BATCH, WIDTH, generator(1), torch.float32, torch.device("cpu"))


def _oracle(model: torch.nn.Sequential, x: torch.Tensor, readout: torch.Tensor) -> pd.DataFrame:
    """The table layer_stats promises, computed the plain way."""
    pre, post, h = [], [], x
    for lin, act in zip(model[::2], model[1::2], strict=True):
        pre.append(lin(h))
        h = act(pre[-1])
        post.append(h)
    weights = [lin.weight for lin in model[::2]]
    grads = torch.autograd.grad((h * readout).sum() / BATCH, pre + weights)
    rows = []
    for k, (z, a, dz, dw) in enumerate(zip(pre, post, grads[: len(pre)], grads[len(pre):], strict=True), start=1):
        z, a, dz = z.detach().double(), a.detach().double(), dz.double()
        rows.append({"layer": k, "pre_var": z.var().item(), "pre_ms": z.square().mean().item(),
                     "act_var": a.var().item(), "grad_var": dz.var().item(), "grad_ms": dz.square().mean().item(),
                     "weight_grad_norm": dw.double().norm().item()})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_layer_stats_match_torch_layer_by_layer(activation: str) -> None:
    model, x = _net(activation=activation)
    readout = torch.randn(BATCH, WIDTH, generator=generator(2))
    expected = _oracle(model, x, readout)
    model.zero_grad(set_to_none=True)
    table, outputs = layer_stats(model, x, readout)
    pd.testing.assert_frame_equal(table[expected.columns], expected, rtol=1e-6)
    assert sorted(outputs) == list(range(1, 5))


def test_tiny_float32_gradients_keep_their_moments() -> None:
    """Gradients near 1e-30 are ordinary float32 numbers, but their squares (1e-60) are not: the moments
    accumulate in float64, so a vanishing gradient reads as tiny, not as exactly 0."""
    model, x = _net()
    readout = torch.full((BATCH, WIDTH), 1e-30)
    table, _ = layer_stats(model, x, readout)
    unit = _oracle(model, x, torch.ones(BATCH, WIDTH))
    assert (table["grad_ms"] > 0).all()
    np.testing.assert_allclose(table["grad_ms"], unit["grad_ms"] * 1e-60, rtol=1e-4)
    np.testing.assert_allclose(table["grad_var"], unit["grad_var"] * 1e-60, rtol=1e-4)


def test_nonfinite_values_propagate_into_the_statistics() -> None:
    """An inf input makes inf/nan moments (drawn as markers by the pages), never an exception."""
    model, x = _net()
    x[0, 0] = float("inf")
    table, _ = layer_stats(model, x)
    assert not np.isfinite(table[["pre_var", "pre_ms"]].to_numpy()).all()


def test_moments_of_tensors_of_every_size_share_one_buffer_correctly() -> None:
    """The float64 buffer is sized for the largest tensor; a smaller one after it reads only its own values."""
    g = torch.Generator().manual_seed(0)
    tensors = [torch.randn(64, 32, generator=g) * 3 + 1, torch.randn(5, generator=g).half(), None,
               torch.randn(7, 3, generator=g, dtype=torch.float64)]
    var, mean_square = _moments(tensors, torch.device("cpu"))
    for t, v, ms in zip(tensors, var.tolist(), mean_square.tolist(), strict=True):
        if t is None:
            assert np.isnan(v) and np.isnan(ms)
        else:
            assert v == pytest.approx(t.double().var().item(), rel=1e-12)
            assert ms == pytest.approx(t.double().square().mean().item(), rel=1e-12)


def test_a_given_loss_replaces_the_readout_and_pre_activations_are_kept() -> None:
    """loss = MSELoss against zeros: the weight-gradient norms are torch.autograd's for that loss, and keep_pre
    receives each layer's pre-activation W h."""
    model, x = _net()
    weights = [lin.weight for lin in model[::2]]
    out = model(x)
    grads = torch.autograd.grad(torch.nn.functional.mse_loss(out, torch.zeros_like(out)), weights)
    pre: dict[int, torch.Tensor] = {}
    table, outputs = layer_stats(model, x, loss=lambda o: torch.nn.functional.mse_loss(o, torch.zeros_like(o)),
                                 keep_pre=pre)
    np.testing.assert_allclose(table["weight_grad_norm"], [g.double().norm().item() for g in grads], rtol=1e-6)
    assert sorted(pre) == [1, 2, 3, 4]
    torch.testing.assert_close(pre[1], model[0](x).detach())
    torch.testing.assert_close(pre[3], model[4](outputs[2]).detach())
