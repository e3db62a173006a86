"""The benchmark's reference page (bench/floor.py) runs: its times are only a floor if it draws what it says."""

from streamlit.testing.v1 import AppTest

from bench.floor import APP, SLIDERS


def test_the_reference_page_draws_its_sliders_and_two_charts():
    at = AppTest.from_string(APP).run()
    assert not at.exception
    assert len(at.slider) == SLIDERS
    assert len(at.get("vega_lite_chart")) == 2
