"""Soak: thousands of distinct parameter sets through `scripts/serve.sh`, with the server's memory every 250 sets.

A Chromium tab costs this 2-core machine about 1.5 CPU-s a load, so a browser soak of 5000 sets would take hours of
browsers, not of the server. This client speaks Streamlit's own protocol instead: like a browser it fetches the
page through nginx (which hands it the route cookie), opens `/_stcore/stream` with that cookie, asks for a run
with the link's query and reads the page's messages until the script has finished. The server does the same work
as for a tab (the script run, the cached results, the charts' specs, a session kept 2 minutes after it closes),
and a load fails if the page sent an exception or an error box. With several `--allocator` arms the servers
are soaked in turns, 250 sets each, the order alternating (an interleaved A/B on the same sets).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import urllib.request
from pathlib import Path

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load import REPORT_EVERY, distinct_link
from bench.proc import cpu_s
from bench.serve import Served, serve, stickiness

CLIENTS = 4  # concurrent sessions, as in the browser load test's distinct phase
ERROR_ALERT = Alert.Format.Value("ERROR")  # st.error


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process, MiB: all, anonymous (heap) and file-backed (mapped libraries)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "RssAnon", "RssFile")}


def _cookie(base: str, page: str) -> str:
    """GET a page through nginx as a browser's first request does; returns its route cookie ('' if none)."""
    with urllib.request.urlopen(f"{base}/{page}", timeout=60) as response:
        header = response.headers.get("Set-Cookie", "")
    return header.split(";", 1)[0]


def _failed(message: ForwardMsg) -> bool:
    """Whether a message draws an exception or an error box (what the browser test counts as an error)."""
    if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
        return False
    element = message.delta.new_element
    kind = element.WhichOneof("type")
    return kind == "exception" or (kind == "alert" and element.alert.format == ERROR_ALERT)


async def load(base: str, link: str, cookie: str) -> tuple[float, bool]:
    """One page load over Streamlit's WebSocket: (seconds to script_finished, whether it showed an error)."""
    page, _, query = link.partition("?")
    request = BackMsg()
    request.rerun_script.query_string = query
    request.rerun_script.page_name = page
    start = time.perf_counter()
    headers = {"Cookie": cookie} if cookie else {}
    async with websockets.connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                  additional_headers=headers, max_size=None, open_timeout=120) as ws:
        await ws.send(request.SerializeToString())
        failed = False
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), 300))
            failed |= _failed(message)
            if message.WhichOneof("type") == "script_finished":
                return time.perf_counter() - start, failed


async def _client(base: str, links: list[str]) -> list[tuple[float, bool]]:
    """One browser: its cookie from the first page, then each link in turn."""
    cookie = await asyncio.to_thread(_cookie, base, links[0].partition("?")[0]) if links else ""
    return [await load(base, link, cookie) for link in links]


async def run_sets(base: str, sets: range, clients: int = CLIENTS) -> list[tuple[float, bool]]:
    """The distinct links of ``sets``, shared out over ``clients`` concurrent sessions."""
    plans = [[distinct_link(i) for i in sets[c::clients]] for c in range(clients)]
    results = await asyncio.gather(*(_client(base, plan) for plan in plans))
    return [r for session in results for r in session]


def _row(arm: str, done: int, results: list[tuple[float, bool]], served: Served, cpu: list[float],
         wall: float) -> str:
    """A table row; with several servers the CPU per load is given per process (joined by ' / '), memory summed."""
    times = sorted(t for t, _ in results)
    mem = [memory_mb(pid) for pid in served.pids]
    per_load = " / ".join(f"{c / len(results):.3f}" for c in cpu)
    return (f"| {arm} | {done} | {sum(f for _, f in results)} | {statistics.median(times):.3f} | "
            f"{times[int(0.95 * (len(times) - 1))]:.3f} | {per_load} | {len(results) / wall:.1f} | "
            f"{sum(m['VmRSS'] for m in mem):.0f} | {sum(m['RssAnon'] for m in mem):.0f} | "
            f"{sum(m['RssFile'] for m in mem):.0f} |")


async def _soak(sets: int, replicas: int, arms: list[str], clients: int) -> None:
    with contextlib.ExitStack() as stack:
        servers = {arm: stack.enter_context(serve(replicas, arm)) for arm in arms}
        print("| allocator | distinct sets so far | loads with errors | p50 s | p95 s | server CPU s per load "
              "| loads per s | RSS MiB | anonymous MiB | file-backed MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for n, start in enumerate(range(0, sets, REPORT_EVERY)):
            chunk = range(start, min(start + REPORT_EVERY, sets))
            for arm in arms if n % 2 == 0 else arms[::-1]:
                served = servers[arm]
                before, t0 = [cpu_s(pid) for pid in served.pids], time.perf_counter()
                results = await run_sets(served.base, chunk, clients)
                cpu = [cpu_s(pid) - b for pid, b in zip(served.pids, before, strict=True)]
                print(_row(arm, chunk.stop, results, served, cpu, time.perf_counter() - t0), flush=True)
        for arm, served in servers.items():
            print(f"\n{arm}: {stickiness(served.state)}")


def main(sets: int, replicas: int = 1, allocators: str = "jemalloc", clients: int = CLIENTS) -> None:
    asyncio.run(_soak(sets, replicas, allocators.split(","), clients))
