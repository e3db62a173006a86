"""A series keeps its colour in every language: legends follow the data's (the link's) order, not the
alphabet of the translated names, which would give Newton blue in English and red in Chinese."""

import re

import pytest
import vl_convert
from sections import charted

from stabviz import experiments, figures
from stabviz.i18n import choice_label

SERIES_CHANNELS = ("color", "stroke", "strokeDash")


def _nominal_channels(node):
    """Every (channel, definition) of a nominal field in a Vega-Lite spec, layers and concats opened."""
    if isinstance(node, dict):
        for name, enc in node.get("encoding", {}).items():
            if name in SERIES_CHANNELS and isinstance(enc, dict) and enc.get("type") == "nominal":
                yield name, enc
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for child in node.get(key, []):
                yield from _nominal_channels(child)


@pytest.mark.parametrize(("name", "sec"), list(charted(quick_only=True)))
def test_every_series_channel_keeps_the_data_order_or_names_its_domain(name, sec):
    params = experiments.load(name).Params()
    result = experiments.run_section(sec, params)
    checked = 0
    for fig in figures.figures_of(figures.load(name).VIEWS[sec.name](result, params, "en")).values():
        for channel, enc in _nominal_channels(fig.chart.to_dict()):
            assert "sort" in enc and enc["sort"] is None or "domain" in enc.get("scale", {}), (fig.name, channel, enc)
            checked += 1
    assert checked, "no series channel in the section's figures: nothing checked"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_newtons_methods_are_listed_in_the_links_order_in_both_languages(lang):
    module = experiments.load("newton")
    params = module.Params(methods=("gd", "newton", "saddle_free"))
    sec = module.SECTIONS[0]
    fig = figures.figures_of(figures.load("newton").VIEWS[sec.name](experiments.run_section(sec, params), params, lang))
    svg = vl_convert.vegalite_to_svg(fig["newton_map"].spec(lang))
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    names = [choice_label("method", m, lang) for m in params.methods]
    assert [t for t in labels if t in names] == names
