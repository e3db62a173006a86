"""The benchmark's two ratios run and report what they print (their values are measured by `python -m bench`)."""

from bench.ratios import instrumentation_ratio, optimizer_speedup


def test_instrumentation_ratio_reports_times_their_ratio_and_page_faults():
    out = instrumentation_ratio(depth=3, width=8, batch=4)
    assert out["bare_s"] > 0 and out["instrumented_s"] > 0
    assert out["ratio"] == out["instrumented_s"] / out["bare_s"]
    assert out["bare_faults"] >= 0 and out["instrumented_faults"] >= 0


def test_optimizer_speedup_compares_the_same_runs():
    out = optimizer_speedup(steps=3, starts=2)
    assert out["speedup"] == out["loop_s"] / out["batched_s"]
    assert out["runs"].endswith("x 2 starts x 3 steps")
