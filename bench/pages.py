"""Server-side page runs (AppTest) and real-browser link-to-charts times, cold and warm."""

from __future__ import annotations

import time


def page_run_warm(name: str) -> float:
    """Seconds of one rerun of the page with everything cached (what a widget change costs at least)."""
    from pagetest import open_page

    at = open_page(name)
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def browser_times(names: list[str]) -> dict[str, tuple[float, float]]:
    """Link-to-all-charts-drawn seconds per page.

    cold: nothing of the page computed yet on the server, and a fresh browser profile (no HTTP cache);
    warm: the same link again in a new tab of that browser (results and Streamlit's JS cached).
    The server has served its home page once before (its one-off start: importing torch).
    """
    from browser import CHROMIUM, LAUNCH_ARGS, server, wait_drawn
    from playwright.sync_api import sync_playwright

    out = {}
    with server() as (base, _pid), sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        warmup = chromium.new_context()
        _open(warmup, base, lambda page: wait_drawn(page, charts=False))
        warmup.close()
        for name in names:
            context = chromium.new_context(viewport={"width": 1400, "height": 1000})
            out[name] = tuple(_open(context, f"{base}/{name}", wait_drawn) for _ in range(2))
            context.close()
        chromium.close()
    return out


def _open(context, url: str, wait_drawn) -> float:
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    wait_drawn(page)
    seconds = time.perf_counter() - start
    page.close()
    return seconds
