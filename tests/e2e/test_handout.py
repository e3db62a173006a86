"""Handouts without a server: an exported figure's HTML and a lesson's index.html open from file:// with every network
request blocked; every chart draws its marks, hovering a data point shows vega-tooltip's box with its values, the mouse
wheel zooms (the axes' tick labels change, a double click restores them) and a click on a legend entry fades the
other series."""

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
TICKS = """id => [...document.querySelectorAll(`#${id} svg.marks .role-axis-label`)]
  .map(axis => [...axis.querySelectorAll('text')].map(t => t.textContent).sort().join(' '))"""  # each axis's labels
PLOT_CENTRE = """id => {
  document.getElementById(id).scrollIntoView({block: 'center'});
  const lines = [...document.querySelectorAll(`#${id} svg.marks .role-axis-domain line`)]
    .map(l => l.getBoundingClientRect());
  const x = lines.find(b => b.width > b.height), y = lines.find(b => b.height > b.width);
  return [x.x + x.width / 2, y.y + y.height / 2];
}"""  # where the x axis's and the y axis's domain lines cross the plot's middle
LEGEND = """([id, name]) => {
  const label = [...document.querySelectorAll(`#${id} svg.marks .role-legend-label text`)]
    .find(t => t.textContent === name);
  const symbol = label.parentNode.parentNode.querySelector('.role-legend-symbol path');
  const box = label.getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2, symbol.getAttribute('fill')];
}"""  # a legend entry's label centre and its series' colour
MARKS = """id => [...document.querySelectorAll(`#${id} svg.marks .role-mark path`)].map(p => {
  const fill = p.getAttribute('fill'), filled = fill && fill !== 'none' && fill !== 'transparent';
  return [filled ? fill : p.getAttribute('stroke'),
          Number(p.getAttribute('opacity') ?? 1) * Number(p.getAttribute('stroke-opacity') ?? 1)];
})"""  # each data mark's colour (a line's stroke, a point's fill) and opacity


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


def _offline(context) -> list[str]:
    """Block every request but file:// ones; the list of those blocked."""
    blocked: list[str] = []

    def route(request_route) -> None:
        if request_route.request.url.startswith("file:"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    return blocked


@pytest.mark.parametrize("which", ["figure", "handout"])
def test_opens_offline_draws_and_shows_tooltips(context, page, offline_files, which):
    blocked = _offline(context)
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


@pytest.mark.parametrize(("which", "chart", "pick", "other"), [
    ("figure", "chart", "ReLU", "GELU"), ("handout", "scene-1-deep_mlp_scalar", "float32", "float16")])
def test_wheel_zooms_and_a_legend_entry_fades_the_other_series(context, page, offline_files, which, chart, pick,
                                                              other):
    blocked = _offline(context)
    page.goto(offline_files[which][0].as_uri())
    page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    ticks = page.evaluate(TICKS, chart)
    page.mouse.move(*page.evaluate(PLOT_CENTRE, chart))
    page.mouse.wheel(0, -300)  # zoom in around the plot's middle
    page.wait_for_function(f"ticks => JSON.stringify(({TICKS})({chart!r})) !== JSON.stringify(ticks)", arg=ticks,
                           timeout=5_000)
    zoomed = page.evaluate(TICKS, chart)
    assert all(now != then for now, then in zip(zoomed, ticks, strict=True) if then), (ticks, zoomed)  # x and y both
    page.mouse.dblclick(*page.evaluate(PLOT_CENTRE, chart))
    page.wait_for_function(f"ticks => JSON.stringify(({TICKS})({chart!r})) === JSON.stringify(ticks)", arg=ticks,
                           timeout=5_000)  # back as drawn

    before = page.evaluate(MARKS, chart)
    x, y, picked = page.evaluate(LEGEND, [chart, pick])
    faded = page.evaluate(LEGEND, [chart, other])[2]
    page.mouse.click(x, y)
    page.wait_for_function(f"() => ({MARKS})({chart!r}).some(([c, o]) => c === {faded!r} && o < 0.5)", timeout=5_000)
    after = page.evaluate(MARKS, chart)
    kept = [(b[1], a[1]) for b, a in zip(before, after, strict=True) if b[0] == picked]
    dimmed = [(b[1], a[1]) for b, a in zip(before, after, strict=True) if b[0] == faded]
    assert kept and dimmed
    assert all(a == pytest.approx(b) for b, a in kept), kept
    assert all(a <= 0.2 * b for b, a in dimmed), dimmed
    assert blocked == []
