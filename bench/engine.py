"""Engine timings per page at default params: cold (computed), warm (cache hit), training apart."""

from __future__ import annotations

import dataclasses
import statistics
import time
import warnings

from stabviz import experiments


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def engine_times(name: str, device: str = "auto") -> dict[str, float]:
    """Cold = computed (the tab a link opens first, and all quick tabs); warm = a cache hit; training apart."""
    from stabviz.ui_results import cached_section, trained_section  # st.cache_data works in bare mode too

    module = experiments.load(name)
    params = module.Params()
    if "device" in module.Params.specs():
        params = dataclasses.replace(params, device=device)
    out = {"first_tab": 0.0, "engine_cold": 0.0, "engine_warm": 0.0, "training": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sec in module.SECTIONS:
            narrow = params.project(sec.uses)
            call = (lambda s=sec, p=narrow: trained_section(name, s, p, lambda _f: None)) if sec.long else (
                lambda s=sec, p=narrow: cached_section(name, s.name, p))
            seconds, _ = _timed(call)
            out["training" if sec.long else "engine_cold"] += seconds
            out["first_tab"] += seconds if sec is module.SECTIONS[0] else 0.0
            out["engine_warm"] += _timed(call)[0]
    return out


def chart_seconds(name: str, repeats: int = 3) -> float:
    """Seconds to turn the first tab's result into its themed Vega-Lite dicts (median of ``repeats``): what a new
    parameter set costs on top of the engine, before the browser draws anything."""
    from stabviz import figures

    module = experiments.load(name)
    params, sec = module.Params(), module.SECTIONS[0]
    result = experiments.run_section(sec, params.project(sec.uses))
    view = figures.load(name).VIEWS[sec.name]

    def build() -> list[dict]:
        return [fig.spec("en") for fig in figures.figures_of(view(result, params, "en")).values()]

    build()  # Altair loads its schema once per process
    return statistics.median(_timed(build)[0] for _ in range(repeats))


def max_chart_rows(name: str) -> int:
    """The most data rows any chart of the page sends to the browser at default params."""
    from stabviz import figures

    module = experiments.load(name)
    params, most = module.Params(), 0
    for sec in module.SECTIONS:
        result = experiments.run_section(sec, params)
        for fig in figures.figures_of(figures.load(name).VIEWS[sec.name](result, params, "en")).values():
            datasets = fig.chart.to_dict().get("datasets", {})
            most = max([most, *(len(rows) for rows in datasets.values())])
    return most
