"""The deep-MLP learning-rate sweep: every copy is the plain SGD run it stands for, and the lecture's claims hold.

With vanishing gradients (sigmoid, Xavier, 10 layers) no learning rate trains the net; with exploding ones
(ReLU, N(0, 0.325^2), 1.3 times He's std) only a narrow band does and larger rates diverge; He + ReLU trains
over a wide band.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.functional import binary_cross_entropy_with_logits

from stabviz.experiments import deep_mlp as dm
from stabviz.experiments import run_section
from stabviz.experiments.deep_mlp_sweep import lr_grid, lr_sweep
from stabviz.experiments.deep_mlp_train import DATA_SIZE, train_data, train_net
from stabviz.runtime import BudgetError, generator

SWEEP = next(s for s in dm.SECTIONS if s.name == "lr_sweep")
EXPLODING = {"activation": "relu", "init": "normal", "std": 0.325}


def _plain_sgd(p: dm.Params, lr: float) -> list[float]:
    """One copy trained by a plain torch.optim.SGD loop with this learning rate, drawing as the sweep draws."""
    g = generator(p.seed)
    net = train_net(p, g, p.sweep_depth, p.sweep_width)
    x, y = train_data(p.sweep_width, g)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for _ in range(p.sweep_steps):
        idx = torch.randint(DATA_SIZE, (p.sweep_batch,), generator=g)
        loss = binary_cross_entropy_with_logits(net(x[idx]).squeeze(1), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_each_copy_is_plain_sgd_with_its_learning_rate() -> None:
    """The batched copies (vmap, gradients scaled by their learning rates, SGD of lr 1) follow, step by step, the
    losses of separate plain SGD runs at 0.01 and 0.3."""
    p = dm.Params(sweep_depth=3, sweep_width=8, sweep_batch=4, sweep_steps=30, lr_min=0.01, lr_max=0.3, lr_points=2,
                  activation="tanh")
    curves = lr_sweep(p).tables["sweep_curves"]
    for lr in (0.01, 0.3):
        measured = curves[np.isclose(curves["lr"], lr)]["loss"].to_numpy()
        np.testing.assert_allclose(measured, _plain_sgd(p, lr), rtol=1e-4)


def test_learning_rates_are_log_spaced_between_the_ends() -> None:
    """8 rates from 1e-3 to 3: the ends exact, a constant ratio (3000^(1/7)) between neighbours."""
    lrs = lr_grid(dm.Params())
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(3.0) and len(lrs) == 8
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], 3000 ** (1 / 7), rtol=1e-12)


def test_vanishing_none_exploding_a_narrow_band_he_a_wide_one() -> None:
    """Sigmoid + Xavier: no rate reaches 75%; exploding ReLU: at most 2 rates do and at least 4 diverge; He + ReLU:
    at least 4 rates train, 0.1 among them."""
    vanishing = run_section(SWEEP, dm.Params()).findings
    exploding = run_section(SWEEP, dm.Params(**EXPLODING)).findings
    he = run_section(SWEEP, dm.Params(activation="relu", init="kaiming_normal")).findings
    assert vanishing["sweep_trained_lrs"] == 0 and vanishing["sweep_best_accuracy"] < 0.6
    assert exploding["sweep_trained_lrs"] <= 2 and exploding["sweep_diverged_lrs"] >= 4
    assert he["sweep_trained_lrs"] >= 4 and he["sweep_band_low"] < 0.1 < he["sweep_band_high"]


def test_a_diverged_rate_keeps_its_nan_and_does_not_spoil_the_others() -> None:
    """The copies are independent: a nan in one copy's loss leaves the others finite; nan is kept in the table."""
    r = run_section(SWEEP, dm.Params(**EXPLODING))
    table, curves = r.tables["sweep"], r.tables["sweep_curves"]
    assert table["diverged"].iloc[-1] and not table["diverged"].iloc[0]
    assert curves[curves["lr"] == table["lr"].iloc[0]]["state"].eq("finite").all()
    assert curves["state"].isin(["nan", "inf"]).any()


def test_sweep_work_counts_every_copy() -> None:
    """Twice the learning rates, twice the work; 16 rates x 2000 steps of a wide net are refused."""
    one, two = dm.Params(lr_points=4), dm.Params(lr_points=8)
    assert SWEEP.work(two) == pytest.approx(2 * SWEEP.work(one))
    with pytest.raises(BudgetError):
        run_section(SWEEP, dm.Params(lr_points=16, sweep_steps=2000, sweep_width=128))
