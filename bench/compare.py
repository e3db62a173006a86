"""`python -m bench --compare`: issue 20's rows. A tab with 4 pins after one knob change against the same change
with no pins; a 16-point sweep per point against single runs of the tab; the heaviest charts' rows with 4 pins.

Every A/B pair is interleaved (A, B, A, B, ...) and reported as the median with its spread (min-max); server
times are read both as wall seconds and as the CPU seconds of the page script's thread, which the other jobs on
this shared 2-core machine disturb less.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

REPEATS = 7  # interleaved repeats per A/B pair
PIN_LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class PinCase:
    """A tab opened from ``query`` with four pins, whose float knob ``knob`` (a number input) then changes."""

    label: str
    page: str
    query: Mapping[str, str]  # the tab's link without pins (small settings)
    pins: Sequence[Mapping[str, str]]  # each pin's own values, as a link writes them after "A."
    knob: str
    base: float  # the knob's value in ``query``; each timed change moves it by a new 1% step

    def link(self, pinned: bool) -> dict[str, str]:
        """The tab's link values, with or without the pins."""
        if not pinned:
            return dict(self.query)
        out = {**self.query, "pins": ",".join(PIN_LETTERS[: len(self.pins)])}
        for letter, own in zip(PIN_LETTERS, self.pins, strict=False):
            out |= {f"{letter}.{k}": v for k, v in own.items()}
        return out

    def value(self, repeat: int, arm: int) -> float:
        """A value of the knob neither arm has used before (so only the live run is computed, never shared)."""
        return round(self.base * (1 + 0.01 * (2 * repeat + arm + 1)), 6)


PIN_CASES = (
    PinCase("deep_mlp gradient flow (depth 50, width 128, batch 64)", "deep_mlp", {"init": "normal"},
            ({"depth": "25"}, {"depth": "100"}, {"std": "0.9"}, {"activation": "tanh"}), "std", 1.0),
    PinCase("normalization training (3 norms, batches 16 and 64, 1 epoch)", "normalization",
            {"tab": "training", "batches": "16,64", "epochs": "1"},
            ({"lr": "0.05"}, {"lr": "0.2"}, {"train_depth": "2"}, {"width": "16"}), "lr", 0.1),
)


def interleaved(arms: Sequence[Callable[[int], object]], repeats: int = REPEATS,
                clock: Callable[[], float] = time.perf_counter) -> list[list[float]]:
    """Seconds of each arm's call ``arm(i)`` for i < repeats, the arms alternating within each repeat."""
    out: list[list[float]] = [[] for _ in arms]
    for i in range(repeats):
        for times, arm in zip(out, arms, strict=True):
            start = clock()
            arm(i)
            times.append(clock() - start)
    return out


def spread(times: Sequence[float]) -> str:
    """A median with its range, as the tables print it: ``0.42 (0.39-0.51)``."""
    return f"{statistics.median(times):.3f} ({min(times):.3f}-{max(times):.3f})"


def ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """Median of ``a`` over median of ``b``."""
    return statistics.median(a) / statistics.median(b)


def _both_clocks(arms: Sequence[Callable[[int], object]], repeats: int,
                 own_thread: bool = False) -> tuple[list[list[float]], ...]:
    """Wall seconds of interleaved arms, and the CPU seconds of the threads each call started, plus the calling
    thread's own if ``own_thread`` (AppTest runs the page's script in a thread of its own: that thread's CPU time is
    the server's work, without AppTest's reading of the page in the calling thread)."""
    cpu: list[list[float]] = [[] for _ in arms]

    def on_cpu(k: int, arm: Callable[[int], object]) -> Callable[[int], object]:
        def call(i: int) -> None:
            start = time.thread_time()
            with threads_cpu() as used:
                arm(i)
            cpu[k].append(sum(used) + (time.thread_time() - start if own_thread else 0.0))
        return call

    wall = interleaved([on_cpu(k, a) for k, a in enumerate(arms)], repeats)
    return wall, cpu


@contextlib.contextmanager
def threads_cpu() -> Iterator[list[float]]:
    """The CPU seconds of each thread started inside the block (appended as each one ends)."""
    used: list[float] = []
    run = threading.Thread.run

    def timed(self: threading.Thread) -> None:
        start = time.thread_time()
        try:
            run(self)
        finally:
            used.append(time.thread_time() - start)

    threading.Thread.run = timed
    try:
        yield used
    finally:
        threading.Thread.run = run


def pin_rows(cases: Sequence[PinCase] = PIN_CASES, repeats: int = REPEATS) -> list[list]:
    """Per case: the server's page script after a knob change, and a rerun with nothing changed, 4 pins vs none."""
    from pagetest import open_page, problems

    rows = []
    for case in cases:
        pages = [open_page(case.page, case.link(pinned)) for pinned in (True, False)]  # every run computed here
        bad = [p for at in pages for p in problems(at)]
        if bad:
            raise RuntimeError(f"{case.page}: {bad[0]}")
        changes = [_change(case, at, arm) for arm, at in enumerate(pages)]
        reruns = [lambda _i, at=at: at.run() for at in pages]
        for what, arms in ((f"{case.knob} changed", changes), ("rerun, nothing changed", reruns)):
            wall, cpu = _both_clocks(arms, repeats)
            rows.append([case.label, what, spread(wall[0]), spread(wall[1]), f"{ratio(*wall):.2f}x",
                         spread(cpu[0]), spread(cpu[1]), f"{ratio(*cpu):.2f}x"])
    return rows


def _change(case: PinCase, at: object, arm: int) -> Callable[[int], object]:
    """Repeat i of an arm: the knob set to a value of its own, then the page's script run."""
    return lambda i: at.number_input(key=f"{case.page}__{case.knob}").set_value(case.value(i, arm)).run()


PIN_HEADER = ["tab", "page script after", "4 pins wall s", "no pins wall s", "wall ratio", "4 pins CPU s",
              "no pins CPU s", "CPU ratio"]


@dataclass(frozen=True)
class SweepCase:
    """A tab at its default setting (plus ``set``) swept over ``points`` values of one knob."""

    label: str
    page: str
    section: str
    sweep: str  # knob:lo:hi:scale:points, as a link writes it
    finding: str
    set: Mapping[str, object] = field(default_factory=dict)


SWEEP_CASES = (
    SweepCase("deep_mlp gradient flow (depth 50, width 128, batch 64, init normal)", "deep_mlp", "gradient_flow",
              "std:0.1:10:log:16", "flow_factor_per_layer", {"init": "normal"}),
    SweepCase("optimizers lr sweep (3 optimizers x 41 rates x 50 steps)", "optimizers", "sweep", "a:1:100:log:16",
              "first_diverging_lr"),
)


def sweep_rows(cases: Sequence[SweepCase] = SWEEP_CASES, repeats: int = REPEATS) -> list[list]:
    """Per case: seconds per point of ``stabviz.sweep.run`` (no caches) against the same settings run one by one."""
    import dataclasses

    from stabviz import experiments
    from stabviz import sweep as sw

    rows = []
    for case in cases:
        module = experiments.load(case.page)
        section = next(s for s in module.SECTIONS if s.name == case.section)
        params = dataclasses.replace(module.Params(), **case.set)
        sweep, issues = sw.parse(case.sweep, case.finding, module.Params, section)
        if sweep is None or issues:
            raise RuntimeError(f"{case.page}: {issues}")
        points = sw.settings(params, sweep)

        def one(p: object, s=section) -> object:
            return experiments.run_section(s, p.project(s.uses))

        arms = [lambda _i, s=section, w=sweep, pts=points: sw.run(s, pts, w, one),
                lambda _i, pts=points: [one(p) for p in pts]]
        wall, cpu = _both_clocks(arms, repeats, own_thread=True)
        per = [[t / len(points) for t in times] for times in (*wall, *cpu)]
        rows.append([case.label, f"{case.sweep} ({case.finding})", spread(per[0]), spread(per[1]),
                     f"{ratio(per[0], per[1]):.2f}x", f"{ratio(per[2], per[3]):.2f}x"])
    return rows


SWEEP_HEADER = ["tab", "sweep", "per point s (sweep)", "one run s (same settings)", "wall ratio", "CPU ratio"]


def chart_rows(names: Sequence[str]) -> list[list]:
    """Per page: its heaviest chart at the default setting (all tabs), and that chart's rows with 4 pins added
    that differ by seed (or, on a tab without one, by 1-4% of its first number knob), as the page combines them."""
    from stabviz import experiments, overlay
    from stabviz.figures import compare as fc

    rows = []
    for name in names:
        module = experiments.load(name)
        params = module.Params()
        heaviest = max(((_charts(name, sec, params), sec) for sec in module.SECTIONS),
                       key=lambda cs: max([0, *(overlay.rows(c) for c in cs[0].values())]))
        charts, sec = heaviest
        chart = max(charts, key=lambda n: overlay.rows(charts[n]))
        runs = [params, *(_pinned(params, sec, k) for k in range(1, 5))]
        drawn = [[_figure(n, c) for n, c in _charts(name, sec, p).items()] for p in runs]
        combined = fc.combined(drawn, ["live", *PIN_LETTERS], "en")
        with_pins = next(b.chart for b in combined if getattr(b, "name", None) == chart)
        most = max(overlay.rows(b.chart) for b in combined if hasattr(b, "chart"))
        rows.append([name, f"{sec.name}: {chart}", overlay.rows(charts[chart]), overlay.rows(with_pins), most,
                     "yes" if most <= overlay.CHART_ROWS else "NO"])
    return rows


CHART_HEADER = ["page", "heaviest chart (tab: figure)", "rows, live only", "rows with 4 pins",
                "most rows of any chart of that tab with 4 pins", "<= 5000"]


def _charts(name: str, sec: object, params: object) -> dict[str, dict]:
    """A tab's charts as the page renders them (themed Vega-Lite dicts), by figure name."""
    from stabviz import experiments, figures

    result = experiments.run_section(sec, params.project(sec.uses))
    blocks = figures.load(name).VIEWS[sec.name](result, params, "en")
    return {n: f.spec("en") for n, f in figures.figures_of(blocks).items()}


def _figure(name: str, chart: dict) -> object:
    from stabviz.figures import Figure

    return Figure(name, chart, "")


def _pinned(params: object, sec: object, k: int) -> object:
    """The k-th pin of the rows check: another seed, else the tab's first number knob moved by k percent."""
    import dataclasses

    from stabviz import sweep as sw

    if "seed" in sec.uses:
        return dataclasses.replace(params, seed=params.seed + k)
    knob = next(f for f, s in sw.knobs(type(params), sec).items() if s.kind is float)
    spec = params.specs()[knob]
    return dataclasses.replace(params, **{knob: min(spec.hi, getattr(params, knob) * (1 + 0.01 * k))})


def _table(header: list[str], rows: list[list]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def main(names: Sequence[str], browser: bool = True, repeats: int = REPEATS) -> None:
    """Print the three tables (and the browser's, against the floor) as Markdown."""
    print(f"Pins: the page script (AppTest) after a knob change, 4 pins cached vs none; {repeats} interleaved "
          "repeats, median (min-max)\n")
    print(_table(PIN_HEADER, pin_rows(repeats=repeats)), flush=True)
    if browser:
        from bench.compare_browser import BROWSER_HEADER, browser_rows

        rows, floor = browser_rows(PIN_CASES)
        print("\nPins in the browser: a warm link to the tab, all charts drawn\n")
        print(_table(BROWSER_HEADER, rows))
        print(f"\nfloor: bench/floor.py's page (15 sliders, two 300-point Altair charts, no stabviz code), its warm "
              f"link interleaved with the tabs': {spread(floor)} s", flush=True)
    print(f"\nSweeps: 16 points, no caches; {repeats} interleaved repeats, median (min-max)\n")
    print(_table(SWEEP_HEADER, sweep_rows(repeats=repeats)), flush=True)
    print("\nChart rows with 4 pins (stabviz.overlay.rows of the combined chart; the limit is 5000)\n")
    print(_table(CHART_HEADER, chart_rows(names)))
