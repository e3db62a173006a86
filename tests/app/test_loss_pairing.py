"""The loss-pairing page: a link's values reach the widgets and the numbers, inf/nan reach the charts,
bad values warn by name, and Chinese renders."""

import numpy as np
from pagetest import chart_index, chart_rows, charts, key, open_page, open_tabs, problems, table, value

from stabviz.experiments import loss_pairing as lp
from stabviz.experiments import run_section

FAST = {"steps": "60", "num_points": "15"}  # small runs: the page's logic, not its speed
TRAINED = ("neuron", "softmax")  # the tabs that train (and refuse a run past the budget)


def test_defaults_show_every_figure_the_findings_and_the_inf_nan_markers():
    tabs = open_tabs("loss_pairing")
    for at in tabs.values():
        assert not problems(at) and not at.warning
    assert sum(len(charts(at)) for at in tabs.values()) == 13
    for name in TRAINED:
        assert "slowest at step" in " ".join(m.value for m in tabs[name].markdown)
    at = tabs["numerics"]
    assert "BCELoss clamps log at −100" in " ".join(m.value for m in at.markdown)
    loss_states = {r.get("state") for r in chart_rows(at, chart_index(at, "Binary: loss"))}
    grad_states = {r.get("state") for r in chart_rows(at, chart_index(at, "Binary: |dL/dz|"))}
    assert "overflow to inf" in loss_states and "nan" in grad_states  # naive forms: drawn, not dropped


def test_link_restores_widgets_and_changes_the_numbers():
    link = {**FAST, "target": "0", "lr": "0.5", "confidence": "3"}
    at = open_page("loss_pairing", link)
    assert not problems(at) and not at.warning
    assert at.session_state[key("loss_pairing", "target")] == 0
    assert at.session_state[key("loss_pairing", "lr")] == 0.5
    assert at.slider(key=key("loss_pairing", "starts")).value == 6
    assert at.query_params["confidence"] == "3" and value(at, "loss_pairing", "confidence") == 3
    shown = table(at)  # the neuron summary, as shown: 5 significant digits
    default = run_section(lp.SECTIONS[0], lp.Params(steps=60)).tables["neuron_summary"]
    linked = run_section(lp.SECTIONS[0], lp.Params(steps=60, target=0, lr=0.5)).tables["neuron_summary"]
    assert np.allclose(shown.iloc[:, 2:].to_numpy(float), linked.iloc[:, 2:].to_numpy(float), rtol=1e-4, equal_nan=True)
    assert not np.allclose(shown.iloc[:, 2:4].to_numpy(float), default.iloc[:, 2:4].to_numpy(float))
    assert "y = 0" in str(charts(at)[chart_index(at, "MSE over (w, b)")]["title"])


def test_bad_values_warn_by_name_and_a_huge_run_is_refused():
    for name, at in open_tabs("loss_pairing", {**FAST, "steps": "1e9", "target": "7", "dtypes": "float8"}).items():
        assert not [e.value for e in at.exception]
        warned = " ".join(w.value for w in at.warning)
        assert "steps: '1e9'" in warned and "using 100000" in warned
        assert "target: '7'" in warned and "using 1" in warned
        assert "dtypes: 'float8'" in warned
        refused = " ".join(e.value for e in at.error)
        if name in TRAINED:
            assert "budget" in refused  # the two training sections refuse 100000 steps before starting
        else:
            assert not refused and charts(at)  # the other sections still draw


def test_chinese_link_renders_chinese():
    at = open_page("loss_pairing", {**FAST, "lang": "zh", "tab": "numerics"})
    assert not problems(at)
    assert "损失函数的搭配" in at.title[0].value
    assert "数值稳定性" in " ".join(h.value for h in at.subheader)
    assert "BCELoss 会把 log 截断在 −100" in " ".join(m.value for m in at.markdown)
    assert any("各写法与各数据类型" in str(c.get("title")) for c in charts(at))


def test_the_notes_neuron_starts_at_the_listed_points():
    link = {"target": "0", "lr": "0.15", "steps": "200", "points": "3,2;2,2;2,0"}  # Lesson 5, scene 12
    at = open_page("loss_pairing", link)
    assert not problems(at) and not at.warning
    assert value(at, "loss_pairing", "points") == "3,2;2,2;2,0"
    assert len(charts(at)) == 4
    starts = {r.get("start") for r in chart_rows(at, chart_index(at, "MSE"))}
    assert {"start 1 (3, 2)", "start 2 (2, 2)", "start 3 (2, 0)"} <= starts
    assert "BCE 3 of 3" in " ".join(m.value for m in at.markdown)


def test_malformed_points_warn_by_name_and_fall_back_to_the_ring():
    at = open_page("loss_pairing", {**FAST, "points": "3;2"})
    assert not problems(at)
    assert "points:" in " ".join(w.value for w in at.warning)
    assert value(at, "loss_pairing", "points") == ""
