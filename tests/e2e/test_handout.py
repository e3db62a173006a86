"""Handouts without a server: an exported figure's HTML and a lesson's index.html open from file:// with every network
request blocked; every chart draws its marks, and hovering a data point shows vega-tooltip's box with its values."""

from __future__ import annotations

from pathlib import Path

import pytest

from stabviz import handout, lessons
from stabviz.cli import main

pytestmark = pytest.mark.e2e
LESSON = """
title = { en = "Offline" }
[[scene]]
link = "/deep_mlp?tab=scalar&powers=60"
title = { en = "Powers" }
caption = { en = "Two lines." }
[[scene]]
link = "/activations?tab=saturation&functions=sigmoid"
title = { en = "A table" }
caption = { en = "No chart here." }
[[scene]]
link = "/activations?tab=chain&functions=sigmoid,tanh&depth=30"
title = { en = "Chain" }
caption = { en = "A product vanishes." }
"""
CHARTS_DRAWN = "() => [...document.querySelectorAll('div.chart')].every(c => c.querySelector('svg.marks .mark-symbol'))"
A_POINT = """id => {
  const point = document.querySelector(`#${id} svg.marks .mark-symbol path`);
  point.scrollIntoView({block: 'center'});
  const box = point.getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
}"""  # the centre of the chart's first data point, in the page's coordinates
TOOLTIP = "#vg-tooltip-element.visible"


@pytest.fixture(scope="module")
def offline_files(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    """(file, its charts' element ids): one figure exported as HTML, and a lesson's index.html."""
    root = tmp_path_factory.mktemp("offline")
    (root / "lessons").mkdir()
    (root / "lessons" / "offline.toml").write_text(LESSON, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(lessons.ENV, str(root / "lessons"))
        index = handout.build(lessons.load("offline"), root / "handout", "en", "http://127.0.0.1:9")
    link = "http://127.0.0.1:9/activations?tab=chain&functions=relu,gelu&depth=40"
    assert main(["export", link, "--format", "html", "--out", str(root / "figure")]) == 0
    return {"figure": (root / "figure" / "activations_chain.html", ["chart"]),
            "handout": (index, ["scene-1-deep_mlp_scalar", "scene-3-activations_chain"])}


@pytest.mark.parametrize("which", ["figure", "handout"])
def test_opens_offline_draws_and_shows_tooltips(context, page, offline_files, which):
    blocked: list[str] = []

    def offline(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    path, charts = offline_files[which]
    page.goto(path.as_uri())
    page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    assert page.eval_on_selector_all("div.chart", "cs => cs.map(c => c.id)") == charts
    for chart in charts:
        page.mouse.move(0, 0)
        page.wait_for_selector(TOOLTIP, state="detached", timeout=5_000)
        page.mouse.move(*page.evaluate(A_POINT, chart))
        page.wait_for_selector(TOOLTIP, state="visible", timeout=5_000)
        assert page.inner_text(TOOLTIP).strip()
    assert blocked == []
