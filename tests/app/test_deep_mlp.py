"""The deep-MLP page: links restore widgets and change the numbers, bad links warn, Chinese renders."""

import numpy as np
import pytest
from pagetest import CJK, chart_index, chart_rows, charts, key, open_page, problems, tab_of, table, value

from stabviz import experiments

SAFE = {"depth": 50, "mat_count": 1, "lr": 10.0}  # where the bad link's depth, mat_count and lr land


def _flow_norms(at) -> list:
    rows = chart_rows(at, chart_index(at, "Weight-gradient norm per layer"))
    return sorted((r["layer"], r["exact"]) for r in rows
                  if "layer" in r and "exact" in r and "measured" in str(r.get("series")))


def test_link_restores_widgets_and_changes_the_numbers():
    default = _flow_norms(open_page("deep_mlp"))
    query = {"depth": "20", "activation": "relu", "init": "normal", "std": "1", "dtype": "float16",
             "clip": "true", "lr": "0.3"}
    at = open_page("deep_mlp", query)  # the first tab: gradient flow
    assert not problems(at) and not at.warning
    assert at.slider(key=key("deep_mlp", "depth")).value == 20
    assert at.session_state[key("deep_mlp", "activation")] == "relu"
    assert value(at, "deep_mlp", "clip") is True and value(at, "deep_mlp", "lr") == 0.3
    assert at.session_state["dtype"] == "float16"
    linked = _flow_norms(at)
    assert len(linked) == 20 and linked != default
    rows = chart_rows(at, chart_index(at, "Weight-gradient norm per layer"))
    assert {"overflow to inf", "nan"} & {r.get("state") for r in rows}  # fp16 overflow drawn as markers
    trained = open_page("deep_mlp", {**query, "tab": "training"})
    assert not problems(trained) and not trained.warning
    assert trained.session_state[key("deep_mlp", "clip")] is True
    assert trained.session_state[key("deep_mlp", "lr")] == 0.3
    norm_rows = chart_rows(trained, chart_index(trained, "Total gradient norm"))
    assert any(r.get("label") == "max-norm 1" for r in norm_rows)  # the clipping threshold is drawn


@pytest.mark.parametrize("tab", ["gradient_flow", "products", "training"])  # the tabs that own a bad field
def test_bad_link_warns_names_the_param_and_uses_a_safe_value(tab):
    at = open_page("deep_mlp", {"depth": "abc", "activation": "swish2", "mat_count": "-5", "lr": "1e9", "steps": "40",
                                "tab": tab})
    assert not problems(at)
    warned = " ".join(w.value for w in at.warning)
    for name in ("depth", "activation", "mat_count", "lr"):
        assert f"{name}:" in warned
    assert {field: value(at, "deep_mlp", field) for field in SAFE} == SAFE
    drawn = next(field for field in SAFE if tab_of("deep_mlp", field) == tab)
    assert at.session_state[key("deep_mlp", drawn)] == SAFE[drawn]  # the open tab's widget shows the safe value


def test_huge_request_is_refused_and_the_rest_still_draws():
    query = {"width": "2048", "batch": "1024", "steps": "60"}
    at = open_page("deep_mlp", query)  # the gradient-flow tab: width x batch is past the budget
    assert not [e.value for e in at.exception]
    refused = " ".join(e.value for e in at.error)
    assert "budget" in refused
    for tab, title in (("products", "random 4 × 4 matrices"), ("training", "gradient norm during training")):
        other = open_page("deep_mlp", {**query, "tab": tab})
        assert not problems(other)
        assert chart_index(other, title) >= 0


def test_chinese_link_renders_chinese():
    at = open_page("deep_mlp", {"lang": "zh", "powers": "120", "tab": "scalar"})
    assert not problems(at)
    assert at.title[0].value == "深层多层感知机的梯度"
    titles = " ".join(str(c.get("title")) for c in charts(at))
    assert CJK.search(titles) and "120" in titles
    assert any("舍入" in m.value for m in at.markdown)


@pytest.mark.parametrize("tab", ["training", "products"])  # the trained LRU and st.cache_data
def test_a_second_visit_computes_nothing(tab, monkeypatch):
    """The second visit to a link replays the first's result (a training tab's progress bar included): the
    engine runs once. The seed is one no other test opens, so the first visit finds nothing cached."""
    runs = []
    real = experiments.run_section

    def counted(section, params, progress=None):
        runs.append(section.name)
        return real(section, params, progress)

    monkeypatch.setattr(experiments, "run_section", counted)  # what the page's caches call on a miss
    query = {"steps": "30", "train_depth": "4", "seed": "1818", "tab": tab}
    open_page("deep_mlp", query)
    assert runs == [tab]
    at = open_page("deep_mlp", query)
    assert not problems(at)
    assert chart_index(at, {"training": "gradient norm during training", "products": "random 4 × 4 matrices"}[tab]) >= 0
    assert runs == [tab], "the second visit ran the engine again"


def test_the_table_writes_tiny_and_nonfinite_norms_as_numbers_a_class_can_read():
    """4.8e-31, not 0.000…048 (the browser grid's own float format), and inf/nan in fp16 as such."""
    for query in ({}, {"dtype": "float16", "init": "normal", "std": "3", "depth": "100"}):  # as test_overflow
        at = open_page("deep_mlp", query)
        shown = at.dataframe[0].value["‖∂L/∂W‖"]
        assert all(len(t) <= 10 for t in shown), list(shown)  # 5 significant digits, exponent when needed
        module = experiments.load("deep_mlp")
        params, _ = module.Params.parse(query)
        norms = experiments.run_section(module.SECTIONS[0], params).tables["gradient_flow"]["weight_grad_norm"]
        assert np.allclose(table(at)["‖∂L/∂W‖"], norms, rtol=1e-4, equal_nan=True)
    assert {"inf", "—"} & set(shown)  # fp16: overflow written as inf, nan as —
