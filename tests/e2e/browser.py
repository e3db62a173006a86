"""Real-browser helpers: a stabviz server on 127.0.0.1 and a page that waits until every chart drew.

Not a conftest: test modules and the benchmark import it by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
READY = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
NOT_RUNNING = "[data-test-script-state='notRunning']"
NO_SKELETON = "document.querySelectorAll('[data-testid=stSkeleton]').length === 0"
PAGE_END = "document.querySelector('.st-key-page_end') !== null"  # a page's last element (ui_page.END_MARKER),
# in the sidebar: present even where the sidebar is collapsed (a phone, the projector view)
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-testid=stElementContainer].stPrintGraphic')];
  return charts.every(c => c.querySelector('svg.marks, canvas'));
}"""

CUT_OFF = """() => [...document.querySelectorAll('[data-testid=stApp] *')]
  .filter(e => getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.innerText)"""  # texts the layout shortens to "…" (sidebar links, widget labels, tabs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(timeout: float = 90, root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """`streamlit run app.py` (in ``root``) on a free loopback port; yields (base URL, pid), stops it after."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true"]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, timeout)
        yield base, proc.pid
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        proc.kill()


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited before it served")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                return
        time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


def drawn_waits(charts: bool = True) -> list[tuple[str, str]]:
    """What "drawn" means, as (Playwright wait method, argument) in order; the tests' sync pages and the load
    test's async ones both wait through this list. Connected, script finished, no skeletons, and (``charts``)
    the page's last element and every Vega chart's marks; then the script still finished."""
    waits = [("wait_for_selector", READY), ("wait_for_selector", NOT_RUNNING), ("wait_for_function", NO_SKELETON)]
    if charts:
        waits += [("wait_for_function", PAGE_END), ("wait_for_function", CHARTS_DRAWN)]
    return [*waits, ("wait_for_selector", NOT_RUNNING)]


def wait_drawn(page, timeout_ms: int = 90_000, charts: bool = True) -> None:
    """Wait until the page is drawn (see ``drawn_waits``)."""
    for method, argument in drawn_waits(charts):
        getattr(page, method)(argument, timeout=timeout_ms)
