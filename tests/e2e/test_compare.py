"""Pins and sweeps in headless Chromium (issue 20): pin, change a knob, the overlay drawn with a legend naming the
runs, a pin renamed in its popover, the exported SVG showing both runs; a sweep link draws with its progress bar."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import streamlit
from browser import ERRORS, wait_drawn

pytestmark = pytest.mark.e2e
SMALL = "depth=12&width=32&batch=8"  # a small deep_mlp gradient-flow tab
SWEEP_TITLE = "gradient factor per layer against Weight std"
WARNINGS = "[data-testid=stMain] [data-testid=stAlertContentWarning]"
FIRST_CHART_TEXTS = """role => [...document.querySelector('.vega-embed svg.marks').querySelectorAll(`.${role} text`)]
  .map(t => t.textContent)"""  # the texts of the first chart's legends (role-legend) or axis labels
LEGEND_CUT = """() => { const svg = document.querySelector('.vega-embed svg.marks'), box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('.role-legend text')].filter(t => t.getBoundingClientRect().bottom > box.bottom + 1)
    .map(t => t.textContent); }"""  # the first chart's legend entries below its bottom edge (Streamlit's fixed height)
SWEEP_CHARTS = """() => [...document.querySelectorAll('.vega-embed svg.marks')]
  .map(svg => svg.querySelector('.role-title text')?.textContent ?? '').filter(t => t.includes(' against '))"""
PROGRESS_SEEN = """window.__progress = [];
new MutationObserver(() => document.querySelectorAll('[data-testid=stProgress]').forEach(bar => window.__progress.push(
  [bar.textContent, Number(bar.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow'))])))
  .observe(document, {childList: true, subtree: true, characterData: true, attributes: true});"""
# every state of every progress bar drawn since the page opened, as [text, percent]: a sweep's bar lives only
# while it runs
PROGRESS_CHUNK = next((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("Progress.*.js")).name
# the bar's component, which Streamlit's frontend loads when a bar is first drawn


def url_has(page, key: str, value: str) -> None:
    """Wait until the address bar holds ``key=value`` (written while the script runs), then until it drew."""
    page.wait_for_function("([k, v]) => new URLSearchParams(location.search).get(k) === v", arg=[key, value],
                           timeout=60_000)
    wait_drawn(page)


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def legends_naming(page, *runs: str) -> list[str]:
    """The first chart's legend texts, once they name every run (Vega redraws a chart after its script run)."""
    page.wait_for_function(f"runs => runs.every(r => ({FIRST_CHART_TEXTS})('role-legend').includes(r))",
                           arg=list(runs), timeout=30_000)
    return page.evaluate(FIRST_CHART_TEXTS, "role-legend")


def assert_names_runs_once(texts: list[str], *runs: str) -> None:
    """One legend, titled "Run", names each run once (a second one would repeat them)."""
    assert texts.count("Run") == 1 and all(texts.count(run) == 1 for run in runs), texts


def assert_clean(page) -> None:
    """No exception, error or warning box on the page."""
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
    assert page.locator(WARNINGS).count() == 0, page.locator(WARNINGS).first.inner_text()


def test_pin_change_a_knob_rename_and_export_draw_every_run(page, app_url):
    """Pin as A, two steps down the depth slider: the chart overlays both runs and one legend names them; the
    link holds the pin; renamed in its popover, the legend and the exported SVG name it."""
    page.goto(f"{app_url}/deep_mlp?{SMALL}")
    wait_drawn(page)
    page.get_by_role("button", name="Pin as A").click()
    url_has(page, "pins", "A")
    assert page.get_by_role("button", name="Pin as B").count() == 1
    slider = page.locator(".st-key-deep_mlp__depth input[type=range]")
    slider.focus()
    slider.press("ArrowLeft")
    slider.press("ArrowLeft")  # two reruns, the second cancelling the first
    url_has(page, "depth", "10")
    assert_clean(page)
    assert {k: query(page).get(k) for k in ("pins", "A.depth")} == {"pins": "A", "A.depth": "12"}
    runs = ("live: Depth 10", "A: Depth 12")
    assert_names_runs_once(legends_naming(page, *runs), *runs)
    assert "12" in page.evaluate(FIRST_CHART_TEXTS, "role-axis-label")  # the x axis reaches the pinned run's layer 12

    page.locator("[data-testid=stMain] [data-testid=stPopover] button", has_text="A").click()
    name = page.locator(".st-key-deep_mlp__pins_name_A input")
    name.fill("shallow")
    name.press("Enter")
    url_has(page, "A.name", "shallow")
    page.keyboard.press("Escape")
    assert_clean(page)
    runs = ("live: Depth 10", "A (shallow): Depth 12")
    assert_names_runs_once(legends_naming(page, *runs), *runs)
    assert page.evaluate(LEGEND_CUT) == []

    button = page.locator("[data-testid=stMain] [data-testid=stDownloadButton] button", has_text="SVG").first
    with page.expect_download(timeout=60_000) as download:
        button.click()
    svg = ET.fromstring(Path(download.value.path()).read_bytes())
    assert_names_runs_once([t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")], *runs)


def test_a_sweep_link_draws_its_chart_and_a_new_sweep_shows_its_progress_bar(page, app_url):
    """The link's sweep draws; one more point (a new grid) sweeps again under its bar, which says what runs until
    it goes. The bar's component is loaded first: Streamlit's frontend loads it when a bar is first drawn, and a
    fresh browser's sweep can end before it arrives (seen here: no bar drawn at all)."""
    page.add_init_script(PROGRESS_SEEN)
    page.goto(f"{app_url}/deep_mlp?{SMALL}&init=normal&sweep=std:0.5:2:log:16&finding=flow_factor_per_layer")
    wait_drawn(page)
    assert_clean(page)
    assert page.evaluate(SWEEP_CHARTS) == [SWEEP_TITLE]
    assert page.locator(".st-key-deep_mlp__gradient_flow__sweep_on input").is_checked()
    page.evaluate("url => import(url).then(() => { window.__progress = []; })", f"{app_url}/static/js/{PROGRESS_CHUNK}")
    points = page.locator(".st-key-deep_mlp__gradient_flow__sweep_points input[type=range]")
    points.focus()
    points.press("ArrowRight")
    url_has(page, "sweep", "std:0.5:2:log:17")
    assert_clean(page)
    bars = page.evaluate("window.__progress")
    assert bars and all(text.startswith("Sweeping 17 points") for text, _ in bars), bars
    assert [p for _, p in bars] == sorted(p for _, p in bars)
    assert page.locator("[data-testid=stProgress]").count() == 0  # gone once the sweep is done
    assert page.evaluate(SWEEP_CHARTS) == [SWEEP_TITLE]
