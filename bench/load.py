"""Load: N concurrent Chromium sessions open one lecture link, then each its own parameter sets.

Reports errors, p50/p95 link-to-charts, the server's CPU seconds per page load (the browsers share
the machine, so the times measure them as much as the server) and the server's resident memory as
distinct parameter sets accumulate (the caches are bounded, so memory must level off). With ``replicas``
the sessions go through `scripts/serve.sh` (nginx in front of N servers): CPU and memory per process, and
from nginx's log whether every browser stayed on one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from browser import CHROMIUM, ERRORS, LAUNCH_ARGS, drawn_waits, server
from playwright.async_api import async_playwright

from bench.proc import cpu_s, rss_mb
from bench.serve import serve, stickiness

LECTURE = "activations?functions=sigmoid,tanh,relu&depth=60&tab=chain"
DISTINCT_SESSIONS = 4  # sessions that walk through distinct parameter sets (each Chromium tab costs ~1.5 CPU-s)
# distinct sets per row of the table (the caches hold 256 results: rows past it show memory once they are full)
REPORT_EVERY = 250
TIMEOUT_MS = 300_000  # every step of a load: 20 tabs loading at once on 2 cores take a minute or more each


def distinct_link(i: int) -> str:
    """A cheap, distinct activations link: a new cache entry for each i, alternating two tabs."""
    if i % 2:
        return f"activations?tab=chain&functions=sigmoid,relu&depth={1 + i % 200}&seed={i}"
    return f"activations?tab=saturation&functions=sigmoid,relu&samples=2000&seed={i}"


async def _open(context, url: str) -> tuple[float, bool]:
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(url, timeout=TIMEOUT_MS)
    for method, argument in drawn_waits():
        await getattr(page, method)(argument, timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - start
    failed = await page.locator(ERRORS).count() > 0
    await page.close()
    return seconds, failed


async def _session(browser, base: str, links: list[str]) -> list[tuple[float, bool]]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    out = [await _open(context, f"{base}/{link}") for link in links]
    await context.close()
    return out


async def _phase(browser, base: str, plans: list[list[str]], pids: list[int]) -> tuple[list, list[float]]:
    """Every session's (seconds, failed) per load, and each server's CPU seconds over the phase."""
    before = [cpu_s(pid) for pid in pids]
    results = await asyncio.gather(*(_session(browser, base, links) for links in plans))
    return [r for session in results for r in session], [cpu_s(pid) - b for pid, b in zip(pids, before, strict=True)]


def _summary(label: str, results: list[tuple[float, bool]], server_cpu: list[float], pids: list[int]) -> str:
    """A table row; with several servers the CPU per load and the RSS are given per process, joined by ' / '."""
    times = sorted(t for t, _ in results)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    errors = sum(failed for _, failed in results)
    cpu = " / ".join(f"{c / len(results):.2f}" for c in server_cpu)
    rss = " / ".join(f"{rss_mb(pid):.0f}" for pid in pids)
    return f"| {label} | {len(results)} | {errors} | {statistics.median(times):.2f} | {p95:.2f} | {cpu} | {rss} |"


@contextlib.contextmanager
def _servers(replicas: int | None) -> Iterator[tuple[str, list[int], Path | None]]:
    """(base URL, server pids, nginx's state dir or None): one bare server, or serve.sh with N replicas."""
    if replicas is None:
        with server() as (base, pid):
            yield base, [pid], None
    else:
        with serve(replicas) as served:
            yield served.base, served.pids, served.state


async def run(sessions: int, distinct: int, replicas: int | None = None) -> None:
    with _servers(replicas) as (base, pids, state):
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            print(f"server RSS at start: {' / '.join(f'{rss_mb(pid):.0f}' for pid in pids)} MiB"
                  f"{f' ({replicas} replicas behind nginx)' if state else ''}\n")
            print("| phase | page loads | loads with errors | p50 s | p95 s | server CPU s per load "
                  "| server RSS MiB after |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            same, server_cpu = await _phase(browser, base, [[LECTURE]] * sessions, pids)
            print(_summary(f"{sessions} sessions, one lecture link", same, server_cpu, pids), flush=True)
            for start in range(0, distinct, REPORT_EVERY):
                sets = range(start, min(start + REPORT_EVERY, distinct))
                plans = [[distinct_link(i) for i in sets[s::DISTINCT_SESSIONS]] for s in range(DISTINCT_SESSIONS)]
                res, server_cpu = await _phase(browser, base, plans, pids)
                label = f"{DISTINCT_SESSIONS} sessions, {sets.stop} distinct sets so far"
                print(_summary(label, res, server_cpu, pids), flush=True)
            await browser.close()
        if state:
            print(f"\n{stickiness(state)}")


def main(sessions: int = 20, distinct: int = 500, replicas: int | None = None) -> None:
    asyncio.run(run(sessions, distinct, replicas))
