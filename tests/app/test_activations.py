"""The activations page: what a link shows, and the markers where the product dies."""

import pytest
from pagetest import chart_rows, charts, key, open_page, problems, value


def test_link_sets_functions_and_depth_and_the_chain_shows_relu_dying():
    at = open_page("activations", {"functions": "relu,sigmoid", "depth": "40", "threshold": "0.1", "tab": "chain"})
    assert not problems(at)
    assert at.session_state[key("activations", "functions")] == ["relu", "sigmoid"]
    assert at.slider(key=key("activations", "depth")).value == 40
    assert value(at, "activations", "threshold") == 0.1  # the saturation tab's field, kept while its tab is closed
    index = next(i for i, c in enumerate(charts(at)) if "L = 40" in str(c.get("title")))
    rows = chart_rows(at, index)
    markers = [r for r in rows if r.get("state") == "underflow to 0"]
    assert markers  # ReLU's product is exactly 0: drawn as ▼, not dropped
    assert all(isinstance(r["y"], float) and r["y"] > 0 for r in markers)  # on the axis floor, not text


def test_saturation_table_shows_measured_beside_computed():
    at = open_page("activations", {"functions": "sigmoid", "input_std": "1", "tab": "saturation"})
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["sigmoid"]
    assert any("MC" in c for c in table.columns) and any("quad" in c for c in table.columns)


def test_changing_a_widget_writes_the_url():
    at = open_page("activations", {"tab": "chain"})
    at.slider(key=key("activations", "depth")).set_value(25).run()
    assert at.query_params["depth"] == "25"
    at.number_input(key=key("activations", "input_std")).set_value(1.5).run()
    assert at.query_params["input_std"] == "1.5"
    assert not problems(at)


@pytest.mark.parametrize("tab", ["curves", "chain"])  # the tabs that draw charts (saturation is a table)
def test_export_buttons_exist_for_every_chart(tab):
    at = open_page("activations", {"tab": tab})
    labels = [b.proto.label for b in at.get("download_button")]
    assert charts(at) and labels.count("PNG") == len(charts(at)) == labels.count("SVG")
    assert any("zip" in label for label in labels)


def test_emptying_the_multiselect_warns_and_keeps_a_safe_choice():
    at = open_page("activations")
    at.multiselect(key=key("activations", "functions")).set_value([]).run()
    assert not problems(at)
    assert any("functions" in w.value for w in at.warning)
    assert charts(at)


def test_the_notes_grid_sigmoid_from_minus_8_to_8_in_steps_of_a_tenth():
    at = open_page("activations", {"functions": "sigmoid", "x_max": "8", "x_step": "0.1"})  # Lesson 2, scene 1
    assert not problems(at) and not at.warning
    assert value(at, "activations", "x_step") == 0.1
    assert len(charts(at)) == 2
    xs = sorted({round(r["x"], 9) for r in chart_rows(at, 0) if "x" in r and "f" in r})
    assert len(xs) == 161 and xs[0] == -8 and xs[-1] == 8 and 0.0 in xs
