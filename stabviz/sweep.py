"""Sweep any knob: one of a tab's findings measured at many values of one of its parameters.

A sweep is written ``std:0.1:10:log:21`` (knob, low, high, lin or log, points) in a link and
``std=0.1:10:log:21`` on the command line; a choice or on/off knob takes all its values (``activation``).
Each point is an ordinary run of the tab, so the page's caches serve points already computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stabviz.experiments import Finding, Progress, Result, Section
from stabviz.params import ParamIssue, ParamsBase, Reason, Spec, coerce, to_text
from stabviz.runtime import WORK_BUDGET, check_budget
from stabviz.states import state_of

SCALES = ("lin", "log")
MAX_POINTS = 32  # most points a sweep may ask for
DEFAULT_POINTS = 9
SWEEP_BUDGET = 8 * WORK_BUDGET  # a whole sweep's work (about 10-25 s here), checked before its first point
NOT_KNOBS = ("device",)  # where a run computes is not a knob of the experiment
KEY, FINDING_KEY = "sweep", "finding"  # URL keys


@dataclass(frozen=True)
class Sweep:
    """One knob's values and the finding plotted against them (a choice knob: all its values)."""

    knob: str  # a parameter the tab uses
    finding: str  # a declared finding's name (a family without its "_*")
    lo: float = 0.0  # numeric knobs: the range, inclusive
    hi: float = 0.0
    scale: str = "lin"  # "lin" or "log" spacing
    points: int = DEFAULT_POINTS

    def text(self, spec: Spec) -> str:
        """As a link writes it: ``std:0.1:10:log:21``, or the knob alone for a choice."""
        if not _numeric(spec):
            return self.knob
        return f"{self.knob}:{to_text(self.lo)}:{to_text(self.hi)}:{self.scale}:{self.points}"

    def values(self, spec: Spec) -> list[Any]:
        """The knob's values, in order (whole numbers rounded and repeats dropped)."""
        if not _numeric(spec):
            return [False, True] if spec.kind is bool else list(spec.choices)
        grid = np.geomspace(self.lo, self.hi, self.points) if self.scale == "log" else \
            np.linspace(self.lo, self.hi, self.points)
        return list(dict.fromkeys(int(round(v)) for v in grid)) if spec.kind is int else [float(v) for v in grid]


def _numeric(spec: Spec) -> bool:
    return spec.kind in (int, float)


def knobs(cls: type[ParamsBase], section: Section) -> dict[str, Spec]:
    """The parameters a tab's sweep may vary: its numbers, choices and switches (not multi-choices or text)."""
    specs = cls.specs()
    return {f: specs[f] for f in section.uses if f not in NOT_KNOBS and
            (_numeric(specs[f]) or specs[f].kind is bool or (specs[f].kind is str and specs[f].choices))}


def finding_of(section: Section, name: str) -> Finding | None:
    """The tab's declared finding called ``name``, if any."""
    return next((f for f in section.findings if f.name == name), None)


def parse(text: str, finding: str, cls: type[ParamsBase], section: Section) -> tuple[Sweep | None, list[ParamIssue]]:
    """A sweep from untrusted text; None (with an issue) when its knob or finding is not the tab's."""
    name, _, rest = text.replace("=", ":", 1).partition(":")
    allowed = knobs(cls, section)
    if name.strip() not in allowed:
        return None, [ParamIssue(KEY, text[:40], "", Reason.of("not_choice", allowed=", ".join(allowed)))]
    if finding_of(section, finding) is None:
        names = ", ".join(f.name for f in section.findings)
        return None, [ParamIssue(FINDING_KEY, finding[:40], "", Reason.of("not_choice", allowed=names))]
    spec = allowed[name.strip()]
    sweep = Sweep(name.strip(), finding)
    return _ranged(sweep, spec, rest.split(":")) if _numeric(spec) else (sweep, [])


def _ranged(sweep: Sweep, spec: Spec, parts: list[str]) -> tuple[Sweep, list[ParamIssue]]:
    """The range, scale and points of a numeric sweep, each clamped like a parameter (named sweep.lo, ...)."""
    issues: list[ParamIssue] = []
    fields = {"lo": Spec(float, float(spec.lo), spec.lo, spec.hi), "hi": Spec(float, float(spec.hi), spec.lo, spec.hi),
              "scale": Spec(str, "lin", choices=SCALES), "points": Spec(int, DEFAULT_POINTS, 2, MAX_POINTS)}
    values = {}
    for (field, fspec), raw in zip(fields.items(), parts + [""] * len(fields), strict=False):
        values[field], reason = coerce(fspec, raw) if raw.strip() else (fspec.default, None)
        if reason is not None:
            issues.append(ParamIssue(f"{KEY}.{field}", raw[:40], values[field], reason))
    lo, hi = sorted((values["lo"], values["hi"]))
    if values["scale"] == "log" and lo <= 0:
        issues.append(ParamIssue(f"{KEY}.scale", "log", "lin", Reason.of("log_needs_positive")))
        values["scale"] = "lin"
    return dataclasses.replace(sweep, lo=lo, hi=hi, scale=values["scale"], points=values["points"]), issues


def settings(params: ParamsBase, sweep: Sweep) -> list[ParamsBase]:
    """One setting per knob value: the live one with the knob replaced."""
    spec = params.specs()[sweep.knob]
    return [dataclasses.replace(params, **{sweep.knob: v}) for v in sweep.values(spec)]


def check(section: Section, points: Sequence[ParamsBase], budget: float = SWEEP_BUDGET) -> None:
    """Refuse a sweep whose points together exceed the budget, before any runs (each point is also a tab's run)."""
    for p in points:
        check_budget(section.work(p.project(section.uses)))
    check_budget(sum(section.work(p.project(section.uses)) for p in points), budget)


def run(section: Section, points: Sequence[ParamsBase], sweep: Sweep,
        run_point: Callable[[ParamsBase], Result], progress: Progress | None = None) -> pd.DataFrame:
    """The finding (and its theory) at every point, tidy: value, series, kind (measured/theory), y, state."""
    check(section, points)
    finding = finding_of(section, sweep.finding)
    rows = []
    for i, p in enumerate(points):
        findings = run_point(p).findings
        for series, y in finding.series(findings).items():
            if not is_number(y):
                continue
            rows.append((getattr(p, sweep.knob), series, "measured", y))
            theory = finding.theory_of(findings, series)
            if theory is not None:
                rows.append((getattr(p, sweep.knob), series, "theory", theory))
        if progress:
            progress((i + 1) / len(points))
    df = pd.DataFrame(rows, columns=["value", "series", "kind", "y"]).astype({"y": float})
    return df.assign(state=state_of(df["y"]))


def is_number(value: Any) -> bool:
    """Whether a finding's value can be plotted (a number, inf and nan included; not a bool)."""
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)
