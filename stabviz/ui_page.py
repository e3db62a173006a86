"""One experiment page: widgets laid out by section, cached engine calls, figures with export buttons."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from stabviz import comparison, experiments, export, sweep_ui
from stabviz import figures as figs
from stabviz.compare_ui import pin_bar, read_pins, tab_blocks
from stabviz.experiments import Section
from stabviz.figures import Block
from stabviz.i18n import LANGS, has, tr
from stabviz.lesson_ui import follows, left_note, lesson_bar, opens_scene, place_in_url, url_extra
from stabviz.params import ParamsBase, Spec
from stabviz.pins import Pin, pin_query
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
from stabviz.ui_results import cached_run, draw, rendered_blocks

WIDGET_PX = 210  # a number widget's width: rows of them wrap (4 a row on a 1400 px screen, 2 on a 1024 px projector)
END_MARKER = "page_end"  # key of the last container a page draws (the browser sees class st-key-page_end)
log = logging.getLogger(__name__)


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


def experiment_page(name: str) -> None:
    """The whole page of experiment ``name``: one tab per section, only the open one computed; in a lesson, the
    lesson bar above; in the projector view, the figures and the lesson bar only."""
    where, issues = place_in_url()
    new_scene = opens_scene(where, name)
    lang = setup(name, new_scene=new_scene)
    show_issues(issues, lang)
    module, projector = experiments.load(name), presenting()
    if not projector:
        st.title(tr(f"{name}.title", lang))
        st.markdown(tr(f"{name}.intro", lang))
    bar = st.container()  # the lesson bar, or the way back to a scene left; filled once the result is known
    sec, body, place = _projector_placement(name, module.SECTIONS, lang, heading=where is None) if projector else \
        _placement(name, module.SECTIONS, module.Params.specs(), lang)
    params = read_params(name, module.Params, lang, place)
    pins = read_pins(name, params, lang, new_scene)
    with body:
        if not projector:
            pin_bar(name, params, pins, lang)
        sweep = sweep_ui.read_sweep(name, sec, params, lang, controls=not projector)
    shown = follows(where, name, sec.name, params)
    tab = None if sec is module.SECTIONS[0] else sec.name
    extra = {**url_extra(where, shown), **pin_query(pins, params), **sweep_ui.query(sweep, params)}
    query = sync_url(params, lang, tab=tab, extra=extra)
    with body, st.container(key="results"):
        blocks, result = tab_blocks(name, sec, params, pins, lang)
        draw(blocks, lang, projector)
        if sweep is not None:
            with st.container(key="sweep"):
                sweep_ui.show(name, sec, params, sweep, lang, projector)
    with bar:
        if shown:
            lesson_bar(where, result, lang)
        else:
            left_note(where, name, lang)
    _sidebar_exports(name, params, pins, link(query), lang)


def page_blocks(name: str, params: ParamsBase, pins: list[Pin], lang: str) -> list[Block]:
    """Every section's blocks, each compared across the pins, computing what is not cached yet (the zip, on click)."""
    blocks: list[Block] = []
    for sec in experiments.load(name).SECTIONS:
        plan = comparison.plan(name, sec, params, pins, lang)
        try:
            blocks += comparison.blocks(name, sec, plan, lang, lambda p, s=sec: cached_run(name, s, p),
                                        lambda p, r, s=sec: rendered_blocks(name, s.name, p, lang, _result=r))[0]
        except (BudgetError, ValueError, RuntimeError):
            log.exception("section %s/%s left out of the zip", name, sec.name)
    return blocks


def _sidebar_exports(name: str, params: ParamsBase, pins: list[Pin], url: str, lang: str) -> None:
    """The shareable link and the zip of every figure on the page (all tabs, rendered on click)."""
    def page_zip() -> bytes:
        blocks = page_blocks(name, params, pins, lang)
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
