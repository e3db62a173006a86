"""The gradient flow of the lecture notes (Lesson 5, scene 10) against the notes' own code, and its theory.

30 layers of 1000 units, weights randn/sqrt(n_in), no bias, input torch.rand(10, 1000), MSELoss against
zeros, one backward pass: the engine's mean weight gradient per layer is the notes' number; the uniform
inputs have mean 1/2; f'(z) is at most 1/4 for sigmoid and only 0 or 1 for ReLU; the mean-field theory
extended to these inputs and this loss predicts the measured norms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from stabviz.experiments import deep_mlp as dm
from stabviz.experiments import run_section
from stabviz.experiments.deep_mlp_theory import loss_moments
from stabviz.runtime import BudgetError, generator

FLOW = next(s for s in dm.SECTIONS if s.name == "gradient_flow")
NOTES = {"depth": 30, "width": 1000, "batch": 10, "init": "lecun_normal", "inputs": "uniform", "loss": "mse",
         "statistic": "mean"}


def _notes_code(activation: type[nn.Module], seed: int) -> list[float]:
    """The notes' code, written plainly: its weights and inputs drawn from the page's seeded generator in the
    page's order, so the two computations see the same numbers."""
    g = generator(seed)
    layers = []
    for _ in range(30):
        lin = nn.Linear(1000, 1000, bias=False)
        lin.weight.data = torch.randn(1000, 1000, generator=g) / np.sqrt(1000)
        layers += [lin, activation()]
    net = nn.Sequential(*layers)
    x = torch.rand(10, 1000, generator=g)
    out = net(x)
    nn.MSELoss()(out, torch.zeros_like(out)).backward()
    return [float(m.weight.grad.double().mean()) for m in net if isinstance(m, nn.Linear)]


@pytest.mark.parametrize(("name", "module"), [("sigmoid", nn.Sigmoid), ("relu", nn.ReLU)])
def test_mean_weight_gradient_is_the_notes_number(name: str, module: type[nn.Module]) -> None:
    """Layer by layer, the page's signed mean of dL/dW equals the notes' code's (same weights, same inputs)."""
    table = run_section(FLOW, dm.Params(**NOTES, activation=name)).tables["gradient_flow"]
    expected = _notes_code(module, seed=0)
    np.testing.assert_allclose(table["weight_grad_mean"], expected, rtol=1e-3)


def test_the_notes_claims_sigmoid_vanishes_relu_does_not() -> None:
    """Sigmoid: |mean gradient| of layer 1 is ~1e-20 of the last layer's, about x0.23 per layer; ReLU (randn/sqrt(n)):
    the same size at every depth, within a factor 3; f' is at most 1/4 (sigmoid), exactly 0 or 1 (ReLU)."""
    sig = run_section(FLOW, dm.Params(**NOTES)).findings
    relu = run_section(FLOW, dm.Params(**NOTES, activation="relu")).findings
    assert sig["flow_mean_ratio_first_last"] < 1e-15
    assert sig["flow_mean_factor_per_layer"] == pytest.approx(0.23, abs=0.03)
    assert 1 / 3 < relu["flow_mean_ratio_first_last"] < 3
    assert 0.2499 < sig["flow_act_derivative_max"] <= 0.25
    assert sig["flow_act_derivative_binary_frac"] == 0
    assert relu["flow_act_derivative_binary_frac"] == 1
    assert relu["flow_act_derivative_mean"] == pytest.approx(0.5, abs=0.02)  # half the units are active


def test_uniform_inputs_have_mean_one_half() -> None:
    """torch.rand is uniform on [0, 1): the mean of 100 x 100 draws is 1/2 within 4 standard errors (sqrt(1/12)/100)."""
    f = run_section(FLOW, dm.Params(depth=1, width=100, batch=100, inputs="uniform")).findings
    assert f["flow_input_mean"] == pytest.approx(0.5, abs=4 * math.sqrt(1 / 12) / 100)
    gauss = run_section(FLOW, dm.Params(depth=1, width=100, batch=100)).findings
    assert gauss["flow_input_mean"] == pytest.approx(0.0, abs=4 / 100)


@pytest.mark.parametrize("statistic", ["norm", "mean"])
def test_mean_field_theory_follows_the_notes_setting(statistic: str) -> None:
    """Uniform inputs, MSE against zeros, sigmoid: the theory's factor per layer within 2% of the fit, its first/last
    norm ratio within a factor 1.5 over 18 decades, the last layer's norm within 5% (the statistic only changes the
    chart)."""
    r = run_section(FLOW, dm.Params(**{**NOTES, "statistic": statistic}))
    f = r.findings
    assert f["flow_factor_per_layer"] == pytest.approx(f["flow_factor_per_layer_theory"], rel=0.02)
    assert 1 / 1.5 < f["flow_ratio_first_last"] / f["flow_ratio_first_last_theory"] < 1.5
    last = r.tables["gradient_flow"]["weight_grad_norm"].iloc[-1]
    assert last == pytest.approx(r.tables["gradient_flow_theory"]["value"].iloc[-1], rel=0.05)


def test_loss_moments_of_relu_match_closed_forms() -> None:
    """For ReLU, f f' = relu: E relu(a)^2 = q/2; for independent a, b, E relu(a) relu(b) = (E relu)^2 = q / (2 pi)."""
    q = 2.5
    sq, cross = loss_moments("relu", q, 0.0)
    assert sq == pytest.approx(q / 2, rel=1e-3)
    assert cross == pytest.approx(q / (2 * math.pi), rel=1e-3)
    assert loss_moments("relu", q, q)[1] == pytest.approx(q / 2, rel=1e-3)  # fully correlated: the square


def test_loss_moments_of_sigmoid_match_gauss_hermite() -> None:
    """E (s s')^2 and, for independent samples, (E s s')^2, s = sigmoid and s' = s (1 - s), by numpy's Gauss-Hermite."""
    q = 3.0
    z, w = np.polynomial.hermite_e.hermegauss(120)
    s = 1 / (1 + np.exp(-math.sqrt(q) * z))
    g = s * s * (1 - s)
    w = w / w.sum()
    sq, cross = loss_moments("sigmoid", q, 0.0)
    assert sq == pytest.approx(float(w @ g**2), rel=1e-4)
    assert cross == pytest.approx(float(w @ g) ** 2, rel=1e-4)


def test_mse_changes_the_gradient_and_sum_keeps_the_old_numbers() -> None:
    """The default loss (sum of the outputs / batch) is what it was; MSE against zeros gives other gradients."""
    default = run_section(FLOW, dm.Params(depth=5, width=32)).tables["gradient_flow"]["weight_grad_norm"]
    mse = run_section(FLOW, dm.Params(depth=5, width=32, loss="mse")).tables["gradient_flow"]["weight_grad_norm"]
    assert not np.allclose(default, mse)


def test_the_notes_setting_fits_the_budget_and_a_wider_one_is_refused() -> None:
    """30 x 1000 x batch 10 runs; 2048 wide with batch 1024 is refused before anything runs."""
    assert FLOW.work(dm.Params(**NOTES)) < 3e9
    with pytest.raises(BudgetError):
        run_section(FLOW, dm.Params(**{**NOTES, "width": 2048, "batch": 1024}))


@pytest.mark.parametrize("std", [0.2, 0.08])
def test_relu_jacobian_product_is_a_product_of_ws(std: float) -> None:
    """ReLU's f' is only 0 or 1, so dL/dz shrinks or grows per layer by sigma_w sqrt(n / 2) (= 1.6 and 0.64 for
    width 128): the theory is that closed form and the fit is within 4% of it."""
    f = run_section(FLOW, dm.Params(activation="relu", init="normal", std=std, statistic="signal")).findings
    closed = std * math.sqrt(128 / 2)
    assert f["flow_signal_factor_per_layer_theory"] == pytest.approx(closed, rel=1e-6)
    assert f["flow_signal_factor_per_layer"] == pytest.approx(closed, rel=0.04)
    assert f["flow_act_derivative_binary_frac"] == 1
