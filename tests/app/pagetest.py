"""AppTest helpers: open a page the way a browser opens a link (app.py entry, then the page).

Not a conftest: test modules import it by name (`from pagetest import open_page`)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

from stabviz import experiments
from stabviz.figures import MISSING
from stabviz.runtime import GLOBAL_FIELDS
from stabviz.ui import MEMORY

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")  # any Chinese character
TIMEOUT = 120  # torch work inside AppTest on a 2-core machine


def open_page(name: str | None, query: dict[str, str | list[str]] | None = None) -> AppTest:
    """A fresh session opened on ``/name?query`` (``None``: the home page).

    Only the open tab runs and draws: put ``tab=<section>`` in the query to open another than the first.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if name:
        at.switch_page(str(ROOT / "pages" / f"{name}.py"))
        at.run()
    return at


def key(page: str, field: str) -> str:
    """The widget key of a page's field (global fields keep their bare name)."""
    return field if field in ("seed", "device", "dtype", "lang") else f"{page}__{field}"


def value(at: AppTest, page: str, field: str):
    """The value the page ran with for ``field``, whether or not its widget is drawn (closed tabs draw none)."""
    got = at.session_state[MEMORY][key(page, field)]
    return list(got) if isinstance(got, tuple) else got


def tab_of(page: str, field: str) -> str | None:
    """The tab (section) whose widget shows ``field``; None for shared and global fields (always drawn)."""
    owners = [s.name for s in experiments.load(page).SECTIONS if field in s.uses]
    return owners[0] if len(owners) == 1 and field not in GLOBAL_FIELDS else None


def problems(at: AppTest) -> list[str]:
    """Exceptions and error boxes on the page: both must be absent."""
    return [e.value for e in at.exception] + [e.value for e in at.error]


def charts(at: AppTest) -> list[dict]:
    """The Vega-Lite specs drawn on the page."""
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def chart_index(at: AppTest, title_part: str) -> int:
    """Index of the first chart whose title contains ``title_part``."""
    return next(i for i, c in enumerate(charts(at)) if title_part in str(c.get("title")))


def chart_rows(at: AppTest, index: int) -> list[dict]:
    """Every data row sent to the browser for chart ``index`` (all its layers' datasets)."""
    proto = at.get("vega_lite_chart")[index].proto
    rows = [row for ds in json.loads(proto.spec).get("datasets", {}).values() for row in ds]
    for ds in proto.datasets:  # data Streamlit moved out of the spec as Arrow
        rows += pa.ipc.open_stream(ds.data.data).read_all().to_pylist()
    return rows


def open_tabs(page: str, query: dict[str, str | list[str]] | None = None) -> dict[str, AppTest]:
    """Each tab of ``page`` opened from the same link in a fresh session, by section name.

    The first tab is opened the way the plain link opens it (no ``tab=``), the others with ``tab=<section>``.
    """
    names = [s.name for s in experiments.load(page).SECTIONS]
    return {n: open_page(page, {**(query or {}), **({"tab": n} if i else {})}) for i, n in enumerate(names)}


def table(at: AppTest, index: int = 0) -> pd.DataFrame:
    """The page's ``index``-th table with its numbers parsed back (the page shows floats as text, MISSING if
    missing)."""
    df = at.dataframe[index].value
    return df.assign(**{c: _numbers(df[c]) for c in df.columns if pd.api.types.is_string_dtype(df[c])})


def _numbers(col: pd.Series) -> pd.Series:
    try:
        return pd.Series([math.nan if t == MISSING else float(t) for t in col], index=col.index, dtype=float)
    except (ValueError, TypeError):
        return col  # a text column
