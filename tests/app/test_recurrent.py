"""The recurrent page: defaults, a shared link, bad values, Chinese."""


from pagetest import CJK, chart_index, chart_rows, charts, key, open_page, open_tabs, problems, value

QUICK = {"steps": "20"}  # a short training run



def test_defaults_render_every_section():
    tabs = open_tabs("recurrent")
    for at in tabs.values():
        assert not problems(at) and not at.warning
    assert {tab: len(charts(at)) for tab, at in tabs.items()} == {"through_time": 1, "sweep": 1, "gates": 2, "train": 2}
    at = tabs["through_time"]
    rows = chart_rows(at, chart_index(at, "Gradient of the last step's loss"))
    assert {"RNN (tanh) h_t", "LSTM h_t", "LSTM c_t", "GRU h_t"} <= {r.get("series") for r in rows}
    assert max(r["t"] for r in rows) == 100
    at = tabs["train"]
    assert any("chance level" in str(r.get("label")) for r in chart_rows(at, chart_index(at, "Adding problem")))
    assert any("theory sigmoid(2)" in m.value for m in tabs["gates"].markdown)


def test_link_restores_widgets_and_changes_the_numbers():
    query = {**QUICK, "cells": "rnn_relu,gru", "seq_len": "50", "init": "orthogonal", "radius": "1.2", "clip": "false"}
    at = open_page("recurrent", query)
    assert not problems(at) and not at.warning
    assert at.session_state[key("recurrent", "cells")] == ["rnn_relu", "gru"]
    assert at.slider(key=key("recurrent", "seq_len")).value == 50
    assert at.session_state[key("recurrent", "init")] == "orthogonal"
    assert value(at, "recurrent", "clip") is False  # the train tab is closed: no widget
    rows = chart_rows(at, chart_index(at, "Gradient of the last step's loss"))
    assert {r.get("series") for r in rows if "curve" not in r} >= {"RNN (ReLU) h_t", "GRU h_t"}
    assert max(r["t"] for r in rows) == 50
    assert any("ρ(W_hh) = 1.2," in m.value for m in at.markdown)  # orthogonal x 1.2 has spectral radius 1.2
    assert dict(at.query_params) == query
    train = open_page("recurrent", {**query, "tab": "train"})
    assert not problems(train) and not train.warning
    assert train.toggle(key=key("recurrent", "clip")).value is False
    assert train.session_state[key("recurrent", "cells")] == ["rnn_relu", "gru"]
    trained = {r.get("cell") for r in chart_rows(train, chart_index(train, "Adding problem"))} - {None}
    assert trained == {"RNN (ReLU)", "GRU"}
    assert any("clipping off" in c.value for c in train.caption)
    assert dict(train.query_params) == {**query, "tab": "train"}


def test_bad_values_warn_with_the_name_and_the_safe_value():
    at = open_page("recurrent", {"seq_len": "-5", "init": "bogus", "cells": "lstm,nope"})
    assert not at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "seq_len: '-5' is below the minimum 2; using 2." in warned
    assert "init:" in warned and "cells:" in warned
    assert at.slider(key=key("recurrent", "seq_len")).value == 2
    assert at.session_state[key("recurrent", "init")] == "default"
    assert at.session_state[key("recurrent", "cells")] == ["lstm"]


def test_chinese_link_renders_chinese_titles_and_charts():
    tabs = open_tabs("recurrent", {**QUICK, "lang": "zh", "seq_len": "40"})
    for at in tabs.values():
        assert not problems(at)
        assert CJK.search(at.title[0].value) and at.subheader and all(CJK.search(h.value) for h in at.subheader)
        assert charts(at) and all(CJK.search(str(c.get("title"))) for c in charts(at))
    at = tabs["through_time"]
    rows = chart_rows(at, chart_index(at, "最后一步的损失"))
    assert "RNN（tanh） h_t" in {r.get("series") for r in rows}
