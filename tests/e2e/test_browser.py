"""Every page in headless Chromium: a link draws all charts with no error box and no text cut off; exports download;
Chinese."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from browser import CUT_OFF, ERRORS, ROOT, wait_drawn

from stabviz import experiments, figures
from stabviz.figures import Figure, Table
from stabviz.i18n import tr

pytestmark = pytest.mark.e2e
PAGES = experiments.NAMES
ARTIFACTS = ROOT / "test-artifacts"
CJK = re.compile(r"[\u4e00-\u9fff]")


def open_link(page, url: str, charts: bool = True) -> None:
    page.goto(url)
    wait_drawn(page, charts=charts)
    assert_whole(page)


def assert_whole(page) -> None:
    """No error box, and no text the layout cut off with an ellipsis."""
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
    assert page.evaluate(CUT_OFF) == []


def _download(page, button_text: str, where: str = "stMain") -> bytes:
    buttons = f"[data-testid='{where}'] [data-testid='stDownloadButton'] button"
    button = page.locator(buttons, has_text=button_text).first
    with page.expect_download(timeout=120_000) as info:
        button.click()
    return Path(info.value.path()).read_bytes()


def open_tab(page, label: str, section: str, first: bool) -> None:
    """Click a tab, wait for its run to finish and draw; the address bar names it (the first tab: nothing)."""
    page.get_by_role("tab", name=label, exact=True).click()
    tab_in_url = f"() => new URLSearchParams(location.search).get('tab') === {'null' if first else repr(section)}"
    page.wait_for_function(tab_in_url, timeout=60_000)
    wait_drawn(page)
    assert_whole(page)


@pytest.mark.parametrize("name", PAGES)
def test_link_draws_every_chart_in_every_tab_and_exports(page, app_url, name):
    open_link(page, f"{app_url}/{name}?seed=3")
    assert parse_qs(urlparse(page.url).query)["seed"] == ["3"]
    assert page.locator(".vega-embed").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    png = _download(page, "PNG")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    assert ET.fromstring(_download(page, "SVG")).tag.endswith("svg")
    sections = experiments.load(name).SECTIONS
    for sec in [*sections[1:], sections[0]]:
        open_tab(page, tr(f"{name}.{sec.name}.tab", "en"), sec.name, sec is sections[0])
        assert page.locator("h3", has_text=tr(f"{name}.{sec.name}.title", "en")).count() == 1
        assert page.locator(".vega-embed svg.marks, [data-testid=stDataFrame]").count() >= 1, sec.name
        assert parse_qs(urlparse(page.url).query)["seed"] == ["3"]  # other values stay in the link


def test_a_tab_link_reopens_that_tab_in_both_languages(page, app_url):
    open_link(page, f"{app_url}/recurrent?steps=60")
    open_tab(page, tr("recurrent.gates.tab", "en"), "gates", first=False)
    fresh = page.context.new_page()
    open_link(fresh, page.url)
    assert fresh.locator("[role=tab][aria-selected=true]").inner_text() == tr("recurrent.gates.tab", "en")
    fresh.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    fresh.get_by_role("option", name="简体中文").click()
    fresh.wait_for_function("() => location.search.includes('lang=zh')", timeout=60_000)
    wait_drawn(fresh)
    assert fresh.locator("[role=tab][aria-selected=true]").inner_text() == tr("recurrent.gates.tab", "zh")
    assert "tab=gates" in fresh.url and "steps=60" in fresh.url


def test_zip_holds_every_figure_of_every_tab_params_and_link(page, app_url):
    query = {"depth": "40", "functions": "sigmoid,relu"}
    open_link(page, f"{app_url}/activations?depth=40&functions=sigmoid,relu")
    with zipfile.ZipFile(io.BytesIO(_download(page, "zip", "stSidebar"))) as zf:
        names = set(zf.namelist())
        params = json.loads(zf.read("params.json"))
    blocks = _all_blocks("activations", query)
    assert {n for n in names if n.endswith(".png")} == {f"{b.name}.png" for b in blocks if isinstance(b, Figure)}
    assert {n for n in names if n.endswith(".svg")} == {f"{b.name}.svg" for b in blocks if isinstance(b, Figure)}
    assert {n for n in names if n.endswith(".csv")} == {f"{b.name}.csv" for b in blocks if isinstance(b, Table)}
    assert {"params.json", "link.txt"} <= names
    assert params["depth"] == 40 and params["functions"] == ["sigmoid", "relu"]


def test_table_csv_download_is_the_table(page, app_url):
    open_link(page, f"{app_url}/optimizers?seed=3")
    csv = pd.read_csv(io.BytesIO(_download(page, "CSV")))
    table = next(b for b in _all_blocks("optimizers", {"seed": "3"}) if isinstance(b, Table))
    pd.testing.assert_frame_equal(csv, table.df.reset_index(drop=True), check_dtype=False)


def _all_blocks(name: str, query: dict[str, str]) -> list:
    """The figures and tables of every section, from the engine and views (the oracle for the zip)."""
    module = experiments.load(name)
    params, _ = module.Params.parse(query)
    views = figures.load(name).VIEWS
    return [b for sec in module.SECTIONS for b in views[sec.name](experiments.run_section(sec, params), params, "en")]


@pytest.mark.parametrize("name", PAGES)
def test_chinese_link_is_chinese_and_nothing_is_cut_off(page, app_url, name):
    open_link(page, f"{app_url}/{name}?lang=zh")
    assert CJK.search(page.locator("h1").first.inner_text())
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.screenshot(path=ARTIFACTS / f"{name}_zh.png")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_projector_sized_window_cuts_nothing_off(page, app_url, lang):
    """1024 x 768, a common projector: export buttons, tables and widget labels keep their whole text."""
    page.set_viewport_size({"width": 1024, "height": 768})
    for name in PAGES:
        open_link(page, f"{app_url}/{name}?lang={lang}")  # asserts no error box and no text cut off


def test_widget_change_reaches_the_address_bar_and_the_link_reopens_it(page, app_url):
    open_link(page, f"{app_url}/activations")
    box = page.locator("[data-testid='stMain'] [data-testid='stNumberInput'] input").first
    box.fill("1.5")
    box.press("Enter")
    page.wait_for_function("() => location.search.includes('input_std=1.5')", timeout=60_000)
    wait_drawn(page)
    link = page.url
    fresh = page.context.new_page()
    open_link(fresh, link)
    assert fresh.locator("[data-testid='stMain'] [data-testid='stNumberInput'] input").first.input_value() == "1.5"


def test_language_survives_navigation(page, app_url):
    open_link(page, f"{app_url}/?lang=zh", charts=False)
    page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']").nth(1).click()
    wait_drawn(page)
    assert "lang=zh" in page.url
    assert CJK.search(page.locator("h1").first.inner_text())


def test_contour_bands_are_filled_polygons_in_the_browser(page, app_url):
    """Each band of the newton map is one filled path, one colour per band (Vega keeps the lines' fill)."""
    open_link(page, f"{app_url}/newton")
    fills = page.locator(".vega-embed").first.evaluate(
        "e => [...e.querySelectorAll('g.mark-line path')].map(p => p.getAttribute('fill'))"
        ".filter(f => f && f !== 'none')")
    rows = next(rows for b in _all_blocks("newton", {}) if isinstance(b, Figure)
                for rows in b.chart.to_dict()["datasets"].values() if rows and "poly" in rows[0])
    assert len(fills) == len({r["poly"] for r in rows})
    assert len(set(fills)) == len({r["level"] for r in rows}) == 12


def test_the_server_runs_on_uvloop_and_httptools(app_server):
    """requirements.txt installs streamlit[performance]: `streamlit run` then serves on uvloop's event loop and
    httptools' HTTP parser (a cold link's ~150 static files cost the server 0.06-0.16 CPU-s less here)."""
    _, pid = app_server
    loaded = Path(f"/proc/{pid}/maps").read_text()
    assert "/uvloop/" in loaded and "/httptools/" in loaded
