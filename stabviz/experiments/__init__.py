"""Experiment registry and the contract every experiment module follows.

:data:`PAGES` is the one list of experiments: page order, URL paths, CLI names, and each page's icon.
Adding a page adds its line here, ``stabviz/experiments/<name>.py``, ``stabviz/figures/<name>.py``,
``stabviz/locales/<name>.toml`` and a 5-line ``pages/<name>.py`` (a test checks ``pages/`` agrees).

An experiment module defines ``Params`` (a :class:`~stabviz.params.ParamsBase`) and
``SECTIONS``: each section is a pure function from (projected) params to a :class:`Result`,
with the fields it reads (its cache key) and an estimate of its work (its budget check).
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pandas as pd

from stabviz.params import ParamsBase
from stabviz.runtime import check_budget

PAGES = {  # name (URL path, CLI name, module name) -> Material icon, drawn by Streamlit's font (no emoji font needed)
    "activations": ":material/show_chart:",
    "initialization": ":material/casino:",
    "deep_mlp": ":material/layers:",
    "recurrent": ":material/repeat:",
    "normalization": ":material/balance:",
    "optimizers": ":material/explore:",
    "newton": ":material/my_location:",
    "loss_pairing": ":material/link:",
    "mixed_precision": ":material/memory:",
}
NAMES = tuple(PAGES)  # in page order

Progress = Callable[[float], None]  # called with the fraction done, 0..1


@dataclass
class Result:
    """Named tidy DataFrames plus a few scalar findings."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: Result) -> Result:
        """Both results in one (names must not clash)."""
        return Result({**self.tables, **other.tables}, {**self.findings, **other.findings})


@dataclass(frozen=True)
class Finding:
    """A scalar finding that a sweep can plot and a comparison lists, with the finding holding its theory's value.

    ``key`` names it in ``Result.findings``; a key ending in ``_*`` is a family, one series per matching key
    (``first_diverging_lr_*``: one per optimizer). Its label and one-line meaning are ``<page>.finding.<key>``
    in the locale files (the ``_*`` dropped).
    """

    key: str
    theory: str | None = None  # the theory's key for the same params, if the mathematics gives one ('*': the series)

    def series(self, findings: dict[str, Any]) -> dict[str, Any]:
        """The measured values this finding names in ``findings``: {series name ('' for a single one): value}."""
        if not self.key.endswith("_*"):
            return {"": findings[self.key]} if self.key in findings else {}
        stem = self.key[:-1]
        return {k[len(stem):]: v for k, v in findings.items()
                if k.startswith(stem) and not (self.theory and fnmatch.fnmatchcase(k, self.theory))}

    def theory_of(self, findings: dict[str, Any], series: str = "") -> Any:
        """The theory's value for one series, or None where there is none."""
        return findings.get(self.theory.replace("*", series)) if self.theory else None

    @property
    def name(self) -> str:
        """The key without a family's ``_*``: its locale name and its name in links and the CLI."""
        return self.key.removesuffix("_*")


@dataclass(frozen=True)
class Section:
    """One part of a page: a pure run function, the params it reads, and its cost."""

    name: str  # key; also the locale prefix of its title and text
    run: Callable[..., Result]  # run(params, progress=None) -> Result
    uses: tuple[str, ...]  # the fields it reads; the rest are reset to defaults (cache key)
    work: Callable[[Any], float] = lambda p: 0.0  # estimated multiply-adds, checked before running
    long: bool = False  # a training run: the page shows a progress bar
    findings: tuple[Finding, ...] = ()  # the scalar findings offered to sweeps and listed per pinned run


def load(name: str) -> ModuleType:
    """The experiment module called ``name``; KeyError with the choices if unknown."""
    if name not in PAGES:
        raise KeyError(f"unknown experiment {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"stabviz.experiments.{name}")


def run_section(section: Section, params: ParamsBase, progress: Progress | None = None) -> Result:
    """Check the budget, then run one section on its projected params."""
    narrow = params.project(section.uses)
    check_budget(section.work(narrow))
    return section.run(narrow, progress) if section.long else section.run(narrow)


def run(name: str, params: ParamsBase, progress: Progress | None = None) -> Result:
    """Every section of an experiment, merged (what the CLI prints)."""
    result = Result()
    for section in load(name).SECTIONS:
        result = result.merge(run_section(section, params, progress))
    return result
