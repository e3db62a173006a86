"""What only a browser shows of the lecture views: a shared link on a phone, and the projector view."""

from __future__ import annotations

import pytest
from browser import ERRORS, ROOT, wait_drawn

from stabviz import experiments

pytestmark = pytest.mark.e2e
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
FIRST_CHART_TOP = """() => {
  const c = document.querySelector('[data-testid=stElementContainer].stPrintGraphic');
  return c ? c.getBoundingClientRect().top + window.scrollY : null; }"""
OVERFLOW = """() => [...document.querySelectorAll('[data-testid=stMain] *')]
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > window.innerWidth + 1
                 && !e.closest('.vega-embed, [data-testid=stDataFrame], [role=tablist]'); })  // those scroll
  .map(e => e.tagName + '.' + e.className).slice(0, 5)"""
SIZES = """sel => [...document.querySelectorAll(sel)].filter(e => e.textContent.trim())
  .map(e => parseFloat(getComputedStyle(e).fontSize))"""
SCENE = "/deep_mlp?tab=scalar&lesson=numerical_stability&scene=1&view=present"


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("name", experiments.NAMES)
def test_a_shared_link_on_a_phone_shows_the_title_and_the_first_chart_within_two_screens(phone, app_url, name):
    phone.goto(f"{app_url}/{name}", timeout=120_000)
    wait_drawn(phone)
    phone.screenshot(path=ARTIFACTS / f"phone_{name}.png", full_page=True)
    assert phone.locator(ERRORS).count() == 0
    title_top = phone.locator("h1").first.bounding_box()["y"]
    assert 0 <= title_top < 844
    assert phone.evaluate(FIRST_CHART_TOP) < 2 * 844  # the controls come after the figure
    assert phone.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert phone.evaluate(OVERFLOW) == []
    for key in ("controls_tab", "pin_bar", "sweep_controls"):  # the knobs, the pins and the sweep come after it
        controls = phone.locator(f".st-key-{key}").first
        assert controls.count() == 0 or controls.bounding_box()["y"] > phone.evaluate(FIRST_CHART_TOP), key


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_the_projector_view_shows_large_figures_and_text_and_no_controls(browser, app_url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(app_url + SCENE, timeout=120_000)
    wait_drawn(page)
    page.screenshot(path=ARTIFACTS / f"present_{width}x{height}.png")
    main = page.locator("[data-testid=stMain]")
    assert main.locator("[data-testid=stSlider], [data-testid=stNumberInput], [role=tablist]").count() == 0
    assert main.locator("[data-testid=stDownloadButton]").count() == 0
    caption = page.evaluate(SIZES, ".st-key-lesson_bar [data-testid=stMarkdownContainer] p")
    axis = page.evaluate(SIZES, ".vega-embed svg text")
    assert caption and min(caption) >= 28  # 1.9rem: legible from the back of a hall on a 720p projector
    assert axis and min(axis) >= 19  # the charts' smallest text (11 px on the page) at x1.75
    context.close()
