"""A tab compared across runs: which pinned runs it draws, and its blocks with every run in them.

Shared by the page, its zip and ``python -m stabviz export``: each passes how it runs a setting (through the page's
caches, or directly) and how it renders a result, so a comparison exports exactly as the page shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stabviz.experiments import Result, Section
from stabviz.figures import Block
from stabviz.figures import compare as fc
from stabviz.i18n import tr
from stabviz.params import ParamsBase
from stabviz.pins import Pin, changed, differing, within_budget

Run = Callable[[ParamsBase], Result | None]  # a setting's result (None: refused, already said why)
Render = Callable[[ParamsBase, Result], list[Block]]  # a result's blocks, charts as themed Vega-Lite dicts


@dataclass
class Plan:
    """The runs a tab draws: the live one first, then each pin that differs on this tab and fits the budget."""

    names: list[str]  # the runs' legend names ("live: depth 100", "A (deep): depth 50")
    titles: list[str]  # their short names, the tables' columns ("live", "A (deep)")
    runs: list[ParamsBase]
    same: list[str] = field(default_factory=list)  # pins equal to the live run on this tab (not drawn twice)
    over: list[str] = field(default_factory=list)  # pins left out: all runs together would exceed the budget


def plan(page: str, section: Section, live: ParamsBase, pins: Sequence[Pin], lang: str) -> Plan:
    """Which runs to draw on ``section``, and their names by what differs on it."""
    uses = section.uses
    kept = [p for p in pins if live.project(uses) != p.params.project(uses)]
    fits = within_budget([section.work(r.params.project(uses)) for r in [Pin("", live), *kept]]) - 1
    runs = [live, *(p.params for p in kept[:fits])]
    names = [fc.run_label(page, fc.live_name(lang), live, differing(runs, uses), lang)]
    names += [fc.run_label(page, _title(p), p.params, changed(live, p.params, uses), lang) for p in kept[:fits]]
    titles = [fc.live_name(lang), *(_title(p) for p in kept[:fits])]
    return Plan(names, titles, runs,
                same=[_title(p) for p in pins if p not in kept], over=[_title(p) for p in kept[fits:]])


def _title(pin: Pin) -> str:
    return f"{pin.id} ({pin.name})" if pin.name else pin.id


def blocks(page: str, section: Section, the_plan: Plan, lang: str, run: Run,
           render: Render) -> tuple[list[Block], Result | None]:
    """The tab's blocks with every planned run drawn in its figures, then what differs and the findings per run;
    and the live run's result (None: refused)."""
    results = [run(p) for p in the_plan.runs]
    if results[0] is None:
        return [], None
    done = [(n, t, p, r) for n, t, p, r in zip(the_plan.names, the_plan.titles, the_plan.runs, results, strict=True)
            if r is not None]
    names, titles, runs, results = ([d[i] for d in done] for i in range(4))
    drawn = [render(p, r) for p, r in zip(runs, results, strict=True)]
    if len(runs) == 1:
        return drawn[0], results[0]
    out = fc.combined(drawn, names, lang)
    out.append(f"#### {tr('common.compare.heading', lang)}")
    out.append(fc.differences(page, runs, titles, section.uses, lang))
    if section.findings:
        out.append(fc.findings(page, section, results, titles, lang))
    return out, results[0]
