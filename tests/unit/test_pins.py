"""Pins: their link encoding round-trips, survives a change of the live knobs, and hostile links stay safe."""

from __future__ import annotations

import dataclasses

import pytest

from stabviz import comparison
from stabviz.experiments import Section, deep_mlp
from stabviz.pins import PIN_IDS, Pin, changed, next_letter, parse_pins, pin_query, within_budget
from stabviz.runtime import WORK_BUDGET

Params = deep_mlp.Params
FLOW = next(s for s in deep_mlp.SECTIONS if s.name == "gradient_flow")


def test_a_pin_is_written_as_its_differences_and_reads_back_the_same():
    live = Params(depth=50)
    pins = [Pin("A", Params(depth=20)), Pin("B", Params(depth=30, dtype="float64"), "deep")]
    query = pin_query(pins, live)
    assert query == {"pins": "A,B", "A.depth": "20", "B.depth": "30", "B.dtype": "float64", "B.name": "deep"}
    assert parse_pins(query, live) == (pins, [])


def test_a_pin_stays_the_same_setting_when_the_live_knobs_move():
    pin = Pin("A", Params(depth=20))
    for live in (Params(depth=80), Params(depth=20, std=2.0), Params(width=64, dtype="float16")):
        got, issues = parse_pins(pin_query([pin], live), live)
        assert got == [pin] and not issues


def test_a_pinned_value_is_clamped_and_warned_under_its_pins_name():
    pins, issues = parse_pins({"pins": "A", "A.depth": "99999", "A.std": "abc"}, Params())
    assert pins[0].params.depth == Params.specs()["depth"].hi
    assert pins[0].params.std == Params.specs()["std"].default
    assert [(i.name, i.reason.code) for i in issues] == [("A.depth", "above_max"), ("A.std", "not_number")]


def test_hostile_pin_lists_keep_four_known_letters_and_say_so():
    letters = ",".join([*PIN_IDS, *(f"P{i}" for i in range(50)), "a"])
    pins, issues = parse_pins({"pins": letters, "B.bogus": "1", "C.name": "x" * 500}, Params())
    assert [p.id for p in pins] == list(PIN_IDS)
    assert {i.name for i in issues} == {"pins", "B.bogus"}
    assert len(next(p for p in pins if p.id == "C").name) == 40


def test_no_pins_key_means_no_pins_even_with_stray_values():
    assert parse_pins({"A.depth": "3"}, Params()) == ([], [])


def test_next_letter_fills_gaps_and_stops_at_four():
    assert next_letter([Pin("A", Params()), Pin("C", Params())]) == "B"
    assert next_letter([Pin(x, Params()) for x in PIN_IDS]) is None


def test_budget_grants_the_live_run_and_the_pins_that_fit_together():
    assert within_budget([0.9 * WORK_BUDGET, 0.05 * WORK_BUDGET, 0.1 * WORK_BUDGET]) == 2
    assert within_budget([2 * WORK_BUDGET, 1.0]) == 1


def test_plan_skips_pins_equal_on_the_tab_and_pins_over_budget():
    live = Params(depth=50)
    other_tab = Pin("A", dataclasses.replace(live, lr=0.1))  # lr is not a gradient-flow field
    assert "lr" not in FLOW.uses and changed(live, other_tab.params) == ["lr"]
    deeper = Pin("B", Params(depth=60))
    heavy = Section(FLOW.name, FLOW.run, FLOW.uses, lambda p: p.depth * WORK_BUDGET / 100, findings=FLOW.findings)
    plan = comparison.plan("deep_mlp", heavy, live, [other_tab, deeper], "en")
    assert plan.same == ["A"] and plan.over == ["B"] and plan.runs == [live]
    plan = comparison.plan("deep_mlp", FLOW, live, [other_tab, deeper], "en")
    assert plan.runs == [live, deeper.params]
    assert plan.names == ["live: Depth 50", "B: Depth 60"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_plan_names_runs_by_what_differs_in_either_language(lang):
    live = Params(depth=50)
    plan = comparison.plan("deep_mlp", FLOW, live, [Pin("A", Params(depth=50, dtype="float16"), "half")], lang)
    assert plan.names[1].startswith("A (half): ") and plan.names[1].endswith("float16")
