"""Server-side page runs (AppTest) and real-browser link-to-charts times, cold and warm."""

from __future__ import annotations

import statistics
import tempfile
import time

from bench.proc import cpu_s, machine_busy_s
from stabviz.i18n import tr

VIEWPORT = {"width": 1400, "height": 1000}
WARM_LOADS = 3  # warm link loads per page, the median reported (one load varies by ±0.4 s here)
COLD_LOADS = 3  # cold link loads per page, each on a fresh server, the median reported (one varies by ±1 s here)
NAV_LINK = "[data-testid=stSidebar] [data-testid=stPageLink-NavLink]"


def page_run_warm(name: str) -> float:
    """Seconds of one rerun of the page with everything cached (what a widget change costs at least)."""
    from pagetest import open_page

    at = open_page(name)
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def browser_times(names: list[str]) -> tuple[dict[str, tuple[float, float, float, float]], tuple[float, float]]:
    """Seconds from a link (or a click) to all charts drawn, per page: (link cold, link warm, switch cold, warm);
    and the link times (cold, warm) of the stack's floor, a minimal Streamlit page (`bench/floor.py`).

    link cold: nothing of the page computed yet on the server, and a new browser profile (empty caches),
    median of 3 (a fresh server each);
    link warm: the same link again in a new tab of that profile, once it has opened the link twice (results,
    Streamlit's JS and the JS's compiled code cached, as in a lecturer's browser), median of 3;
    switch: clicking the page in the sidebar of an open app (a lecture), on a fresh server, then again.
    Each server has served its home page once first (its one-off start: importing torch).
    """
    from browser import CHROMIUM, LAUNCH_ARGS, server
    from playwright.sync_api import sync_playwright

    from bench.floor import floor_times

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        links = link_times(chromium, server, names)
        switches = _switch_times(chromium, names)
        floor = floor_times(chromium)
        chromium.close()
    return {name: (*links[name], *switches[name]) for name in names}, floor


def first_run(chromium, base: str, pid: int) -> None:
    """Serve the home page once and let the server settle: its one-off start (importing torch, then
    torch._dynamo in the background while the home page is read) stays out of the link times."""
    from browser import wait_drawn

    timed_open(chromium.new_context(), base, lambda page: wait_drawn(page, charts=False))
    wait_idle(pid)


def wait_idle(pid: int | None = None, quiet_s: float = 0.5, timeout_s: float = 30.0) -> None:
    """Until process ``pid`` (None: the whole machine) uses under a tenth of a core over ``quiet_s``."""
    used_s = machine_busy_s if pid is None else lambda: cpu_s(pid)
    deadline = time.monotonic() + timeout_s
    used = used_s()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        used, before = used_s(), used
        if used - before < 0.1 * quiet_s:
            return


def link_times(chromium, serve, paths: list[str]) -> dict[str, tuple[float, float]]:
    """(cold, warm) seconds to all charts drawn for each path of the app that ``serve()`` starts (a context
    manager yielding (base URL, pid)). Cold: the path's first load on a fresh server, in a new browser profile,
    the median of COLD_LOADS servers; warm, on the first server: after one more load, the median of WARM_LOADS.
    """
    cold: dict[str, list[float]] = {path: [] for path in paths}
    warm: dict[str, float] = {}
    for round_ in range(COLD_LOADS):
        with serve() as (base, pid):
            first_run(chromium, base, pid)
            for path in paths:
                times = _profile_loads(chromium, f"{base}/{path}", 2 + WARM_LOADS if round_ == 0 else 1)
                cold[path].append(times[0])
                if round_ == 0:
                    warm[path] = statistics.median(times[2:])
    return {path: (statistics.median(cold[path]), warm[path]) for path in paths}


def _profile_loads(chromium, url: str, loads: int) -> list[float]:
    """Seconds to all charts drawn for ``loads`` loads of ``url`` in new tabs of a new browser profile.

    A profile on disk, as a lecturer's browser has, not an off-the-record context: only a profile keeps V8's
    code cache (Streamlit's JS compiled once; the warm loads here took 0.2-0.6 s less with it).
    """
    from browser import CHROMIUM, LAUNCH_ARGS, wait_drawn

    with tempfile.TemporaryDirectory() as profile:
        context = chromium.browser_type.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=LAUNCH_ARGS, viewport=VIEWPORT)
        times = [timed_open(context, url, wait_drawn) for _ in range(loads)]
        context.close()
    return times


def _switch_times(chromium, names: list[str]) -> dict[str, list[float]]:
    from browser import server, wait_drawn

    out: dict[str, list[float]] = {name: [] for name in names}
    with server() as (base, pid):
        page = chromium.new_context(viewport=VIEWPORT).new_page()
        page.goto(base)
        wait_drawn(page, charts=False)
        wait_idle(pid)
        for _ in range(2):
            for name in names:
                start = time.perf_counter()
                page.locator(NAV_LINK, has_text=tr(f"{name}.nav", "en")).first.click()
                title = tr(f"{name}.title", "en")
                page.wait_for_function(f"() => (document.querySelector('h1')?.innerText || '').includes({title!r})")
                wait_drawn(page)
                out[name].append(time.perf_counter() - start)
    return out


def timed_open(context, url: str, wait_drawn, pid: int | None = None) -> float:
    """Seconds from opening ``url`` in a new tab of ``context`` until ``wait_drawn`` returns, once the machine is
    quiet (not while the last tab or browser is still closing, or a new browser still starting), or only process
    ``pid`` (a machine shared with other jobs may never be quiet)."""
    wait_idle(pid)
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    wait_drawn(page)
    seconds = time.perf_counter() - start
    page.close()
    return seconds
