"""Pin and overlay on a page: the pins' bar (pin, rename, remove, clear) and the tab drawn with every run.

The pins are a page's whole settings, kept in the session (they survive page switches) and written into the link
as their differences from the live setting (:mod:`stabviz.pins`).
"""

from __future__ import annotations

import streamlit as st

from stabviz import comparison
from stabviz.experiments import Result, Section
from stabviz.figures import Block
from stabviz.i18n import tr
from stabviz.params import ParamsBase
from stabviz.pins import PINS_KEY, Pin, next_letter, parse_pins
from stabviz.ui import FRESH, memory, show_issues
from stabviz.ui_results import rendered_blocks, result_of

MEMO_KEY, MEMO = "_stabviz_runs", 5  # session key of the open tab's runs; at most the live run and four pins


def _key(page: str) -> str:
    return f"{page}__{PINS_KEY}"


def read_pins(page: str, live: ParamsBase, lang: str, new_scene: bool) -> list[Pin]:
    """The page's pins: from the link when the page opens with one, else the session's (a scene opens none)."""
    if st.session_state.get(FRESH, True) and (PINS_KEY in st.query_params or new_scene):
        raw = {k: st.query_params.get_all(k) for k in st.query_params}
        pins, issues = parse_pins({k: v[0] if len(v) == 1 else v for k, v in raw.items()}, live)
        show_issues(issues, lang)
        memory()[_key(page)] = pins
        for pin in pins:
            st.session_state[f"{_key(page)}_name_{pin.id}"] = pin.name
    return list(memory().get(_key(page), []))


def pin_bar(page: str, live: ParamsBase, pins: list[Pin], lang: str) -> None:
    """Pin the live setting (A to D), and each pin's name field and remove button; clear all."""
    letter = next_letter(pins)
    with st.container(key="pin_bar", horizontal=True):
        st.button(tr("common.compare.pin", lang, letter=letter or "—"), key="pin_add", disabled=letter is None,
                  on_click=_add, args=(page, letter, live), icon=":material/push_pin:",
                  help=tr("common.compare.pin_help", lang))
        for pin in pins:
            with st.popover(pin.id + (f" ({pin.name})" if pin.name else ""), icon=":material/push_pin:"):
                st.text_input(tr("common.compare.name", lang), key=f"{_key(page)}_name_{pin.id}", max_chars=40,
                              on_change=_rename, args=(page, pin.id))
                st.button(tr("common.compare.remove", lang), key=f"pin_remove_{pin.id}", on_click=_remove,
                          args=(page, pin.id), icon=":material/close:")
        if pins:
            st.button(tr("common.compare.clear", lang), key="pin_clear", on_click=_clear, args=(page,),
                      icon=":material/clear_all:")


def _add(page: str, letter: str, live: ParamsBase) -> None:
    memory()[_key(page)] = [*memory().get(_key(page), []), Pin(letter, live)]
    st.session_state[f"{_key(page)}_name_{letter}"] = ""


def _rename(page: str, letter: str) -> None:
    name = str(st.session_state.get(f"{_key(page)}_name_{letter}", "")).strip()
    memory()[_key(page)] = [Pin(p.id, p.params, name) if p.id == letter else p for p in memory().get(_key(page), [])]


def _remove(page: str, letter: str) -> None:
    memory()[_key(page)] = [p for p in memory().get(_key(page), []) if p.id != letter]


def _clear(page: str) -> None:
    memory()[_key(page)] = []


def tab_blocks(page: str, section: Section, live: ParamsBase, pins: list[Pin],
               lang: str) -> tuple[list[Block], Result | None]:
    """The open tab's blocks, every pinned run that differs on it drawn beside the live one (says which were not),
    and the live run's result."""
    plan = comparison.plan(page, section, live, pins, lang)
    if plan.over:
        st.warning(tr("common.compare.over_budget", lang, pins=", ".join(plan.over)), icon=":material/block:")
    if plan.same:
        st.caption(tr("common.compare.same_here", lang, pins=", ".join(plan.same)))
    memo = _memo(page, section.name, lang)
    def run(p: ParamsBase) -> Result | None:
        key = ("result", p.project(section.uses))
        if key not in memo:
            result = result_of(page, section, p, lang)
            if result is None:  # a refusal says why on every run: not remembered
                return None
            memo[key] = result
        return memo[key]

    def render(p: ParamsBase, result: Result) -> list[Block]:
        key = ("blocks", p)
        if key not in memo:
            memo[key] = rendered_blocks(page, section.name, p, lang, _result=result)
        return memo[key]

    return comparison.blocks(page, section, plan, lang, run, render)


def _memo(page: str, section: str, lang: str) -> dict:
    """This session's runs of one tab, by setting: the shared caches are asked once per run, not on every rerun
    (each hit hashes its key and unpickles a copy: 3 ms a pin, measured in bench/README.md). At most MEMO runs."""
    memos = st.session_state.setdefault(MEMO_KEY, {})
    memo = memos.setdefault((page, section, lang), {})
    if len(memos) > 1:  # another tab or page: the old one's runs are dropped
        for key in [k for k in memos if k != (page, section, lang)]:
            del memos[key]
    while len(memo) > 2 * MEMO:
        memo.pop(next(iter(memo)))
    return memo
