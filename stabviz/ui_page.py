"""One experiment page: widgets laid out by section, cached engine calls, figures with export buttons."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

import streamlit as st

from stabviz import experiments, export
from stabviz import figures as figs
from stabviz.experiments import Result, Section
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import LANGS, budget_message, has, tr
from stabviz.lesson_ui import follows, left_note, lesson_bar, opens_scene, place_in_url, projected, url_extra
from stabviz.params import ParamsBase, Spec
from stabviz.runtime import GLOBAL_FIELDS, BudgetError
from stabviz.ui import (
    device_caption,
    link,
    open_tab,
    presenting,
    read_params,
    setup,
    show_issues,
    sync_url,
    url_tab,
)

CACHE_ENTRIES = 256  # results kept across all sessions (each a few hundred kB at most)
TRAINED_ENTRIES = 64  # training results kept (a loss curve and per-layer norms each)
WIDGET_PX = 210  # a number widget's width: rows of them wrap (4 a row on a 1400 px screen, 2 on a 1024 px projector)
END_MARKER = "page_end"  # key of the last container a page draws (the browser sees class st-key-page_end)
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


def _placement(name: str, sections: tuple[Section, ...], specs: dict[str, Spec],
               lang: str) -> tuple[Section, Any, dict]:
    """Globals in the sidebar, shared fields above the tabs, the open tab's own fields inside it.

    Returns the open tab's section, its container and the fields' places; only that section runs. On a phone the
    controls' containers come after the figures (ui.PHONE_CSS).
    """
    fields = list(specs)
    owners = {f: [s.name for s in sections if f in s.uses] for f in fields}
    place = {f: st.sidebar for f in fields if f in GLOBAL_FIELDS}
    shared = [f for f in fields if f not in place and len(owners[f]) != 1]
    if shared:
        with st.container(key="controls_shared"):
            st.subheader(tr("common.page.common_controls", lang))
            place |= _grid(shared, specs)
    labels = {lg: {s.name: tr(f"{name}.{s.name}.tab", lg) for s in sections} for lg in LANGS}
    tab, body = open_tab(name, [s.name for s in sections], labels, lang)
    with body:
        _tab_heading(name, tab, lang)
        with st.container(key="controls_tab"):
            place |= _grid([f for f in fields if f not in place and owners[f] == [tab]], specs)
    return next(s for s in sections if s.name == tab), body, place


def _projector_placement(name: str, sections: tuple[Section, ...], lang: str,
                         heading: bool) -> tuple[Section, Any, dict]:
    """The projector view: no controls and no tab bar (every value from the link); the open tab's heading unless
    a lesson's caption says what to look at."""
    tab = url_tab(name, [s.name for s in sections], lang)
    body = st.container()
    if heading:
        with body:
            _tab_heading(name, tab, lang)
    return next(s for s in sections if s.name == tab), body, {}


def _tab_heading(name: str, tab: str, lang: str) -> None:
    with st.container(key="tab_caption"):
        st.subheader(tr(f"{name}.{tab}.title", lang))
        if has(f"{name}.{tab}.intro"):
            st.markdown(tr(f"{name}.{tab}.intro", lang))


def _grid(fields: list[str], specs: dict[str, Spec]) -> dict:
    """Multi-selects and free text get a full-width row each (tags stay readable); the others share rows that
    wrap to the screen's width (fixed columns cut labels and values short on a projector)."""
    wide = [f for f in fields if specs[f].kind is tuple or (specs[f].kind is str and not specs[f].choices)]
    place = {f: st.container() for f in wide}
    narrow = [f for f in fields if f not in wide]
    if narrow:
        row = st.container(horizontal=True)
        place |= {f: row.container(width=WIDGET_PX) for f in narrow}
    return place


def _result(name: str, sec: Section, params: ParamsBase, lang: str) -> Result | None:
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


def experiment_page(name: str) -> None:
    """The whole page of experiment ``name``: one tab per section, only the open one computed; in a lesson, the
    lesson bar above; in the projector view, the figures and the lesson bar only."""
    where, issues = place_in_url()
    lang = setup(name, new_scene=opens_scene(where, name))
    show_issues(issues, lang)
    module, projector = experiments.load(name), presenting()
    if not projector:
        st.title(tr(f"{name}.title", lang))
        st.markdown(tr(f"{name}.intro", lang))
    bar = st.container()  # the lesson bar, or the way back to a scene left; filled once the result is known
    sec, body, place = _projector_placement(name, module.SECTIONS, lang, heading=where is None) if projector else \
        _placement(name, module.SECTIONS, module.Params.specs(), lang)
    params = read_params(name, module.Params, lang, place)
    shown = follows(where, name, sec.name, params)
    tab = None if sec is module.SECTIONS[0] else sec.name
    query = sync_url(params, lang, tab=tab, extra=url_extra(where, shown))
    with body, st.container(key="results"):
        result = _result(name, sec, params, lang)
        if result is not None:
            draw(rendered_blocks(name, sec.name, params, lang, _result=result), lang, projector)
    with bar:
        if shown:
            lesson_bar(where, result, lang)
        else:
            left_note(where, name, lang)
    _sidebar_exports(name, params, link(query), lang)


def page_blocks(name: str, params: ParamsBase, lang: str) -> list[Block]:
    """Every section's blocks, computing what is not cached yet (for the page's zip, on click)."""
    blocks: list[Block] = []
    for sec in experiments.load(name).SECTIONS:
        narrow = params.project(sec.uses)
        try:
            result = trained_section(name, sec, narrow, lambda _: None) if sec.long else \
                cached_section(name, sec.name, narrow)
        except (BudgetError, ValueError, RuntimeError):
            log.exception("section %s/%s left out of the zip", name, sec.name)
            continue
        blocks += rendered_blocks(name, sec.name, params, lang, _result=result)
    return blocks


def _sidebar_exports(name: str, params: ParamsBase, url: str, lang: str) -> None:
    """The shareable link and the zip of every figure on the page (all tabs, rendered on click)."""
    def page_zip() -> bytes:
        blocks = page_blocks(name, params, lang)
        figures = figs.figures_of(blocks)
        charts, captions = {n: f.chart for n, f in figures.items()}, {n: f.caption for n, f in figures.items()}
        return export.page_zip(charts, figs.tables_of(blocks), {"experiment": name, **params.as_dict()}, url, captions)

    with st.sidebar:
        st.divider()
        st.caption(tr("common.page.link", lang))
        st.markdown(f"[{url}]({url})")  # not st.code: its highlighter is slow (bench/README.md)
        st.download_button(tr("common.export.zip", lang), page_zip, f"stabviz_{name}.zip", "application/zip",
                           key="zip", on_click="ignore", icon=":material/folder_zip:")
        with st.container(key=END_MARKER):  # drawn last: browser tests wait for it, then for the charts
            device_caption(lang)
