"""The initialization page: defaults, what a link restores and changes, hostile values, Chinese, refusals."""


import pytest
from pagetest import CJK, chart_index, chart_rows, charts, key, open_page, problems, tab_of, table, value

from stabviz.experiments.initialization import Params

TITLES = {"network": ("Forward", "Backward", "Histograms"), "sweep": ("Gradient ratio", "χ₁")}  # chart titles per tab
SAFE = {"hist_layers": "1,2,5,10,20", "depth": 200, "schemes": list(Params().schemes),
        "sigma_points": 25}  # where the hostile link's values land (unknown schemes: the default ones)


def _rates(at) -> dict[str, float]:
    """Scheme -> measured forward factor per layer, from the page's table."""
    rates = next(table(at, i) for i, d in enumerate(at.dataframe) if "n·Var(w)" in d.value.columns)
    return dict(zip(rates.iloc[:, 0], rates["forward factor (measured)"], strict=True))


@pytest.mark.parametrize("tab", TITLES)
def test_defaults_draw_profiles_histograms_and_the_sweep(tab):
    at = open_page("initialization", {"tab": tab} if tab == "sweep" else None)  # the network tab opens first
    assert not problems(at) and not at.warning
    titles = " ".join(str(c.get("title")) for c in charts(at))
    for part in TITLES[tab]:
        assert part in titles


def test_the_sweep_draws_the_theory_band_edge_and_the_tanh_critical_line():
    at = open_page("initialization", {"tab": "sweep"})
    sweep = chart_rows(at, chart_index(at, "Gradient ratio"))
    assert any(row.get("kind") == "stable band edge (theory)" for row in sweep)
    assert any("σ_w = 1.000" in str(row.get("label")) for row in sweep)  # the tanh critical line


def test_link_restores_widgets_and_changes_the_numbers():
    default = _rates(open_page("initialization"))
    at = open_page("initialization", {"activation": "relu", "schemes": "kaiming_normal,xavier_normal", "depth": "30",
                                      "width": "128", "batch": "32"})
    assert not problems(at) and not at.warning
    assert at.session_state[key("initialization", "activation")] == "relu"
    assert at.session_state[key("initialization", "schemes")] == ["kaiming_normal", "xavier_normal"]
    assert at.slider(key=key("initialization", "depth")).value == 30
    rates = _rates(at)
    assert rates != default
    assert abs(rates["He/Kaiming normal (fan_in)"] - 1) < 0.1 and abs(rates["Xavier/Glorot normal"] - 0.5) < 0.05


@pytest.mark.parametrize("tab", TITLES)
def test_bad_values_warn_and_fall_back(tab):
    at = open_page("initialization", {"hist_layers": "1,zero", "depth": "5000", "schemes": "bogus", "sigma_points": "x",
                                      "tab": tab})
    assert not [e.value for e in at.exception]
    warned = " ".join(w.value for w in at.warning)
    for name in SAFE:
        assert f"{name}:" in warned
    assert {field: value(at, "initialization", field) for field in SAFE} == SAFE
    for field in (f for f in SAFE if tab_of("initialization", f) == tab):  # the open tab's widgets show them
        assert at.session_state[key("initialization", field)] == SAFE[field]


def test_work_past_the_budget_is_refused_with_a_message():
    query = {"width": "2048", "batch": "4096", "depth": "200"}
    at = open_page("initialization", query)  # the network tab
    assert not [e.value for e in at.exception]
    assert any("budget" in e.value for e in at.error)
    sweep = open_page("initialization", {**query, "tab": "sweep"})
    assert not problems(sweep)
    assert any("Gradient ratio" in str(c.get("title")) for c in charts(sweep))  # the sweep still runs


def test_overflow_is_drawn_as_markers():
    at = open_page("initialization", {"activation": "relu", "schemes": "normal", "std": "1", "depth": "45",
                                      "batch": "8", "hist_layers": "45"})
    assert not problems(at)
    states = {row.get("state") for row in chart_rows(at, chart_index(at, "Forward"))}
    assert states & {"overflow to inf", "nan"}


@pytest.mark.parametrize("tab", TITLES)
def test_chinese_link_renders_chinese_charts(tab):
    at = open_page("initialization", {"lang": "zh", "tab": tab})
    assert not problems(at)
    assert CJK.search(at.title[0].value)
    assert charts(at) and all(CJK.search(str(c.get("title"))) for c in charts(at))


def test_the_xavier_and_he_tab_draws_one_layers_factors():
    at = open_page("initialization", {"tab": "fans", "fan_in": "100", "fan_out": "400"})  # Lesson 2, scene 4
    assert not problems(at) and not at.warning
    rows = chart_rows(at, chart_index(at, "one 100 → 400 layer"))
    assert {r.get("scheme") for r in rows if "measured" in r} >= {"Xavier/Glorot normal", "He/Kaiming normal (fan_in)"}
    assert "2 / (n_in + n_out) = **0.004**" in " ".join(m.value for m in at.markdown)
    assert len(at.dataframe) == 1
