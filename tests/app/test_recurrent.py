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


SCENES = {  # the lesson scenes' links on this page (Lessons 3 and 4): each opens without a warning and draws
    "linear_explodes": {"cells": "rnn_tanh", "init": "orthogonal", "radius": "1.1", "input_std": "0", "bias": "false"},
    "small_init": {"cells": "rnn_tanh,rnn_relu", "init": "normal", "std": "0.05"},
    "gates_near_1": {"tab": "gates", "forget_bias": "5", "update_bias": "5"},
    "sgd_unclipped": {"tab": "train", "cells": "rnn_tanh", "optimizer": "sgd", "lr": "0.3", "train_len": "10",
                      "clip": "false"},
}


def _scene(name: str):
    at = open_page("recurrent", SCENES[name])
    assert not problems(at) and not at.warning
    assert charts(at) and all(chart_rows(at, i) for i in range(len(charts(at))))
    assert dict(at.query_params) == SCENES[name]
    return at, " ".join(m.value for m in at.markdown)


def test_linear_regime_scene_restores_its_knobs_and_shows_the_exact_factor():
    at, text = _scene("linear_explodes")
    assert at.toggle(key=key("recurrent", "bias")).value is False
    assert "ρ(W_hh) = 1.1," in text and "rms φ' = 1:" in text  # tanh' = 1 at the zero state: the factor is r itself


def test_small_gaussian_init_scene_names_the_circular_law():
    at, text = _scene("small_init")
    assert at.session_state[key("recurrent", "init")] == "normal"
    assert text.count("Circular law for N(0, σ²) entries: ρ ≈ σ·√H = 0.05·√16 = 0.2.") == 2


def test_gates_scene_draws_where_the_shifted_update_gate_starts():
    at, text = _scene("gates_near_1")
    rows = chart_rows(at, chart_index(at, "GRU update and reset gates"))
    assert any("1 − z starts near 1 − sigmoid(b_z), b_z = 5" in str(r.get("label")) for r in rows)
    assert "GRU update-gate bias shifted by b_z = 5: at t = 1 the mean z_t is 0.992; theory sigmoid(5) = 0.993." in text


def test_unclipped_sgd_scene_explains_the_explosion():
    at, text = _scene("sgd_unclipped")
    assert at.session_state[key("recurrent", "optimizer")] == "sgd"
    assert "the gradient exploded" in text and "RNN (tanh)" in text
    rows = chart_rows(at, chart_index(at, "Total gradient norm"))
    assert any(r.get("state") in ("inf", "nan") for r in rows)  # the exploded norms are drawn as markers, not dropped
