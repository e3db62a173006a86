"""The pure parts of `python -m bench --compare` (its times are measured by the bench, never asserted here).

A fake clock moves only inside the arms' calls, by a known amount per call: timing the wrong arm, not
alternating the arms, reporting a mean instead of a median or a reversed ratio shows.
"""

import threading
import time

from bench import compare


class Clock:
    """A clock that only the arms move: each call adds its own seconds."""

    def __init__(self):
        self.now, self.calls = 0.0, []

    def __call__(self) -> float:
        return self.now

    def arm(self, name: str, seconds):
        def call(i: int) -> None:
            self.calls.append((name, i))
            self.now += seconds(i)
        return call


def test_interleaved_alternates_the_arms_and_times_each_call_on_its_own():
    clock = Clock()
    times = compare.interleaved([clock.arm("a", lambda i: 1.0 + i), clock.arm("b", lambda i: 10.0)], repeats=3,
                                clock=clock)
    assert clock.calls == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert times == [[1.0, 2.0, 3.0], [10.0, 10.0, 10.0]]


def test_spread_is_the_median_with_its_range_and_ratio_divides_medians():
    assert compare.spread([1.0, 2.0, 30.0]) == "2.000 (1.000-30.000)"  # a mean would read 11
    assert compare.ratio([1.0, 2.0, 30.0], [1.0, 1.0, 4.0]) == 2.0


def test_pin_case_links_carry_the_pins_and_each_timed_change_has_a_value_never_used_before():
    case = compare.PIN_CASES[0]
    pinned, plain = case.link(True), case.link(False)
    assert pinned["pins"] == "A,B,C,D" and pinned["A.depth"] == "25" and pinned["D.activation"] == "tanh"
    assert "pins" not in plain and plain.items() <= pinned.items()
    values = [case.value(i, arm) for i in range(compare.REPEATS) for arm in (0, 1)]
    assert len(set(values)) == len(values) and case.base not in values


def test_threads_cpu_counts_the_threads_started_inside_and_not_the_caller_and_restores_threading():
    run, go = threading.Thread.run, threading.Event()
    with compare.threads_cpu() as used:
        worker = threading.Thread(target=lambda: go.wait() or sum(i * i for i in range(20_000)))
        worker.start()
        start = time.thread_time()
        sum(i * i for i in range(2_000_000))  # the calling thread's own work, while the worker waits: not counted
        caller = time.thread_time() - start
        go.set()
        worker.join()
    assert len(used) == 1 and 0 < used[0] < caller / 2
    assert threading.Thread.run is run
