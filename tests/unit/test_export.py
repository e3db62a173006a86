"""Export: real PNGs of the chart's size, SVG that parses, self-contained interactive HTML, the page zip, Chinese
glyphs."""

import io
import json
import re
import struct
import xml.etree.ElementTree as ET
import zipfile

import altair as alt
import pandas as pd
import pytest

from stabviz import export
from stabviz.charts import HEIGHT, WIDTH, themed

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
    from stabviz import experiments, figures
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
    assert _embedded_spec(page) == json.loads(json.dumps(spec))
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
    assert _embedded_spec(page) == json.loads(json.dumps(charts["one"]))
    assert '<p class="caption">看这里</p>' in page and "打开在线页面" in page and "<h1>激活函数与饱和</h1>" in page
    assert "<td>深度 L</td><td><code>depth</code></td><td>3</td>" in page and "<code>experiment</code>" not in page
