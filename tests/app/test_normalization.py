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


SCENES = {  # the lesson scenes' links on this page (Lessons 3, 4 and 5): each opens without a warning and draws
    "axes": {"tab": "noise", "arch": "conv", "norms": "batch,layer,instance,group"},
    "exploding": {"norms": "none,batch", "activation": "relu", "std": "0.5"},  # init: N(0, std²) by default
    "residual": {"tab": "residual", "norms": "none", "activation": "sigmoid", "init": "xavier_normal"},
}


def _scene(name: str):
    at = open_page("normalization", SCENES[name])
    assert not problems(at) and not at.warning
    assert charts(at) and all(chart_rows(at, i) for i in range(len(charts(at))))
    assert dict(at.query_params) == SCENES[name]
    return at


def test_conv_noise_scene_shows_every_per_image_norm_at_zero_and_the_axes_table():
    at = _scene("axes")
    assert len(charts(at)) == 2
    noise = chart_rows(at, chart_index(at, "Train-mode noise"))
    assert {r["norm"] for r in noise if "norm" in r} >= {"BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"}
    axes = at.dataframe[0].value
    assert list(axes.iloc[:, 1]) == ["N,H,W", "C,H,W", "H,W", "C/G,H,W"]
    assert any("B·36" in c.value for c in at.caption)  # the conv theory counts H·W = 36 values per image


def test_exploding_relu_scene_and_skip_scene_draw():
    at = _scene("exploding")
    assert at.session_state[key("normalization", "activation")] == "relu" and len(charts(at)) == 3
    at = _scene("residual")
    rows = chart_rows(at, chart_index(at, "First-layer gradient"))
    assert {r["norm"] for r in rows if "norm" in r} == {"no normalization"}
