"""The benchmark's two ratios time what their lines name, each on its own side (their values are measured by
`python -m bench`, never asserted here).

A fake clock runs as the real one, plus fake seconds inside one side's calls: none in the warm-up, then SLOW
and 3 SLOW in turn; a fake page-fault counter moves only inside them. Timing the wrong function, swapping the
sides, timing the warm-up or reporting a mean or a worst time instead of the best shows.
"""

import re
import time
from types import SimpleNamespace

import pytest

from bench import ratios
from stabviz.experiments import optimizers_run

SLOW = 10.0  # fake seconds added to each call of the slowed side: far more than the real calls take here


class Clock:
    """perf_counter = the real one + what the slowed calls added; a page-fault count only they move."""

    def __init__(self):
        self.added, self.faults = 0.0, 0

    def perf_counter(self) -> float:
        return time.perf_counter() + self.added

    def slowed(self, fn, faults: int = 0):
        """``fn`` taking no more time on its first call (the warm-up), then SLOW and 3 SLOW more in turn."""
        calls = []

        def slow(*args, **kwargs):
            calls.append(args)
            self.added += 0.0 if len(calls) == 1 else SLOW if len(calls) % 2 == 0 else 3 * SLOW
            self.faults += faults
            return fn(*args, **kwargs)

        return slow, calls


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratios, "time", SimpleNamespace(perf_counter=clock.perf_counter))
    monkeypatch.setattr(ratios, "_minor_faults", lambda: clock.faults)
    return clock


def test_instrumentation_times_layer_stats_against_the_bare_pass_best_of_the_timed_runs(clock, monkeypatch):
    slow, calls = clock.slowed(ratios.layer_stats, faults=1000)
    monkeypatch.setattr(ratios, "layer_stats", slow)
    out = ratios.instrumentation_ratio(depth=3, width=8, batch=4)
    assert len(calls) > 2
    assert SLOW <= out["instrumented_s"] < SLOW + 1  # the instrumented side, its best timed run
    assert 0 < out["bare_s"] < 1  # the bare side did not run layer_stats
    assert out["ratio"] > SLOW  # instrumented over bare, not bare over instrumented
    assert (out["instrumented_faults"], out["bare_faults"]) == (1000, 0)  # per pass, each side its own


def test_optimizer_speedup_times_the_same_runs_both_ways_and_says_which(clock, monkeypatch):
    loop, loop_calls = clock.slowed(optimizers_run.reference_loop)
    batch_calls, real_batch = [], optimizers_run.run_batch

    def batch(*args):
        batch_calls.append(args)
        return real_batch(*args)

    monkeypatch.setattr(optimizers_run, "reference_loop", loop)
    monkeypatch.setattr(optimizers_run, "run_batch", batch)
    out = ratios.optimizer_speedup(steps=3, starts=2)
    assert out["loop_s"] >= SLOW > out["batched_s"] > 0 and out["speedup"] > SLOW  # loop over batched: "x faster"
    fn, names, xy, steps, hyper = batch_calls[0]
    for args in loop_calls + batch_calls:  # every timed run: the same surface, optimizers, starts, steps, settings
        assert args[0] is fn and args[1] == names and args[2].equal(xy) and args[3] == steps and args[4] == hyper
    said = re.fullmatch(r"(\d+) optimizers x (\d+) starts x (\d+) steps", out["runs"])
    assert said and tuple(map(int, said.groups())) == (len(names), len(xy), steps) == (len(names), 2, 3)
    assert len(names) > 1
