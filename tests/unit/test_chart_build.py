"""Every figure is a valid Vega-Lite spec built from typed channels (alt.X("step:Q"), not x="step:Q"),
and its legend keys, as Vega draws them, are solid.

Altair 6.3 turns each shorthand string, alt.value() and alt.condition() into a channel through
``from_dict``, which first hashes the schemas of all ~570 Vega-Lite classes (~3 ms a channel; vega/altair
PR 3547); a section has 20 to 80 channels. The page skips Altair's schema validation for the same reason
(`charts.themed`), so it is done here, on every section's figures in both languages.
"""

import functools
from unittest import mock

import altair as alt
import pytest
import vl_convert as vlc
from altair.utils import schemapi
from sections import TABLE_ONLY, charted

from stabviz import experiments, figures
from stabviz.i18n import LANGS

SHORT = ("steps", "epochs")  # training sections run their fewest steps here: only the charts are under test


def _params(name: str, sec: experiments.Section):
    params = experiments.load(name).Params
    fewest = {f: int(params.specs()[f].lo) for f in SHORT if sec.long and f in sec.uses}
    return params(**fewest)


def _no_from_dict(*_args, **_kwargs):
    raise AssertionError("a channel given as a string, alt.value() or alt.condition(): use alt.X(...), alt.XValue(...)")


@functools.cache
def _specs(name: str, section: str) -> tuple[dict, ...]:
    """Every figure of a section in both languages, built with Altair's from_dict forbidden."""
    sec = {s.name: s for s in experiments.load(name).SECTIONS}[section]
    params = _params(name, sec)
    result = experiments.run_section(sec, params.project(sec.uses))
    view = figures.load(name).VIEWS[sec.name]
    with mock.patch.object(schemapi._FromDict, "__init__", _no_from_dict):
        return tuple(fig.spec(lang) for lang in LANGS
                     for fig in figures.figures_of(view(result, params, lang)).values())


@pytest.mark.parametrize(("name", "sec"), list(charted()))
def test_every_figure_is_valid_vega_lite_built_from_typed_channels(name, sec):
    specs = _specs(name, sec.name)
    assert specs, "no figure: a table-only section belongs in tests/sections.py TABLE_ONLY"
    for spec in specs:
        alt.TopLevelSpec.validate({**spec, "datasets": {}})  # the structure; thousands of data rows only cost time


def _legend_keys(node) -> list[dict]:
    if isinstance(node, list):
        return [key for child in node for key in _legend_keys(child)]
    if not isinstance(node, dict):
        return []
    own = node["items"] if node.get("role") == "legend-symbol" else []
    return own + [key for child in node.values() for key in _legend_keys(child)]


@pytest.mark.parametrize(("name", "sec"), list(charted()))
def test_every_legend_key_is_drawn_solid(name, sec):
    """A faint layer (a band, a shaded span) first in a shared legend would make every key a pale swatch."""
    specs = _specs(name, sec.name)
    drawn = 0
    for spec in specs[: len(specs) // len(LANGS)]:  # one language: the keys do not depend on it
        keys = _legend_keys(vlc.vegalite_to_scenegraph(spec))
        pale = [key for key in keys if key.get("opacity", 1) < 0.5]
        assert not pale, f"{spec.get('title')}: pale legend keys {pale}"
        drawn += len(keys)
    assert drawn, "no legend key drawn: nothing checked"


@pytest.mark.parametrize(("name", "section"), sorted(TABLE_ONLY))
def test_a_table_only_section_draws_a_table_and_no_chart(name, section):
    """The sections the chart tests leave out: they must draw no chart (else it would go unchecked)."""
    sec = {s.name: s for s in experiments.load(name).SECTIONS}[section]
    params = _params(name, sec)
    blocks = figures.load(name).VIEWS[section](experiments.run_section(sec, params), params, "en")
    assert not figures.figures_of(blocks) and figures.tables_of(blocks)


def test_a_pale_legend_key_is_caught():
    faint = alt.Chart({"values": [{"s": "a", "x": 1}]}).mark_area(opacity=0.15).encode(
        x=alt.X("x:Q"), y=alt.Y("x:Q"), color=alt.Color("s:N"))
    assert [key["opacity"] for key in _legend_keys(vlc.vegalite_to_scenegraph(faint.to_dict()))] == [0.15]


def test_a_shorthand_channel_is_caught(monkeypatch):
    monkeypatch.setattr(schemapi._FromDict, "__init__", _no_from_dict)
    with pytest.raises(AssertionError, match="typed|alt.X"):
        alt.Chart().mark_line().encode(x="step:Q")
