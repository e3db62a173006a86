"""Pins and sweeps on a page (AppTest): pin, change a knob, both runs drawn; the link reopens them; sweeps draw."""

from __future__ import annotations

from pagetest import chart_rows, charts, open_page, problems

FLOW = {"depth": "12", "width": "32", "batch": "8"}  # a small deep_mlp gradient-flow tab


def run_labels(chart: dict) -> list[str]:
    """The runs a chart's legend names (the opacity scale over the run labels)."""
    for layer in chart.get("layer", []):
        opacity = layer.get("encoding", {}).get("opacity", {})
        if "datum" in opacity:
            return opacity["scale"]["domain"]
    return []


def test_pin_then_change_a_knob_draws_both_runs_and_writes_the_pin_into_the_link():
    at = open_page("deep_mlp", FLOW)
    at.button(key="pin_add").click().run()
    at.slider(key="deep_mlp__depth").set_value(6).run()
    assert not problems(at)
    assert run_labels(charts(at)[0]) == ["live: Depth 6", "A: Depth 12"]
    assert max(r["layer"] for r in chart_rows(at, 0)) == 12  # the pinned run's layers are in the chart's data
    query = dict(at.query_params)
    assert query["pins"] == "A" and query["A.depth"] == "12" and query["depth"] == "6"
    differs = next(d.value for d in at.dataframe if "parameter" in d.value.columns)
    assert list(differs["parameter"]) == ["Depth"] and list(differs["A"]) == ["12"]


def test_a_link_with_pins_reopens_the_comparison_with_findings_per_run():
    at = open_page("deep_mlp", {**FLOW, "depth": "6", "pins": "A,B", "A.depth": "12", "B.dtype": "float64",
                                "B.name": "wide"})
    assert not problems(at) and not at.warning
    assert run_labels(charts(at)[0]) == ["live: Depth 6, float32", "A: Depth 12", "B (wide): float64"]
    found = next(d.value for d in at.dataframe if "finding" in d.value.columns)
    assert {"live", "A", "B (wide)", "A − live", "B (wide) − live"} <= set(found.columns)


def test_renaming_removing_and_clearing_pins():
    at = open_page("deep_mlp", {**FLOW, "pins": "A,B", "A.depth": "20", "B.depth": "30"})
    at.text_input(key="deep_mlp__pins_name_A").input("shallow").run()
    assert at.query_params["A.name"] == "shallow"
    at.button(key="pin_remove_B").click().run()
    assert at.query_params["pins"] == "A" and "B.depth" not in at.query_params
    at.button(key="pin_clear").click().run()
    assert "pins" not in at.query_params and not problems(at)


def test_a_hostile_pin_link_warns_and_draws_a_safe_page():
    at = open_page("deep_mlp", {**FLOW, "pins": "A,Q,ZZ", "A.depth": "1e9", "A.nothing": "1"})
    assert not problems(at)
    said = " ".join(w.value for w in at.warning)
    assert "pins" in said and "A.depth" in said and "A.nothing" in said
    assert run_labels(charts(at)[0]) == ["live: Depth 12", "A: Depth 256"]


def test_pins_over_the_work_budget_are_left_out_with_a_message():
    at = open_page("deep_mlp", {"depth": "256", "width": "200", "batch": "64", "pins": "A", "A.batch": "63"})
    assert not at.exception
    assert any("budget" in w.value for w in at.warning) and not run_labels(charts(at)[0])


def test_the_projector_shows_the_comparison_without_the_pin_bar():
    at = open_page("deep_mlp", {**FLOW, "view": "present", "pins": "A", "A.depth": "20"})
    assert not problems(at) and not at.get("button")
    assert len(run_labels(charts(at)[0])) == 2


def test_a_sweep_link_draws_the_finding_against_the_knob_with_its_theory():
    at = open_page("deep_mlp", {**FLOW, "init": "normal", "sweep": "std:0.5:2:log:5",
                                "finding": "flow_factor_per_layer"})
    assert not problems(at) and not at.warning
    sweep = next(i for i, c in enumerate(charts(at)) if "against" in str(c.get("title")))
    assert {r["kind"] for r in chart_rows(at, sweep)} == {"measured", "theory"}
    assert at.query_params["sweep"] == "std:0.5:2:log:5"
    assert at.toggle(key="deep_mlp__gradient_flow__sweep_on").value


def test_a_sweep_is_turned_on_from_its_controls_and_written_into_the_link():
    at = open_page("activations", {"tab": "chain", "depth": "20"})
    at.toggle(key="activations__chain__sweep_on").set_value(True).run()
    assert not problems(at)
    assert at.query_params["sweep"] == "input_std:0.5:8:log:9"  # the first knob, a factor 4 around its value
    assert any("against" in str(c.get("title")) for c in charts(at))


def test_a_hostile_sweep_link_warns_and_draws_no_sweep():
    at = open_page("deep_mlp", {**FLOW, "sweep": "lr:1:2", "finding": "flow_factor_per_layer"})
    assert not problems(at) and any("sweep" in w.value for w in at.warning)
    assert not any("against" in str(c.get("title")) for c in charts(at))
    assert "sweep" not in at.query_params


def test_the_ninth_page_takes_pins_and_a_sweep_like_the_others():
    """Nothing page-specific: the mixed-precision page's loss scaling compares a pinned scale and sweeps it, the
    measured shift in binades on its theory (log2 S)."""
    at = open_page("mixed_precision", {"tab": "scaling", "pins": "A", "A.scale_exp": "0",
                                       "sweep": "scale_exp:0:24:lin:4", "finding": "shift_log2_measured"})
    assert not problems(at) and not at.warning
    overlaid = [run_labels(c) for c in charts(at) if run_labels(c)]
    side_by_side = [[v["title"]["text"] for v in c["concat"]] for c in charts(at) if "concat" in c]
    assert overlaid and side_by_side and all(labels[1].startswith("A: ") for labels in overlaid + side_by_side)
    sweep = next(i for i, c in enumerate(charts(at)) if "against" in str(c.get("title")))
    rows = {(r["kind"], r["value"]): r["y"] for r in chart_rows(at, sweep) if r["state"] == "finite"}
    assert all(rows[("measured", v)] == rows[("theory", v)] == v for v in (8, 16, 24))
