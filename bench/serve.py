"""The load test's view of `scripts/serve.sh`: start N replicas behind nginx, read back which process served whom."""

from __future__ import annotations

import collections
import contextlib
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from browser import free_port

from bench import ROOT

SERVE = ROOT / "scripts" / "serve.sh"
READY = "stabviz ready:"


@dataclass(frozen=True)
class Served:
    """A running serve.sh: the proxy's URL, each replica's (pid, port), and the folder with nginx's logs."""

    base: str
    replicas: tuple[tuple[int, int], ...]
    state: Path

    @property
    def pids(self) -> list[int]:
        return [pid for pid, _ in self.replicas]


@contextlib.contextmanager
def serve(replicas: int, allocator: str = "jemalloc", timeout: float = 240) -> Iterator[Served]:
    """`scripts/serve.sh --replicas N` on a free port, until it says it is ready; stopped (TERM) after."""
    with tempfile.TemporaryDirectory(prefix="stabviz-bench-") as tmp:
        port = free_port()
        cmd = ["bash", str(SERVE), "--replicas", str(replicas), "--port", str(port), "--address", "127.0.0.1",
               "--state-dir", tmp, "--allocator", allocator]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            _wait_ready(proc, timeout)
            rows = [line.split() for line in (Path(tmp) / "replicas.pids").read_text().splitlines()]
            yield Served(f"http://127.0.0.1:{port}", tuple((int(p), int(q)) for p, q in rows if q != "nginx"),
                         Path(tmp))
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
            proc.kill()


def _wait_ready(proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        if line.startswith(READY):
            return
        if time.monotonic() > deadline:
            break
    raise RuntimeError(f"serve.sh did not become ready (exit code {proc.poll()})")


LOG_LINE = re.compile(r'^(\S+) (\S+) (.+?) (\d{3}|-) "(\S+) (\S+)[^"]*" (\S+)$')  # serve.sh's log_format


def routes(state: Path) -> dict[str, list[str]]:
    """Each browser's route cookie -> the replicas (host:port) nginx sent its requests to, one per request, from
    nginx's access log (the health checks of serve.sh itself left out)."""
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for line in (state / "access.log").read_text().splitlines():
        _time, route, upstream, _status, _method, path, _seconds = LOG_LINE.match(line).groups()
        if upstream != "-" and not path.startswith("/_stcore/health"):
            seen[route] += upstream.replace(" : ", ", ").split(", ")  # a retry lists every upstream it tried
    return seen


def stickiness(state: Path) -> str:
    """One line: browsers, their requests, and how many browsers reached more than one process (must be 0)."""
    seen = routes(state)
    split = sum(len(set(ups)) > 1 for ups in seen.values())
    per_process = collections.Counter(ups[0] for ups in seen.values() if len(set(ups)) == 1)
    return (f"sticky sessions: {len(seen)} browser cookies made {sum(map(len, seen.values()))} requests through "
            f"nginx; {split} cookies reached more than one process; cookies per process: "
            f"{dict(sorted(per_process.items()))}")
