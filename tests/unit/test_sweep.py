"""Sweeps: their grids, their parsing of hostile text, their budget, and points equal to independent runs."""

from __future__ import annotations

import dataclasses

import pytest

from stabviz import experiments, sweep
from stabviz.experiments import Finding, deep_mlp, optimizers
from stabviz.runtime import BudgetError

FLOW = dataclasses.replace(next(s for s in deep_mlp.SECTIONS if s.name == "gradient_flow"),
                           findings=(Finding("flow_factor_per_layer", "flow_factor_per_layer_theory"),
                                     Finding("flow_layers_*")))
LR = dataclasses.replace(next(s for s in optimizers.SECTIONS if s.name == "sweep"),
                         findings=(Finding("first_diverging_lr_*"),))


def test_log_grid_runs_from_lo_to_hi_by_equal_ratios():
    values = sweep.Sweep("std", "f", 0.1, 10.0, "log", 5).values(deep_mlp.Params.specs()["std"])
    assert values == pytest.approx([0.1, 10**-0.5, 1.0, 10**0.5, 10.0])


def test_whole_number_knobs_round_and_drop_repeats():
    values = sweep.Sweep("depth", "f", 1, 4, "lin", 9).values(deep_mlp.Params.specs()["depth"])
    assert values == [1, 2, 3, 4]


def test_a_choice_knob_takes_all_its_values():
    spec = deep_mlp.Params.specs()["activation"]
    assert sweep.Sweep("activation", "f").values(spec) == list(spec.choices)
    assert sweep.parse("activation", "flow_factor_per_layer", deep_mlp.Params, FLOW)[0].text(spec) == "activation"


@pytest.mark.parametrize("text", ["std:0.1:10:log:21", "std=0.1:10:log:21", "std:10:0.1:log:21"])
def test_link_and_cli_forms_parse_alike(text):
    got, issues = sweep.parse(text, "flow_factor_per_layer", deep_mlp.Params, FLOW)
    assert not issues and (got.lo, got.hi, got.scale, got.points) == (0.1, 10.0, "log", 21)
    assert got.text(deep_mlp.Params.specs()["std"]) == "std:0.1:10:log:21"


def test_hostile_ranges_are_clamped_and_named():
    got, issues = sweep.parse("depth:-5:1e9:log:500", "flow_factor_per_layer", deep_mlp.Params, FLOW)
    spec = deep_mlp.Params.specs()["depth"]
    assert (got.lo, got.hi, got.points) == (spec.lo, spec.hi, sweep.MAX_POINTS)
    assert [i.name for i in issues] == ["sweep.lo", "sweep.hi", "sweep.points"]


def test_a_log_range_through_zero_falls_back_to_linear():
    got, issues = sweep.parse("momentum:0:0.9:log:5", "first_diverging_lr", optimizers.Params, LR)
    assert got.scale == "lin" and issues[0].reason.code == "log_needs_positive"


@pytest.mark.parametrize(("text", "finding", "key"), [
    ("lr:0.1:1", "flow_factor_per_layer", "sweep"),  # another tab's knob
    ("device", "flow_factor_per_layer", "sweep"),  # where it runs is not a knob
    ("std:0.1:1", "no_such_finding", "finding"),
])
def test_a_knob_or_finding_not_of_the_tab_is_refused(text, finding, key):
    got, issues = sweep.parse(text, finding, deep_mlp.Params, FLOW)
    assert got is None and issues[0].name == key


def test_points_equal_independent_runs_and_carry_the_theory():
    params = deep_mlp.Params(depth=12, width=32, batch=8)
    s, _ = sweep.parse("std:0.5:2:log:3", "flow_factor_per_layer", deep_mlp.Params, FLOW)
    points = sweep.settings(params, s)
    df = sweep.run(FLOW, points, s, lambda p: experiments.run_section(FLOW, p))
    for p in points:
        alone = experiments.run_section(FLOW, p).findings
        rows = df[df["value"] == p.std].set_index("kind")["y"]
        assert rows["measured"] == alone["flow_factor_per_layer"]
        assert rows["theory"] == alone["flow_factor_per_layer_theory"]
    assert list(df["value"].unique()) == pytest.approx([0.5, 1.0, 2.0])


def test_a_family_gives_a_series_per_member():
    params = deep_mlp.Params(depth=8, width=16, batch=4, dtype="float16")
    s, _ = sweep.parse("std:1:100:log:3", "flow_layers", deep_mlp.Params, FLOW)
    df = sweep.run(FLOW, sweep.settings(params, s), s, lambda p: experiments.run_section(FLOW, p))
    assert set(df["series"]) == {"finite", "zero", "inf", "nan"}
    assert (df.groupby("value")["y"].sum() == 8).all()  # each layer is in exactly one state


def test_a_sweep_over_budget_is_refused_before_any_point_runs():
    calls = []
    params = deep_mlp.Params(depth=256, width=2048, batch=1024)
    s, _ = sweep.parse("std:0.5:2:log:32", "flow_factor_per_layer", deep_mlp.Params, FLOW)
    with pytest.raises(BudgetError):
        sweep.run(FLOW, sweep.settings(params, s), s, lambda p: calls.append(p))
    assert calls == []


def test_first_diverging_lr_of_gd_tracks_two_over_the_curvature():
    """On f = a x^2 + b y^2 plain gradient descent diverges once lr > 2 / (2 max(a, b)): the sweep shows 1/a."""
    params = optimizers.Params(optimizers=("sgd",), sweep_hi=10.0)
    s, _ = sweep.parse("a:0.5:4:log:4", "first_diverging_lr", optimizers.Params, LR)
    df = sweep.run(LR, sweep.settings(params, s), s, lambda p: experiments.run_section(LR, p))
    measured = df[df["series"] == "sgd"]
    ratio = (params.sweep_hi / params.sweep_lo) ** (1 / (params.sweep_points - 1))  # the lr grid's spacing
    for a, lr in zip(measured["value"], measured["y"], strict=True):
        bound = 1 / max(a, params.b)
        assert bound <= lr <= bound * ratio * (1 + 1e-9)


def test_a_family_never_counts_its_theory_keys_as_measured_series():
    family = Finding("first_diverging_lr_*", theory="first_diverging_lr_theory_*")
    findings = {"first_diverging_lr_sgd": 0.1, "first_diverging_lr_theory_sgd": 0.1, "first_diverging_lr_adam": 2.0}
    assert family.series(findings) == {"sgd": 0.1, "adam": 2.0}
    assert family.theory_of(findings, "sgd") == 0.1 and family.theory_of(findings, "adam") is None
