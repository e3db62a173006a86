"""The deep-MLP page opened on the lectures' scenes: the notes' gradient flow (mean weight gradient of 30 layers of
1000 units, uniform inputs, MSE against zeros) and the learning-rate sweep, with no warning and every chart drawn."""

import pytest
from pagetest import chart_index, chart_rows, charts, open_page, problems, value

NOTES = {"depth": "30", "width": "1000", "batch": "10", "init": "lecun_normal", "inputs": "uniform", "loss": "mse",
         "statistic": "mean"}  # Lesson 5, scene 10


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_the_notes_gradient_flow_draws_the_signed_mean_of_every_layer(activation):
    at = open_page("deep_mlp", {**NOTES, "activation": activation})
    assert not problems(at) and not at.warning
    assert value(at, "deep_mlp", "inputs") == "uniform" and value(at, "deep_mlp", "statistic") == "mean"
    rows = chart_rows(at, chart_index(at, "Mean weight gradient per layer (depth 30, width 1000)"))
    signs = [r["sign"] for r in rows if "sign" in r]
    assert len(signs) == 30 and set(signs) <= {"+", "−"}  # every layer's mean is nonzero and carries its sign
    means = [r for r in rows if "|mean" in str(r.get("series")) and "layer" in r]
    assert len({r["layer"] for r in means}) == 30
    text = " ".join(m.value for m in at.markdown)
    assert "Mean weight gradient: layer 1" in text and "MSE against zeros" in text


def test_the_lr_sweep_of_an_exploding_net_draws_its_narrow_band_and_the_diverged_rates():
    at = open_page("deep_mlp", {"tab": "lr_sweep", "activation": "relu", "init": "normal", "std": "0.325"})
    assert not problems(at) and not at.warning
    assert len(charts(at)) == 2
    outcomes = {r.get("outcome") for r in chart_rows(at, chart_index(at, "Training accuracy after 300 SGD steps"))}
    assert {"trained (accuracy ≥ target)", "diverged (loss inf or nan)"} <= outcomes
    losses = {r.get("state") for r in chart_rows(at, chart_index(at, "Loss per step for each learning rate"))}
    assert "nan" in losses  # the diverged copies' nan is drawn, not dropped
