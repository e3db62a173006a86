"""What a comparison adds to a tab: the runs' names, their figures combined, and tables of what differs.

The runs' figures are the page's own (rendered once per run and cached); :mod:`stabviz.overlay` combines them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from stabviz import overlay
from stabviz.experiments import Finding, Result, Section
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import choice_label, param_label, tr
from stabviz.params import ParamsBase, to_text
from stabviz.pins import LIVE, differing


def value_text(page: str, params: ParamsBase, field: str, lang: str) -> str:
    """A value as a person reads it: a number as in links, a choice by its display name, a switch on/off."""
    spec, value = params.specs()[field], getattr(params, field)
    if spec.kind is bool:
        return tr(f"common.compare.{'on' if value else 'off'}", lang)
    if spec.kind is tuple:
        return ", ".join(choice_label(spec.vocab, v, lang) for v in value)
    return choice_label(spec.vocab, value, lang) if spec.choices else to_text(value)


def run_label(page: str, run: str, params: ParamsBase, fields: Sequence[str], lang: str) -> str:
    """A run named by its values of ``fields`` (what differs): "A: depth 50, float16"."""
    said = [value_text(page, params, f, lang) if params.specs()[f].choices else
            f"{param_label(page, f, lang)} {value_text(page, params, f, lang)}" for f in fields]
    return f"{run}: {', '.join(said)}" if said else f"{run}: {tr('common.compare.same', lang)}"


def combined(runs: Sequence[list[Block]], labels: Sequence[str], lang: str) -> list[Block]:
    """The live run's blocks with each figure drawn for every run (a run lacking a figure is left out of it)."""
    out: list[Block] = []
    for block in runs[0]:
        if not isinstance(block, Figure):
            out.append(block)
            continue
        same = [(next((b for b in r if isinstance(b, Figure) and b.name == block.name), None), lbl)
                for r, lbl in zip(runs, labels, strict=True)]
        same = [(b, lbl) for b, lbl in same if b is not None]
        chart = overlay.combine([b.chart for b, _ in same], [lbl for _, lbl in same], tr("common.compare.runs", lang))
        out.append(Figure(block.name, chart, block.caption))
    return out


def differences(page: str, runs: Sequence[ParamsBase], names: Sequence[str], fields: Sequence[str],
                lang: str) -> Table:
    """The parameters in which the runs differ: one row per parameter, one column per run."""
    diff = differing(runs, fields)
    rows = {tr("common.compare.parameter", lang): [param_label(page, f, lang) for f in diff]}
    for run, params in zip(names, runs, strict=True):
        rows[run] = [value_text(page, params, f, lang) for f in diff]
    return Table(f"{page}_compare_parameters", pd.DataFrame(rows), tr("common.compare.parameters_caption", lang))


def findings(page: str, section: Section, results: Sequence[Result], names: Sequence[str], lang: str) -> Table:
    """The tab's declared findings per run, with each pin's difference from the live run."""
    cols: dict[str, list[Any]] = {tr("common.compare.finding", lang): []}
    cols |= {n: [] for n in names} | {tr("common.compare.minus", lang, run=n): [] for n in names[1:]}
    for finding in section.findings:
        for series in finding.series(results[0].findings):
            cols[tr("common.compare.finding", lang)].append(finding_label(page, finding, series, lang))
            values = [_number(finding.series(r.findings).get(series)) for r in results]
            for n, v in zip(names, values, strict=True):
                cols[n].append(v)
            for n, v in zip(names[1:], values[1:], strict=True):
                cols[tr("common.compare.minus", lang, run=n)].append(v - values[0])
    return Table(f"{page}_{section.name}_compare_findings", pd.DataFrame(cols),
                 tr("common.compare.findings_caption", lang, live=live_name(lang)))


def finding_label(page: str, finding: Finding, series: str, lang: str) -> str:
    """A finding's axis title, with its series ("first diverging lr · sgd")."""
    label = tr(f"{page}.finding.{finding.name}.label", lang)
    return f"{label} · {series}" if series else label


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def live_name(lang: str) -> str:
    """The live run's name in this language."""
    return tr(f"common.compare.{LIVE}", lang)
