"""The normalization engine against the facts a lecturer cites."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from stabviz.charts import X_SHAPE
from stabviz.experiments import normalization as norm
from stabviz.experiments import normalization_noise as noise
from stabviz.experiments import run_section
from stabviz.experiments.normalization_nets import NetSpec, build, groups_used, inputs, norm_layer
from stabviz.runtime import BudgetError, generator

SMALL = dict(depth=12, width=16, batch=32, norms=("none", "batch", "layer", "group", "rms"))


def small(**changes):
    """Small, fast params; ``changes`` override."""
    return norm.Params(**{**SMALL, **changes})


def section(name, p=None, progress=None):
    return run_section({s.name: s for s in norm.SECTIONS}[name], p or small(), progress)


def test_batchnorm_in_train_mode_gives_each_feature_mean_0_and_std_1_over_the_batch():
    spec = NetSpec("mlp", 1, 16, "batch", 4, "post", False, "tanh", "normal")
    x = 3.0 + 5.0 * torch.randn(64, 16, generator=generator(0), dtype=torch.float64)  # far from standard
    y = norm_layer(spec).to(torch.float64).train()(x).detach()
    np.testing.assert_allclose(y.mean(dim=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(dim=0, unbiased=False), 1.0, atol=1e-6)  # eps = 1e-5 against variance ~25


@pytest.mark.parametrize("kind", ["layer", "group", "rms"])
def test_batch_free_norms_give_a_sample_the_same_output_in_any_batch(kind):
    layer = norm_layer(NetSpec("mlp", 1, 16, kind, 4, "post", False, "tanh", "normal")).to(torch.float64)
    x = 2.0 + torch.randn(256, 16, generator=generator(1), dtype=torch.float64)
    torch.testing.assert_close(layer(x[:2])[0], layer(x)[0], rtol=0, atol=1e-12)


def test_batchnorm_output_of_a_sample_depends_on_its_batch():
    layer = norm_layer(NetSpec("mlp", 1, 16, "batch", 4, "post", False, "tanh", "normal")).to(torch.float64)
    x = torch.randn(256, 16, generator=generator(1), dtype=torch.float64)
    with torch.no_grad():
        assert float((layer(x[:2])[0] - layer(x)[0]).abs().max()) > 0.1


def test_batchnorm_noise_and_mismatch_follow_sqrt_1_5_over_b_and_others_are_exactly_0():
    r = section("noise", norm.Params(norms=("batch", "layer", "group", "rms"), width=64))
    noise, theory = r.tables["noise"], r.tables["noise_theory"].set_index(["quantity", "batch"])["value"]
    bn = noise[noise["norm"] == "batch"]
    for row in bn[bn["batch"] >= 16].itertuples():
        assert row.value == pytest.approx(theory[(row.quantity, row.batch)], rel=0.15)
    for q in ("train_noise", "mismatch"):  # the gap shrinks as the batch grows: 2 -> 256 is 128x, sqrt ~ 11x
        series = bn[bn["quantity"] == q].set_index("batch")["value"]
        assert series[2] / series[256] > 7
    assert (noise[noise["norm"] != "batch"]["value"] == 0).all()


def test_noise_findings_give_the_slope_minus_one_half_and_exact_zeros():
    """Gap ~ sqrt(1.5 / B): slope -1/2 on log-log axes from B = 16 on; the batch-free norms' gaps are exactly 0."""
    r = section("noise", norm.Params(norms=("batch", "layer", "group", "rms")))
    f, t = r.findings, r.tables["noise"]
    for q in noise.QUANTITIES:
        bn = t[(t["norm"] == "batch") & (t["quantity"] == q) & (t["batch"] >= noise.FIT_FROM)]
        assert f[f"{q}_slope_batch"] == pytest.approx(np.polyfit(np.log(bn["batch"]), np.log(bn["value"]), 1)[0])
        assert f[f"{q}_slope_batch"] == pytest.approx(-0.5, abs=0.05)
        assert 0 < f[f"{q}_fit_error_batch"] < 0.15
    assert f["slope_theory"] == -0.5  # noise ~ 1/sqrt(B), what a sweep of either slope draws as theory
    assert {f"gap_max_{n}": f[f"gap_max_{n}"] for n in ("layer", "group", "rms")} == dict.fromkeys(
        ("gap_max_layer", "gap_max_group", "gap_max_rms"), 0.0)


def test_conv_batchnorm_noise_follows_one_over_sqrt_b_h_w_and_the_per_image_norms_are_exactly_0():
    """BatchNorm2d averages a channel over B·H·W values: theory sqrt(1.5 / (B·H·W)); LayerNorm [C,H,W],
    InstanceNorm [H,W] and GroupNorm [C/G,H,W] never see the batch."""
    p = norm.Params(arch="conv", norms=("batch", "layer", "instance", "group"), channels=8, size=6)
    r = section("noise", p)
    theory = r.tables["noise_theory"].set_index(["quantity", "batch"])["value"]
    assert theory[("train_noise", 4)] == pytest.approx(math.sqrt(1.5 / (4 * 36)))
    bn = r.tables["noise"][r.tables["noise"]["norm"] == "batch"]
    for row in bn[bn["batch"] >= 16].itertuples():
        assert row.value == pytest.approx(theory[(row.quantity, row.batch)], rel=0.15)
    assert r.findings["train_noise_slope_batch"] == pytest.approx(-0.5, abs=0.05)
    assert all(r.findings[f"gap_max_{n}"] == 0.0 for n in ("layer", "instance", "group"))
    assert set(r.tables["noise"]["norm"]) == {"batch", "layer", "instance", "group"}


# Which norms' groups each norm's groups make up: BatchNorm's (c), LayerNorm's (n), InstanceNorm's (n, c), GroupNorm's
# (n, g). A norm's output has mean 0 over another's axes exactly when each of those groups is a union of its own.
COARSER = {"batch": {"batch"}, "layer": {"layer"}, "group": {"group", "layer"},
           "instance": {"instance", "batch", "layer", "group"}}


def test_each_norm_standardizes_exactly_the_axes_the_lecture_names():
    """N,H,W (Batch), C,H,W (Layer), H,W (Instance), C/G,H,W (Group): mean 0 over its own axes and the groupings
    they make up, not elsewhere; variance sigma²/(sigma² + eps) over its own axes."""
    p = norm.Params(arch="conv", norms=("layer", "instance", "group"), channels=8, size=6, groups=4)
    r = section("noise", p)
    axes = r.tables["noise_axes"].set_index("norm")
    assert axes["axes"].to_dict() == {"batch": "N,H,W", "layer": "C,H,W", "instance": "H,W", "group": "C/G,H,W"}
    for n, zero in COARSER.items():
        for other in COARSER:
            mean = axes.loc[n, f"mean_{other}"]
            assert (mean < 1e-12) if other in zero else (mean > 1e-2), (n, other, mean)
        assert r.findings[f"axes_mean_{n}"] == axes.loc[n, f"mean_{n}"] < 1e-12
        assert r.findings[f"axes_var_{n}"] == axes.loc[n, "var_error"] < 1e-3
    assert "noise_axes" not in section("noise", norm.Params()).tables


def test_batchnorm_tames_an_exploding_relu_net_whose_growth_he_et_al_predict():
    """Plain ReLU with N(0, s²) weights: each layer multiplies the activations' rms by s sqrt(n/2) (He et al. 2015),
    and the gradients explode with them; BatchNorm keeps the last block at std(relu(z)), z ~ N(0, 1)."""
    p = norm.Params(norms=("none", "batch"), activation="relu", init="normal", std=0.5)
    r = section("layers", p)
    f, t = r.findings, r.tables["layers"].set_index(["norm", "layer"])["act_std"]
    growth = (t[("none", p.depth)] / t[("none", 1)]) ** (1 / (p.depth - 1))
    assert growth == pytest.approx(p.std * math.sqrt(p.width / 2), rel=0.12)
    assert f["act_std_last_none"] == t[("none", p.depth)] and f["act_std_last_batch"] == t[("batch", p.depth)]
    assert f["act_std_last_batch"] == pytest.approx(f["normal_std"], rel=0.1)
    assert f["grad_max_none"] > 1e5 * f["grad_max_batch"] and f["grad_min_none"] > 1e6
    grads = r.tables["layers"].groupby("norm")["grad_norm"]
    assert f["grad_max_batch"] == grads.max()["batch"] and f["grad_min_batch"] == grads.min()["batch"]


def test_residual_findings_are_the_deepest_first_layer_gradients():
    p = small(norms=("none", "batch"), depth=32, activation="sigmoid", init="xavier_normal")
    r = section("residual", p)
    f, t = r.findings, r.tables["residual_depth"].set_index(["norm", "residual", "depth"])["grad_norm"]
    for n in ("none", "batch"):
        assert f[f"first_grad_plain_{n}"] == t[(n, False, 32)] and f[f"first_grad_residual_{n}"] == t[(n, True, 32)]
        assert f[f"skip_gain_{n}"] == pytest.approx(f[f"first_grad_residual_{n}"] / f[f"first_grad_plain_{n}"])
    assert f["skip_gain_none"] > 1e4


def test_saturation_theory_matches_the_closed_form_thresholds():
    r = section("saturation")
    theory = r.tables["saturation_theory"].set_index("activation")["saturated"]
    s = (1 - math.sqrt(1 - 4 * 0.05)) / 2  # sigmoid' = s(1 - s) = 0.05
    z_sig, z_tanh = -math.log(s / (1 - s)), math.atanh(math.sqrt(0.95))  # tanh' = 1 - t^2 = 0.05
    tail = lambda z: math.erfc(z / math.sqrt(2))  # noqa: E731  P(|Z| > z)
    assert theory["sigmoid"] == pytest.approx(tail(z_sig), abs=2e-4)
    assert theory["tanh"] == pytest.approx(tail(z_tanh), abs=2e-4)
    last = r.tables["saturation"].query("layer == @SMALL['depth']").set_index(["activation", "norm"])["saturated"]
    for act in ("sigmoid", "tanh"):  # the findings: the last layer's share per norm, the N(0, 1) share as theory
        assert r.findings[f"saturated_theory_{act}"] == theory[act]
        assert {n: r.findings[f"saturated_last_{act}_{n}"] for n in SMALL["norms"]} == last[act].to_dict()


def test_normalization_removes_saturation_of_a_badly_scaled_net():
    r = section("saturation", small(width=64, init="normal", std=1.0))
    mean = r.tables["saturation"].groupby(["activation", "norm"])["saturated"].mean()
    theory = r.tables["saturation_theory"].set_index("activation")["saturated"]
    for act in ("sigmoid", "tanh"):
        assert mean[(act, "none")] > 0.4  # N(0, 1) weights on 64 inputs: pre-activations ~ N(0, 64 E h^2)
        assert mean[(act, "batch")] == pytest.approx(theory[act], abs=0.03)  # BN makes them ~ N(0, 1)


def test_batchnorm_makes_the_gradient_scale_inversely_with_the_weights():
    """L(cW) = L(W) when every Linear is followed by BN, so dL/d(cW) = dL/dW / c."""
    grads = [section("layers", small(init="normal", std=s)).tables["layers"] for s in (0.5, 1.0)]
    bn = [g[g["norm"] == "batch"]["grad_norm"].to_numpy() for g in grads]
    np.testing.assert_allclose(bn[0] / bn[1], 2.0, rtol=1e-3)


def test_layer_table_keeps_every_layer_and_norm_and_reports_nonfinite_values():
    p = small(norms=("none", "batch"), init="normal", std=10.0, activation="relu", depth=60)
    t = section("layers", p).tables["layers"]
    assert len(t) == 2 * 60
    assert not np.isfinite(t[t["norm"] == "none"]["act_std"]).all()  # (10 * 4)^60 overflows float32
    assert np.isfinite(t[t["norm"] == "batch"]["act_std"]).all()


def test_deep_plain_sigmoid_net_gradient_is_far_below_the_residual_one():
    p = small(norms=("none",), depth=32, activation="sigmoid", init="xavier_normal")
    t = section("residual", p).tables["residual_depth"].set_index(["residual", "depth"])["grad_norm"]
    assert t[(True, 32)] > 1e4 * t[(False, 32)]  # sigmoid' <= 1/4 per plain layer; the skip path bypasses it
    assert t[(True, 32)] == pytest.approx(t[(True, 1)], rel=1.0)  # stays O(1) with skips


def test_backprop_lies_between_the_products_of_block_singular_values():
    r = section("jacobian", small(norms=("none", "layer"), init="xavier_normal"))
    j = r.tables["jacobian"]
    assert (j["grad_norm"] <= j["upper"] * (1 + 1e-9)).all()
    assert (j["grad_norm"] >= j["lower"] * (1 - 1e-9)).all()
    for (n, skip), rows in j.groupby(["norm", "residual"]):  # the findings: the whole net's ratio and the bound
        net, f = "residual" if skip else "plain", r.findings
        top = rows["grad_norm"].iloc[-1] / rows["gain"].iloc[-1]  # ||dL/dh_L||
        assert f[f"jacobian_ratio_{net}_{n}"] == pytest.approx(rows["grad_norm"].iloc[0] / top, rel=1e-9)
        assert rows["sigma_min"].prod() * (1 - 1e-9) <= f[f"jacobian_ratio_{net}_{n}"]
        assert f[f"jacobian_ratio_{net}_{n}"] <= f[f"jacobian_upper_{net}_{n}"] * (1 + 1e-9)
        assert f[f"identity_gap_{net}_{n}"] == pytest.approx(rows["dist_identity"].mean())


def test_each_block_gain_lies_between_the_extreme_singular_values_of_its_jacobian():
    j = section("jacobian", small(norms=("none", "batch", "rms"))).tables["jacobian"]
    assert (j["gain"] <= j["sigma_max"] * (1 + 1e-9)).all()
    assert (j["gain"] >= j["sigma_min"] * (1 - 1e-9)).all()


def test_post_norm_blocks_output_the_std_of_f_of_a_standard_normal():
    r = section("layers", small(width=64, batch=128, norms=("batch", "layer"), activation="tanh"))
    assert r.findings["normal_std"] == pytest.approx(0.6278, abs=1e-3)  # sqrt(E tanh(z)^2), z ~ N(0, 1)
    stds = r.tables["layers"]["act_std"]
    assert stds.to_numpy() == pytest.approx(r.findings["normal_std"], abs=0.05)


def test_residual_block_jacobian_is_identity_plus_a_shrinking_term():
    r = section("jacobian", small(norms=("layer",), depth=24, init="xavier_normal"))
    j = r.tables["jacobian"]
    res = j[j["residual"]].set_index("layer")
    plain = j[~j["residual"]].set_index("layer")
    assert res.loc[17:, "dist_identity"].median() < 0.5 * res.loc[:4, "dist_identity"].median()
    assert res.loc[17:, "dist_identity"].max() < 1.0  # I + (small): every singular value in [1 - d, 1 + d]
    assert (plain["sigma_min"] < 1e-3 * plain["sigma_max"]).all()  # LN is scale invariant: J h = 0


def test_groups_used_is_the_largest_divisor_not_above_the_request():
    assert groups_used(32, 5) == 4
    assert groups_used(30, 4) == 3
    assert groups_used(16, 64) == 16


def test_conv_net_runs_instancenorm_and_mlp_reports_it_skipped():
    conv = norm.Params(arch="conv", norms=("instance", "group"), depth=4, channels=4, size=4, batch=4)
    t = section("layers", conv)
    assert set(t.tables["layers"]["norm"]) == {"instance", "group"} and t.findings["skipped_norms"] == ""
    mlp = section("layers", small(norms=("instance", "layer")))
    assert set(mlp.tables["layers"]["norm"]) == {"layer"} and mlp.findings["skipped_norms"] == "instance"


def test_instancenorm_standardizes_each_channel_of_each_image():
    spec = NetSpec("conv", 1, 4, "instance", 4, "post", False, "tanh", "normal", size=6)
    g = generator(2)
    x = 1.0 + 3.0 * inputs(spec, 3, g, torch.float64, torch.device("cpu"))
    y = build(spec, g, torch.float64, torch.device("cpu"))[0].norm(x).detach()
    np.testing.assert_allclose(y.mean(dim=(2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(dim=(2, 3), unbiased=False), 1.0, atol=1e-3)


def test_batchnorm_falls_behind_at_tiny_batches_while_layernorm_does_not():
    p = norm.Params(train_norms=("batch", "layer"), batches=("2", "32"), train_depth=2, width=16, epochs=1)
    seen = []
    r = section("training", p, seen.append)
    t = r.tables["training"].set_index(["norm", "batch"])
    assert t.loc[("batch", 2), "test_acc"] < t.loc[("layer", 2), "test_acc"] - 0.15
    assert t.loc[("batch", 32), "test_acc"] > t.loc[("batch", 2), "test_acc"] + 0.15
    f = r.findings  # each norm's accuracy at the smallest and the largest batch
    assert [f[f"accuracy_{end}_batch_{n}"] for n in ("batch", "layer") for end in ("smallest", "largest")] == [
        t.loc[(n, b), "test_acc"] for n in ("batch", "layer") for b in (2, 32)]
    ln = t.loc["layer"]
    np.testing.assert_allclose(ln["test_acc"], ln["test_acc_batch_stats"], atol=2e-3)  # no train/eval gap
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_same_params_same_numbers_and_the_seed_matters():
    a, b = section("layers").tables["layers"], section("layers").tables["layers"]
    pd.testing.assert_frame_equal(a, b)
    c = section("layers", small(seed=1)).tables["layers"]
    assert not np.allclose(a["grad_norm"], c["grad_norm"])


def test_too_much_work_is_refused_before_it_runs():
    with pytest.raises(BudgetError):
        section("noise", norm.Params(arch="conv", channels=64, size=32))
    with pytest.raises(BudgetError):
        section("layers", norm.Params(depth=200, width=512, batch=1024))
    with pytest.raises(BudgetError):
        section("training", norm.Params(epochs=50, batches=norm.BATCH_CHOICES, train_norms=norm.MLP_NORMS))


def test_every_section_is_within_budget_at_defaults():
    p = norm.Params()
    for s in norm.SECTIONS:
        assert s.work(p.project(s.uses)) < 3e9, s.name


def test_a_nan_activation_is_reported_as_nan_and_drawn_not_dropped():
    from stabviz.experiments.normalization_nets import saturated_fraction
    from stabviz.figures.normalization import saturation_view

    assert math.isnan(saturated_fraction("tanh", torch.tensor([0.0, math.nan]), 0.05))
    assert saturated_fraction("tanh", torch.tensor([0.0, math.inf]), 0.05) == 0.5  # tanh'(inf) = 0: saturated
    table = pd.DataFrame({"activation": ["sigmoid", "tanh"], "norm": ["none"] * 2, "layer": [1, 1],
                          "saturated": [math.nan, 0.2]})
    theory = pd.DataFrame({"activation": ["sigmoid", "tanh"], "saturated": [0.004, 0.03]})
    result = norm.Result({"saturation": table, "saturation_theory": theory})
    spec = saturation_view(result, small(), "en")[0].chart.to_dict()
    marks = [layer for layer in spec["layer"] if layer.get("mark", {}).get("shape") == X_SHAPE]
    assert marks and spec["datasets"][marks[0]["data"]["name"]][0]["state"] == "nan"
