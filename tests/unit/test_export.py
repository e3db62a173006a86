"""Export: real PNGs of the chart's size, SVG that parses, self-contained interactive HTML (zoom and legend
highlighting on every figure of every page, Vega accepts it, nothing looks different until one interacts), the page
zip, Chinese glyphs."""

import io
import json
import re
import struct
import xml.etree.ElementTree as ET
import zipfile

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc
from sections import charted

from stabviz import experiments, export, figures
from stabviz.charts import HEIGHT, WIDTH, log_profile, themed
from stabviz.interactive import interactive

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chart(title: str, lang: str = "zh") -> dict:
    df = pd.DataFrame({"x": [0, 1, 2], "y": [1, 2, 3]})
    return themed(alt.Chart(df).mark_line().encode(x="x:Q", y="y:Q").properties(
        title=title, width=WIDTH, height=HEIGHT), lang)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def test_png_is_a_real_png_at_twice_the_chart_size():
    width, height = _png_size(export.to_png(_chart("gradient", "en")))
    assert 2 * WIDTH <= width <= 2 * WIDTH + 300
    assert 2 * HEIGHT <= height <= 2 * HEIGHT + 200


def test_svg_parses_and_keeps_the_title_as_text():
    root = ET.fromstring(export.to_svg(_chart("vanishing gradient", "en")))
    assert root.tag.endswith("svg")
    assert "vanishing gradient" in "".join(root.itertext())


def test_chinese_glyphs_are_real_not_boxes():
    # Missing glyphs all render as the same box, so two different titles would give the same PNG.
    a = export.to_png(_chart("梯度消失"))
    b = export.to_png(_chart("梯度爆炸"))
    assert a != b


def test_page_zip_holds_every_figure_params_and_link():
    charts = {"one": _chart("a", "en"), "two": _chart("b", "en")}
    data = export.page_zip(charts, {"t": pd.DataFrame({"a": [1]})}, {"depth": 3}, "http://x/activations?depth=3")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert names == {"one.png", "one.svg", "one.html", "two.png", "two.svg", "two.html", "t.csv", "params.json",
                         "link.txt"}
        assert json.loads(zf.read("params.json")) == {"depth": 3}
        assert zf.read("one.png")[:8] == PNG_MAGIC
        assert zf.read("link.txt").decode().strip() == "http://x/activations?depth=3"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_activation_figure_exports(lang):
    from stabviz.experiments import activations

    p = activations.Params(depth=20)
    result = experiments.run("activations", p)
    blocks = [b for s in activations.SECTIONS for b in figures.load("activations").VIEWS[s.name](result, p, lang)]
    for fig in figures.figures_of(blocks).values():
        assert _png_size(export.to_png(fig.spec(lang), scale=1))[0] >= WIDTH


def _embedded_spec(page: str) -> dict:
    """The spec a figure page hands to vegaEmbed, as the browser's script parser would read it."""
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2  # the libraries, then the chart: nothing in the spec closed an element early
    return json.loads(re.fullmatch(r'vegaEmbed\("#chart", (.*), \{"renderer".*', scripts[1], re.S)[1])


def test_figure_html_carries_chart_caption_parameters_and_link_and_fetches_nothing():
    spec = _chart("</script><b>gradient</b>", "en")
    page = export.figure_html(spec, caption="Look: <b>not bold</b>, **bold**", page="activations",
                              params={"depth": 30, "functions": ("sigmoid", "relu")},
                              link="http://lecture:8501/activations?depth=30&functions=sigmoid,relu", lang="en")
    assert _embedded_spec(page) == json.loads(json.dumps(interactive(spec)))
    assert not re.search(r"<script[^>]*\ssrc=|<link[\s>]|@import|https?://cdn", page, re.I)
    assert page.count("window.vegaEmbed=") == 1
    assert '<p class="caption">Look: &lt;b&gt;not bold&lt;/b&gt;, <strong>bold</strong></p>' in page
    assert "<td>Depth L</td><td><code>depth</code></td><td>30</td>" in page
    assert "<td><code>functions</code></td><td>sigmoid,relu</td>" in page
    live = '<a href="http://lecture:8501/activations?depth=30&amp;functions=sigmoid,relu">Open the live page</a>'
    assert live in page


def test_page_zip_html_has_the_caption_and_speaks_the_links_language():
    charts = {"one": _chart("梯度", "zh")}
    link = "http://x/activations?depth=3&lang=zh"
    data = export.page_zip(charts, {}, {"experiment": "activations", "depth": 3}, link, captions={"one": "看这里"})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        page = zf.read("one.html").decode()
    assert _embedded_spec(page) == json.loads(json.dumps(interactive(charts["one"])))
    assert '<p class="caption">看这里</p>' in page and "打开在线页面" in page and "<h1>激活函数与饱和</h1>" in page
    assert "<td>深度 L</td><td><code>depth</code></td><td>3</td>" in page and "<code>experiment</code>" not in page


NO_ZOOM = {"initialization_histograms": "small multiples (a facet): see interactive._views"}
SHORT = ("steps", "epochs")  # training sections run their fewest steps: only the charts are under test


def _figures(name: str, sec: experiments.Section) -> dict[str, dict]:
    """Every figure of a section in English, as its Vega-Lite dict."""
    params = experiments.load(name).Params
    params = params(**{f: int(params.specs()[f].lo) for f in SHORT if sec.long and f in sec.uses})
    result = experiments.run_section(sec, params.project(sec.uses))
    blocks = figures.load(name).VIEWS[sec.name](result, params, "en")
    return {fig.name: fig.spec("en") for fig in figures.figures_of(blocks).values()}


def _drawn(node: dict) -> dict | None:
    """A scenegraph as it looks: legends left out (a bound one gains a clickable background), item names, the
    flags that only say what listens for the mouse and opacities of 1 (the default, now and then written) dropped."""
    if node.get("role") == "legend":
        return None
    out = {k: v for k, v in node.items() if k not in ("interactive", "name", "items") and (k, v) != ("opacity", 1)}
    if "items" in node:
        out["items"] = [d for d in map(_drawn, node["items"]) if d is not None]
    return out


def _compiled(vega: dict, key: str) -> list[dict]:
    """Every entry of ``key`` ("scales", "legends") in a Vega spec and in its groups."""
    return vega.get(key, []) + [e for m in vega.get("marks", []) if m["type"] == "group" for e in _compiled(m, key)]


@pytest.mark.parametrize(("name", "sec"), list(charted()))
def test_every_figure_zooms_and_picks_series_from_its_legend_and_looks_the_same_until_then(name, sec):
    for fig, spec in _figures(name, sec).items():
        live = json.loads(json.dumps(spec))
        exported = interactive(spec)
        assert spec == live, f"{fig}: the page's own dict was changed"
        vega = vlc.vegalite_to_vega(exported)
        looks = _drawn(vlc.vegalite_to_scenegraph(exported)["scenegraph"])  # Vega parsed it and drew it
        assert looks == _drawn(vlc.vegalite_to_scenegraph(spec)["scenegraph"]), f"{fig}: drawn differently"
        scales = {s["name"]: s for s in _compiled(vega, "scales")}
        axes = [s for n, s in scales.items() if n.split("_")[-1] in ("x", "y")
                and s.get("type", "linear") not in ("band", "point", "ordinal")]
        zoomed = [s for s in axes if "domainRaw" in s]  # a scale bound to an interval selection
        assert zoomed == ([] if fig in NO_ZOOM else axes), f"{fig}: continuous axes {len(axes)}, zoom {len(zoomed)}"
        series = [g for g in _compiled(vega, "legends")  # legends of colours by name (not a gradient, not dashes)
                  if scales.get(g.get("stroke") or g.get("fill"), {}).get("type") == "ordinal"]
        picked = [g for g in series if g.get("encode", {}).get("symbols", {}).get("interactive")]
        assert len(picked) == len(series), f"{fig}: {len(series)} series legends, {len(picked)} bound"


def _series() -> dict:
    """Two series on a log axis, one of them overflowing to inf (a marker on the ceiling)."""
    df = pd.DataFrame({"k": [0, 1, 2, 3] * 2, "y": [1, 0.1, 0.01, 0.001, 1, 10, 100, float("inf")],
                       "s": ["a"] * 4 + ["b"] * 4})
    return themed(log_profile(df, "k", "y", "s", lang="en", x_title="k", y_title="y"), "en")


def _params(node) -> list[dict]:
    """The selections a spec declares, wherever they are."""
    if isinstance(node, list):
        return [p for child in node for p in _params(child)]
    if not isinstance(node, dict):
        return []
    own = node.get("params", [])
    return own + [p for k, v in node.items() if k not in ("params", "datasets") for p in _params(v)]


def _marks(node: dict) -> list[tuple[str, bool, str, float, float]]:
    """Every data mark's items in a scenegraph: (mark name, clipped, colour, opacity, y)."""
    own = [(node.get("name", ""), node["clip"], i.get("fill") or i.get("stroke"), i.get("opacity", 1), i.get("y", 0))
           for i in node["items"]] if node.get("role") == "mark" else []
    return own + [m for child in node.get("items", []) for m in _marks(child)]


def test_a_layer_stack_gets_one_zoom_and_one_legend_selection_that_vega_draws_zoomed_and_picked():
    exported = interactive(_series())
    zoom, legend = _params(exported)
    assert (zoom["bind"], zoom["select"]) == ("scales", {"type": "interval", "encodings": ["x", "y"]})
    assert (legend["bind"], legend["select"]) == ("legend", {"type": "point", "fields": ["s"]})
    still = _marks(vlc.vegalite_to_scenegraph(exported)["scenegraph"])
    zoom["value"] = {"x": [0.5, 2.5], "y": [0.05, 20]}  # as if wheeled in on the middle, and "a" clicked
    legend["value"] = [{"s": "a"}]
    moved = _marks(vlc.vegalite_to_scenegraph(exported)["scenegraph"])
    a, b = dict.fromkeys(m[2] for m in still if m[0] == "layer_0_marks")  # each series' line colour
    assert not any(m[1] for m in still) and all(m[1] for m in moved)  # clipped to the plot once zoomed, not before
    assert all(0 <= m[4] <= HEIGHT for m in still) and any(m[4] > HEIGHT for m in moved)  # unclamped once zoomed
    assert [m[3] for m in moved if m[2] == a] == [m[3] for m in still if m[2] == a]  # "a" as it was
    assert [m[3] for m in moved if m[2] == b] == [pytest.approx(0.15 * m[3]) for m in still if m[2] == b]  # faded


def test_concatenated_views_zoom_apart_a_shared_axis_and_a_facet_do_not():
    one, two = (_series() for _ in range(2))
    data = {**one.pop("datasets"), **two.pop("datasets")}
    side_by_side = {"hconcat": [one, two], "datasets": data}
    names = [p["name"] for p in _params(interactive(side_by_side))]
    assert len(names) == len(set(names)) == 4
    vlc.vegalite_to_scenegraph(interactive(side_by_side))
    shared = interactive({**side_by_side, "resolve": {"scale": {"y": "shared"}}})
    assert [p["select"].get("encodings") for p in _params(shared) if p["bind"] == "scales"] == [["x"], ["x"]]
    vlc.vegalite_to_scenegraph(shared)
    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": [1, 2, 3, 4], "s": ["a", "b"] * 2, "f": ["p", "p", "q", "q"]})
    facet = themed(alt.Chart(df).mark_line().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), color=alt.Color("s:N"))
                   .facet(column=alt.Column("f:N")), "en")
    assert [p["bind"] for p in _params(interactive(facet))] == ["legend"]
    vlc.vegalite_to_scenegraph(interactive(facet))
