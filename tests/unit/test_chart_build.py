"""Every figure is a valid Vega-Lite spec built from typed channels (alt.X("step:Q"), not x="step:Q"),
its legend keys, as Vega draws them, are solid, and its series differ by more than colour (issue 19).

Altair 6.3 turns each shorthand string, alt.value() and alt.condition() into a channel through
``from_dict``, which first hashes the schemas of all ~570 Vega-Lite classes (~3 ms a channel; vega/altair
PR 3547); a section has 20 to 80 channels. The page skips Altair's schema validation for the same reason
(`charts.themed`), so it is done here, on every section's figures in both languages.
"""

import functools
from unittest import mock

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc
from altair.utils import schemapi
from sections import TABLE_ONLY, charted

from stabviz import experiments, figures
from stabviz.chart_style import PALETTE, STATE_INK
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


COLOUR_ONLY = {  # figure -> why its series still differ by colour alone (figure modules to change, issue 19)
}
OWN_COLOURS = {"newton_signs": "cells coloured by the kind of stationary point (not series): newton.KIND_STYLE"}


def _views(spec: dict) -> list[dict]:
    """The separately drawn views of a spec: each child of a concat, else the spec itself."""
    for key in ("hconcat", "vconcat", "concat"):
        if key in spec:
            return [view for child in spec[key] for view in _views(child)]
    return [spec]


def _units(node: dict, data: str | None = None):
    """(unit spec, its dataset's name) for every mark of a view, layers and facets opened."""
    data = node.get("data", {}).get("name", data)
    children = node.get("layer") or ([node["spec"]] if "spec" in node else [])
    if not children:
        yield node, data
    for child in children:
        yield from _units(child, data)


def _nominal(unit: dict, channel: str) -> str | None:
    enc = unit.get("encoding", {}).get(channel, {})
    return enc.get("field") if isinstance(enc, dict) and enc.get("type") == "nominal" else None


CUES = ("shape", "strokeDash", "xOffset", "yOffset")  # what tells series apart without colour: shape, dash, place


def _rows(spec: dict, data: str | None, field: str) -> set:
    return {row.get(field) for row in spec["datasets"].get(data, [])}


def _colours(spec: dict, view: dict) -> dict[str, set]:
    """The values each nominal colour field of a view takes in the series its marks draw (not in markers whose
    shape says something else, such as ▼ 0 / ▲ inf / ✕ nan: those are told apart by their place and tooltip)."""
    values: dict[str, set] = {}
    for unit, data in _units(view):
        field = _nominal(unit, "color")
        if field and _nominal(unit, "shape") in (None, field):
            values.setdefault(field, set()).update(_rows(spec, data, field))
    return values


def colour_only(spec: dict) -> set[str]:
    """Fields whose colour tells two or more series apart in some view while no shape, dash or place of that view
    tells two of them apart (a series drawn only as a dashed theory line counts as told apart)."""
    found = set()
    for view in _views(spec):
        cued: dict[str, set] = {}
        solid: dict[str, set] = {}
        for unit, data in _units(view):
            for field in {_nominal(unit, ch) for ch in CUES} - {None}:
                cued.setdefault(field, set()).update(_rows(spec, data, field))
            if (field := _nominal(unit, "color")) and "strokeDash" not in unit.get("mark", {}):
                solid.setdefault(field, set()).update(_rows(spec, data, field))
        for field, seen in _colours(spec, view).items():
            told = (seen & cued.get(field, set())) | (seen - solid.get(field, set()))
            if len(seen) >= 2 and len(told) < 2:
                found.add(field)
    return found


def _legends(node) -> list[dict]:
    if isinstance(node, list):
        return [leg for child in node for leg in _legends(child)]
    if not isinstance(node, dict):
        return []
    return node.get("legends", []) + [leg for key, child in node.items() if key != "legends" for leg in _legends(child)]


def _one_language(name: str, section: str) -> list[tuple[str, dict]]:
    sec = {s.name: s for s in experiments.load(name).SECTIONS}[section]
    params = _params(name, sec)
    blocks = figures.load(name).VIEWS[section](experiments.run_section(sec, params.project(sec.uses)), params, "en")
    return [(fig.name, fig.spec("en")) for fig in figures.figures_of(blocks).values()]


@pytest.mark.parametrize(("name", "sec"), list(charted()))
def test_series_differ_by_shape_or_dash_as_well_as_colour_and_the_legend_shows_both(name, sec):
    """Read in grey or by a colour-blind reader, a chart whose colours tell series apart must tell them apart by
    shape or dash too, and its legend must show that cue beside the colour."""
    for fig, spec in _one_language(name, sec.name):
        missing = colour_only(spec)
        if fig in COLOUR_ONLY:
            assert missing, f"{fig} now draws its series apart without colour: remove it from COLOUR_ONLY"
            continue
        assert not missing, f"{fig}: series told apart by colour alone ({missing})"
        if _shaped_or_dashed(spec):
            legends = _legends(vlc.vegalite_to_vega(spec))
            assert any({"fill", "stroke"} & set(leg) and {"shape", "strokeDash"} & set(leg) for leg in legends), \
                f"{fig}: no legend shows the series' shape or dash beside their colour"


def _shaped_or_dashed(spec: dict) -> bool:
    """Whether some view tells two or more coloured series apart by shape or dash (not by place: grouped bars)."""
    for view in _views(spec):
        cued = {_nominal(unit, ch) for unit, _ in _units(view) for ch in ("shape", "strokeDash")}
        if any(len(seen) >= 2 and field in cued for field, seen in _colours(spec, view).items()):
            return True
    return False


@pytest.mark.parametrize(("name", "sec"), list(charted()))
def test_series_colours_are_the_palette(name, sec):
    """Every nominal colour is the Okabe–Ito palette, in its order: the theme's category range, or a range of
    its colours (STATE_INK for the 0/inf/nan keys)."""
    for fig, spec in _one_language(name, sec.name):
        assert spec["config"]["range"]["category"] == list(PALETTE)
        for view in _views(spec):
            for unit, _ in _units(view):
                scale = unit["encoding"]["color"].get("scale", {}) if _nominal(unit, "color") else {}
                if fig in OWN_COLOURS or "range" not in scale:
                    assert "scheme" not in scale, fig
                    continue
                colours = [c for c in scale["range"] if c != STATE_INK]
                assert colours == [PALETTE[i % len(PALETTE)] for i in range(len(colours))], (fig, scale)


def test_a_chart_told_apart_by_colour_alone_is_caught():
    df = pd.DataFrame({"x": [0, 1, 0, 1], "y": [0, 1, 1, 0], "s": ["a", "a", "b", "b"]})
    line = alt.Chart(df).mark_line().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), color=alt.Color("s:N"))
    assert colour_only(line.to_dict()) == {"s"}
    assert not colour_only(line.encode(strokeDash=alt.StrokeDash("s:N")).to_dict())
    assert colour_only(line.encode(strokeDash=alt.StrokeDash("x:N")).to_dict()) == {"s"}  # dash for another field
    other = alt.Chart(df.assign(s="c")).mark_point().encode(x=alt.X("x:Q"), shape=alt.Shape("s:N"))
    assert colour_only(alt.layer(line, other).to_dict()) == {"s"}  # a shape on the field, but of no series drawn
    one = alt.Chart(df[df["s"] == "a"]).mark_line().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), color=alt.Color("s:N"))
    assert not colour_only(one.to_dict())
