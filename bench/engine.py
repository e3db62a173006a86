"""Engine timings per page at default params: cold (computed), warm (cache hit), training apart."""

from __future__ import annotations

import dataclasses
import time
import warnings

from stabviz import experiments


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def engine_times(name: str, device: str = "auto") -> dict[str, float]:
    """Cold = computed (the tab a link opens first, and all quick tabs); warm = a cache hit; training apart."""
    from stabviz.ui_page import cached_section, trained_section  # st.cache_data works in bare mode too

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
