"""A tab's results on a page: the caches shared by every session, and drawing blocks with their export buttons."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import streamlit as st

from stabviz import experiments, export
from stabviz import figures as figs
from stabviz.experiments import Result, Section
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import budget_message, tr
from stabviz.lesson_ui import projected
from stabviz.params import ParamsBase
from stabviz.runtime import BudgetError

CACHE_ENTRIES = 256  # results kept across all sessions (each a few hundred kB at most)
TRAINED_ENTRIES = 64  # training results kept (a loss curve and per-layer norms each)
log = logging.getLogger(__name__)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_section(name: str, section: str, params: ParamsBase) -> Result:
    """One quick section's result, cached by its projected params (shared by all sessions)."""
    sec = {s.name: s for s in experiments.load(name).SECTIONS}[section]
    return experiments.run_section(sec, params)


_TRAINED: OrderedDict[tuple, Result] = OrderedDict()  # training results, least recently used first
_TRAINED_LOCK = threading.Lock()


def trained_section(name: str, sec: Section, params: ParamsBase, progress: Callable[[float], None]) -> Result:
    """A training section's result from a bounded LRU cache shared by all sessions.

    Not st.cache_data: it records the progress-bar calls made inside and fails replaying them on a
    hit. A rerun interrupts the training inside ``progress`` (Streamlit raises there), so a cancelled
    run stores nothing.
    """
    key = (name, sec.name, params)
    with _TRAINED_LOCK:
        if key in _TRAINED:
            _TRAINED.move_to_end(key)
            return _TRAINED[key]
    result = experiments.run_section(sec, params, progress)
    with _TRAINED_LOCK:
        _TRAINED[key] = result
        while len(_TRAINED) > TRAINED_ENTRIES:
            _TRAINED.popitem(last=False)
    return result


def cached_run(name: str, sec: Section, params: ParamsBase) -> Result:
    """A section's result through the shared caches, with no progress shown (a sweep's point, the zip's tabs)."""
    narrow = params.project(sec.uses)
    return trained_section(name, sec, narrow, lambda _: None) if sec.long else cached_section(name, sec.name, narrow)


def result_of(name: str, sec: Section, params: ParamsBase, lang: str) -> Result | None:
    """The cached result, or None after showing why it was refused or failed."""
    narrow = params.project(sec.uses)
    try:
        if not sec.long:
            return cached_section(name, sec.name, narrow)
        bar = st.progress(0.0, text=tr("common.page.running", lang))
        result = trained_section(name, sec, narrow, lambda f: bar.progress(min(1.0, max(0.0, f))))
        bar.empty()
        return result
    except BudgetError as err:
        st.error(tr("common.page.refused", lang, message=budget_message(err, lang)), icon=":material/block:")
    except (ValueError, RuntimeError) as err:  # engine refusals; numerics never raise
        log.exception("section %s/%s failed", name, sec.name)
        st.error(tr("common.page.refused", lang, message=str(err)), icon=":material/block:")
    return None


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def rendered_blocks(name: str, section: str, params: ParamsBase, lang: str, _result: Result) -> list[Block]:
    """A section's blocks with every chart already a themed Vega-Lite dict (the slow part), cached.

    ``_result`` is not hashed: it is determined by (name, section, params), which are.
    """
    blocks = figs.load(name).VIEWS[section](_result, params, lang)
    return [Figure(b.name, b.spec(lang), b.caption) if isinstance(b, Figure) else b for b in blocks]


def draw(blocks: list[Block], lang: str, projector: bool = False) -> None:
    """Markdown, charts with PNG/SVG buttons, tables with a CSV button; on a projector, large charts and no buttons."""
    for block in blocks:
        if isinstance(block, Figure):
            _figure(block, lang, projector)
        elif isinstance(block, Table):
            _table(block, lang, projector)
        else:
            st.markdown(block)


def _table(table: Table, lang: str, projector: bool) -> None:
    shown, numbers = table.shown()
    st.dataframe(shown, hide_index=True,
                 column_config={c: st.column_config.TextColumn(alignment="right") for c in numbers})
    if table.caption:
        st.caption(table.caption)
    if not projector:
        st.download_button(tr("common.export.csv", lang), partial(table.df.to_csv, index=False),
                           f"{table.name}.csv", "text/csv", key=f"csv_{table.name}", on_click="ignore",
                           icon=":material/download:")


def _figure(fig: Figure, lang: str, projector: bool) -> None:
    spec = projected(fig.chart) if projector else fig.chart
    st.vega_lite_chart(spec, width="stretch", theme=None)
    if fig.caption:
        st.caption(fig.caption)
    if projector:
        return
    buttons = st.container(horizontal=True)  # each button as wide as its label (fixed columns cut it on a projector)
    buttons.download_button(tr("common.export.png", lang), lambda: export.to_png(spec), f"{fig.name}.png",
                            "image/png", key=f"png_{fig.name}", on_click="ignore", icon=":material/download:")
    buttons.download_button(tr("common.export.svg", lang), lambda: export.to_svg(spec), f"{fig.name}.svg",
                            "image/svg+xml", key=f"svg_{fig.name}", on_click="ignore", icon=":material/download:")
