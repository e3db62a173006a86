"""The normalization page: defaults, a shared link, bad values, Chinese."""


from pagetest import CJK, chart_index, chart_rows, charts, key, open_page, open_tabs, problems, value

QUICK = {"epochs": "1", "batches": "2,16", "train_norms": "batch,layer"}  # a short training run
CHARTS = {"layers": 3, "saturation": 2, "noise": 2, "residual": 1, "jacobian": 3, "training": 2}  # per tab



def test_defaults_render_every_section():
    tabs = open_tabs("normalization")
    for at in tabs.values():
        assert not problems(at) and not at.warning
    assert {tab: len(charts(at)) for tab, at in tabs.items()} == CHARTS
    rows = chart_rows(tabs["layers"], chart_index(tabs["layers"], "Weight-gradient norm"))
    assert {r["norm"] for r in rows} == {"no normalization", "BatchNorm", "LayerNorm", "GroupNorm", "RMSNorm"}
    assert any("singular-value band" in m.value for m in tabs["jacobian"].markdown)  # the Jacobian check passed


def test_link_restores_widgets_and_changes_the_numbers():
    query = {**QUICK, "norms": "none,batch", "depth": "8", "activation": "sigmoid", "residual": "true"}
    at = open_page("normalization", query)
    assert not problems(at) and not at.warning
    assert at.session_state[key("normalization", "norms")] == ["none", "batch"]
    assert at.slider(key=key("normalization", "depth")).value == 8
    assert at.session_state[key("normalization", "activation")] == "sigmoid"
    assert at.toggle(key=key("normalization", "residual")).value is True
    assert value(at, "normalization", "batches") == ["2", "16"]  # the training tab is closed: no widget
    rows = chart_rows(at, chart_index(at, "Weight-gradient norm"))
    assert {r["layer"] for r in rows} == set(range(1, 9)) and len({r["norm"] for r in rows}) == 2
    assert dict(at.query_params) == query
    train = open_page("normalization", {**query, "tab": "training"})
    assert not problems(train) and not train.warning
    assert train.session_state[key("normalization", "batches")] == ["2", "16"]
    acc = chart_rows(train, chart_index(train, "Test accuracy"))
    assert {r["batch"] for r in acc if "batch" in r} == {2, 16}
    assert dict(train.query_params) == {**query, "tab": "training"}


def test_bad_values_warn_with_the_name_and_the_safe_value():
    at = open_page("normalization", {"width": "-3", "norms": "bogus", "placement": "sideways"})
    assert not at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "width: '-3' is below the minimum 4; using 4." in warned
    assert "norms:" in warned and "placement:" in warned
    assert at.slider(key=key("normalization", "width")).value == 4
    assert at.session_state[key("normalization", "placement")] == "post"


def test_chinese_link_renders_chinese_titles_and_charts():
    tabs = open_tabs("normalization", {**QUICK, "lang": "zh", "depth": "6"})
    for at in tabs.values():
        assert not problems(at)
        assert CJK.search(at.title[0].value) and at.subheader and all(CJK.search(h.value) for h in at.subheader)
        titles = [str(c.get("title")) for c in charts(at)]
        assert titles and all(CJK.search(t) for t in titles)
    rows = chart_rows(tabs["layers"], chart_index(tabs["layers"], "各层权重梯度"))
    assert "批量规范化 BatchNorm" in {r["norm"] for r in rows}
