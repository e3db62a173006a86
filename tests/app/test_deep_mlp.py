"""The deep-MLP page: links restore widgets and change the numbers, bad links warn, Chinese renders."""


from pagetest import CJK, chart_index, chart_rows, charts, key, open_page, problems


def _flow_norms(at) -> list:
    rows = chart_rows(at, chart_index(at, "Weight-gradient norm per layer"))
    return sorted((r["layer"], r["exact"]) for r in rows if "layer" in r and "exact" in r and "measured" in str(r.get("series")))


def test_link_restores_widgets_and_changes_the_numbers():
    default = _flow_norms(open_page("deep_mlp"))
    query = {"depth": "20", "activation": "relu", "init": "normal", "std": "1", "dtype": "float16",
             "clip": "true", "lr": "0.3"}
    at = open_page("deep_mlp", query)
    assert not problems(at) and not at.warning
    assert at.slider(key=key("deep_mlp", "depth")).value == 20
    assert at.session_state[key("deep_mlp", "activation")] == "relu"
    assert at.session_state[key("deep_mlp", "clip")] is True
    assert at.session_state["dtype"] == "float16"
    linked = _flow_norms(at)
    assert len(linked) == 20 and linked != default
    rows = chart_rows(at, chart_index(at, "Weight-gradient norm per layer"))
    assert {"overflow to inf", "nan"} & {r.get("state") for r in rows}  # fp16 overflow drawn as markers
    norm_rows = chart_rows(at, chart_index(at, "Total gradient norm"))
    assert any(r.get("label") == "max-norm 1" for r in norm_rows)  # the clipping threshold is drawn


def test_bad_link_warns_names_the_param_and_uses_a_safe_value():
    at = open_page("deep_mlp", {"depth": "abc", "activation": "swish2", "mat_count": "-5", "lr": "1e9", "steps": "40"})
    assert not problems(at)
    warned = " ".join(w.value for w in at.warning)
    for name in ("depth", "activation", "mat_count", "lr"):
        assert f"{name}:" in warned
    assert at.slider(key=key("deep_mlp", "depth")).value == 50
    assert at.slider(key=key("deep_mlp", "mat_count")).value == 1
    assert at.session_state[key("deep_mlp", "lr")] == 10.0


def test_huge_request_is_refused_and_the_rest_still_draws():
    at = open_page("deep_mlp", {"width": "2048", "batch": "1024", "steps": "60"})
    assert not [e.value for e in at.exception]
    refused = " ".join(e.value for e in at.error)
    assert "budget" in refused
    assert chart_index(at, "random 4 × 4 matrices") >= 0 and chart_index(at, "gradient norm during training") >= 0


def test_chinese_link_renders_chinese():
    at = open_page("deep_mlp", {"lang": "zh", "powers": "120", "steps": "50"})
    assert not problems(at)
    assert at.title[0].value == "深层多层感知机的梯度"
    titles = " ".join(str(c.get("title")) for c in charts(at))
    assert CJK.search(titles) and "120" in titles
    assert any("舍入" in m.value for m in at.markdown)


def test_second_visit_renders_from_the_cache():
    """A warm rerun replays the cached training section (its progress bar included) without an exception."""
    query = {"steps": "30", "train_depth": "4"}
    open_page("deep_mlp", query)
    at = open_page("deep_mlp", query)
    assert not problems(at)
    assert chart_index(at, "gradient norm during training") >= 0
