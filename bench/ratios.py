"""The two ratios of issue 5: instrumentation overhead, and batched optimizers vs the notebook loop."""

from __future__ import annotations

import resource
import statistics
import time

import torch

from stabviz.mlp import MLPSpec, build_mlp, gaussian_inputs, layer_stats
from stabviz.runtime import generator


def _median_time(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _interleaved_best(a, b, repeats: int = 5) -> tuple[float, float, float, float]:
    """Best-of-n times of two functions run alternately (fair under a noisy machine), and each one's mean
    minor page faults per call (memory the allocator had given back to the system and touched again)."""
    a(), b()
    times, faults = ([], []), ([], [])
    for _ in range(repeats):
        for i, fn in enumerate((a, b)):
            before, start = _minor_faults(), time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
            faults[i].append(_minor_faults() - before)
    return min(times[0]), min(times[1]), statistics.mean(faults[0]), statistics.mean(faults[1])


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def instrumentation_ratio(depth: int = 100, width: int = 512, batch: int = 256, device: str = "cpu") -> dict:
    """Per-layer statistics (hooks, retained grads, variances) vs a bare forward+backward of the same net."""
    dev = torch.device(device)
    model = build_mlp(MLPSpec(depth, width, "tanh", "xavier_normal"), generator(0), torch.float32, dev)
    x = gaussian_inputs(batch, width, generator(1), torch.float32, dev)

    def bare() -> None:
        model.zero_grad(set_to_none=True)
        (model(x).sum() / batch).backward()
        _sync(dev)

    def instrumented() -> None:
        model.zero_grad(set_to_none=True)
        layer_stats(model, x)
        _sync(dev)

    t_bare, t_inst, f_bare, f_inst = _interleaved_best(bare, instrumented)
    return {"bare_s": t_bare, "instrumented_s": t_inst, "ratio": t_inst / t_bare,
            "bare_faults": f_bare, "instrumented_faults": f_inst}


def optimizer_speedup(steps: int = 100, starts: int = 16) -> dict:
    """All optimizers x starts x steps in one batched run vs the classic per-point notebook loop."""
    from stabviz.experiments.optimizers import Params, start_points
    from stabviz.experiments.optimizers_run import reference_loop, run_batch
    from stabviz.surfaces import surface_fn

    p = Params(starts=starts)
    fn, names = surface_fn(p.surface, p.a, p.b, p.formula), p.optimizers
    xy = start_points(p, torch.device("cpu"))
    t_batch = _median_time(lambda: run_batch(fn, names, xy, steps, p.hyper()), repeats=3)
    t_loop = _median_time(lambda: reference_loop(fn, names, xy, steps, p.hyper()), repeats=1)
    return {"batched_s": t_batch, "loop_s": t_loop, "speedup": t_loop / t_batch,
            "runs": f"{len(names)} optimizers x {len(xy)} starts x {steps} steps"}


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()
