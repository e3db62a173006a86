"""What a page shows for each section: figures (Altair charts), tables and notes.

A figures module ``stabviz.figures.<name>`` defines ``VIEWS``: section name ->
``view(result, params, lang) -> list[Block]``. The page and ``python -m stabviz export``
both call these, so a slide exported from the CLI is the figure the page shows.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import altair as alt
import pandas as pd

from stabviz.charts import themed
from stabviz.experiments import Result
from stabviz.params import ParamsBase


@dataclass(frozen=True)
class Figure:
    """A chart with a file-name stem and a caption saying what to see."""

    name: str  # file stem, e.g. "activations_chain"
    chart: alt.TopLevelMixin | dict  # un-themed (see :meth:`spec`); the page caches its themed dict here
    caption: str = ""

    def spec(self, lang: str) -> dict:
        """The themed Vega-Lite dict: what the page draws and the exports render (a dict is one already)."""
        return self.chart if isinstance(self.chart, dict) else themed(self.chart, lang)


@dataclass(frozen=True)
class Table:
    """A small table shown on the page and written as CSV into the zip."""

    name: str
    df: pd.DataFrame  # the numbers as computed (the CSV)
    caption: str = ""

    def shown(self) -> tuple[pd.DataFrame, list[str]]:
        """The table as the page shows it, and its number columns: floats as text to 5 significant digits (4.123e-31,
        65504, 1e+30, inf; "—" where missing). The browser's grid would write 4e-31 as 0.000…04, 1e+30 as an error."""
        floats = list(self.df.select_dtypes("float").columns)
        return self.df.assign(**{c: [_text(v) for v in self.df[c]] for c in floats}), floats


MISSING = "—"  # a table's missing value as shown (Streamlit would write "None")


def _text(v: float) -> str:
    return MISSING if math.isnan(v) else f"{v:.5g}"


Block = Figure | Table | str  # a str is Markdown text
View = Callable[[Result, ParamsBase, str], list[Block]]


def load(name: str) -> ModuleType:
    """The figures module of experiment ``name``."""
    return importlib.import_module(f"stabviz.figures.{name}")


def figures_of(blocks: list[Block]) -> dict[str, Figure]:
    """The figures among a page's blocks, by name."""
    return {b.name: b for b in blocks if isinstance(b, Figure)}


def tables_of(blocks: list[Block]) -> dict[str, pd.DataFrame]:
    """The tables among a page's blocks, by name."""
    return {b.name: b.df for b in blocks if isinstance(b, Table)}
