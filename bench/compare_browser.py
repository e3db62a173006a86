"""`python -m bench --compare`'s browser rows: a tab's warm link with 4 pins against the same link without."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlencode

from browser import CHROMIUM, LAUNCH_ARGS, server, wait_drawn
from playwright.sync_api import sync_playwright

from bench import ROOT
from bench.compare import PinCase, ratio, spread
from bench.floor import APP
from bench.pages import VIEWPORT, first_run, timed_open

LOADS = 5  # interleaved warm loads per arm


def browser_rows(cases: Sequence[PinCase], loads: int = LOADS) -> tuple[list[list], list[float]]:
    """Per case: seconds from the tab's link to all charts drawn in Chromium, warm (the runs cached on the server,
    the profile's caches full), with the 4 pins and without; and the floor's warm link (`bench/floor.py`'s page, on
    a server of its own). All in one browser profile, interleaved: pins, none, floor, pins, none, floor, ..."""
    measured, floor = [], []
    with (sync_playwright() as pw, server() as (base, pid), _floor_server() as (floor_base, floor_pid),
          tempfile.TemporaryDirectory() as profile):
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        first_run(chromium, base, pid)
        context = chromium.browser_type.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=LAUNCH_ARGS, viewport=VIEWPORT)
        for case in cases:
            urls = [(f"{base}/{case.page}?{urlencode(case.link(pinned))}", pid) for pinned in (True, False)]
            urls.append((floor_base, floor_pid))
            for url, server_pid in urls * 2:  # the runs computed and the browser's caches filled
                timed_open(context, url, wait_drawn, server_pid)
            times: list[list[float]] = [[], [], []]
            for _ in range(loads):
                for arm, (url, server_pid) in enumerate(urls):
                    times[arm].append(timed_open(context, url, wait_drawn, server_pid))
            measured.append((case.label, times))
            floor += times[2]
        context.close()
        chromium.close()
    rows = [[label, spread(pins), spread(none), f"{ratio(pins, none):.2f}x", spread(fl),
             f"{ratio(pins, fl):.2f}", f"{ratio(none, fl):.2f}"] for label, (pins, none, fl) in measured]
    return rows, floor


@contextlib.contextmanager
def _floor_server() -> Iterator[tuple[str, int]]:
    """bench/floor.py's minimal page (two Altair charts, 15 sliders, no stabviz code) on a server of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "app.py").write_text(APP)
        shutil.copytree(ROOT / ".streamlit", Path(tmp) / ".streamlit")
        with server(root=Path(tmp)) as served:
            yield served


BROWSER_HEADER = ["tab", "link warm s, 4 pins", "link warm s, no pins", "ratio", "floor link warm s",
                  "4 pins / floor", "no pins / floor"]
