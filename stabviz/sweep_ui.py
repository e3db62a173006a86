"""Sweep on a page: the open tab's sweep settings (knob, range, points, finding), and the sweep drawn below it.

The settings live in the link (``sweep=std:0.1:10:log:21&finding=flow_factor_per_layer``); each point runs through
the page's caches, so a rerun (a cancel) keeps the points done and a sweep seen before comes back at once.
"""

from __future__ import annotations

import streamlit as st

from stabviz import sweep as sw
from stabviz.experiments import Section
from stabviz.figures import Figure, sweep_plot
from stabviz.i18n import budget_message, param_label, tr
from stabviz.params import ParamsBase, Spec
from stabviz.runtime import BudgetError
from stabviz.ui import FRESH, show_issues
from stabviz.ui_results import cached_run, draw


def _k(page: str, section: Section, field: str) -> str:
    return f"{page}__{section.name}__sweep_{field}"


def read_sweep(page: str, section: Section, params: ParamsBase, lang: str, controls: bool) -> sw.Sweep | None:
    """The tab's sweep, or None: the link's when the page opens with one, then the settings' (drawn if
    ``controls``)."""
    knobs = sw.knobs(type(params), section)
    if not knobs or not section.findings:
        return None
    fresh = st.session_state.get(FRESH, True)
    if fresh or _k(page, section, "knob") not in st.session_state:
        _seed(page, section, params, lang, from_link=fresh)
    if controls:
        _controls(page, section, params, knobs, lang)
    if not st.session_state.get(_k(page, section, "on")):
        return None
    return _current(page, section, params, knobs)


def _seed(page: str, section: Section, params: ParamsBase, lang: str, from_link: bool) -> None:
    """Settings from the link (warning about what it got wrong), else a default around the knob's value."""
    text = st.query_params.get(sw.KEY) if from_link else None
    parsed, issues = sw.parse(text, st.query_params.get(sw.FINDING_KEY, ""), type(params), section) if text else \
        (None, [])
    show_issues(issues, lang)
    knobs = sw.knobs(type(params), section)
    knob = parsed.knob if parsed else next(iter(knobs))
    start = parsed or around(knob, knobs[knob], getattr(params, knob), section.findings[0].name)
    state = {"on": parsed is not None, "knob": knob, "finding": start.finding, "lo": float(start.lo),
             "hi": float(start.hi), "scale": start.scale, "points": start.points}
    for field, value in state.items():
        st.session_state[_k(page, section, field)] = value


def around(knob: str, spec: Spec, value: object, finding: str) -> sw.Sweep:
    """A first range for a knob: a factor 4 either side of a positive value (log spacing), else its allowed range
    (a whole-number knob such as the seed: its first nine values)."""
    if spec.kind in (int, float) and isinstance(value, int | float) and value > 0 and spec.lo is not None:
        lo, hi = max(float(spec.lo), value / 4), min(float(spec.hi), value * 4)
        if hi > lo:
            return sw.Sweep(knob, finding, lo, hi, "log" if lo > 0 else "lin")
    lo, hi = float(spec.lo or 0), float(spec.hi or 1)
    return sw.Sweep(knob, finding, lo, min(hi, lo + 8) if spec.kind is int else hi)


def _reset(page: str, section: Section, params: ParamsBase, knobs: dict[str, Spec]) -> None:
    """A new knob: its own first range."""
    knob = st.session_state[_k(page, section, "knob")]
    start = around(knob, knobs[knob], getattr(params, knob), st.session_state[_k(page, section, "finding")])
    for field in ("lo", "hi", "scale", "points"):
        st.session_state[_k(page, section, field)] = getattr(start, field)


def _controls(page: str, section: Section, params: ParamsBase, knobs: dict[str, Spec], lang: str) -> None:
    k = lambda field: _k(page, section, field)  # noqa: E731
    with st.container(key="sweep_controls"), st.expander(
            tr("common.sweep.title", lang), expanded=bool(st.session_state.get(k("on"))),
            icon=":material/stacked_line_chart:"):
        st.toggle(tr("common.sweep.on", lang), key=k("on"), help=tr("common.sweep.help", lang))
        row = st.container(horizontal=True)
        with row.container(width=260):
            st.selectbox(tr("common.sweep.knob", lang), list(knobs), key=k("knob"),
                         format_func=lambda f: param_label(page, f, lang), on_change=_reset,
                         args=(page, section, params, knobs))
        with row.container(width=320):
            st.selectbox(tr("common.sweep.finding", lang), [f.name for f in section.findings], key=k("finding"),
                         format_func=lambda f: tr(f"{page}.finding.{f}.label", lang))
        spec = knobs[st.session_state[k("knob")]]
        if spec.kind in (int, float):
            lo, hi = float(spec.lo), float(spec.hi)
            with row.container(width=150):
                st.number_input(tr("common.sweep.lo", lang), lo, hi, key=k("lo"), format="%g")
            with row.container(width=150):
                st.number_input(tr("common.sweep.hi", lang), lo, hi, key=k("hi"), format="%g")
            with row.container(width=150):
                st.segmented_control(tr("common.sweep.scale", lang), sw.SCALES, key=k("scale"),
                                     format_func=lambda s: tr(f"common.sweep.{s}", lang))
            with row.container(width=200):
                st.slider(tr("common.sweep.points", lang), 2, sw.MAX_POINTS, key=k("points"))


def _current(page: str, section: Section, params: ParamsBase, knobs: dict[str, Spec]) -> sw.Sweep | None:
    """The settings as a checked sweep (a log range over non-positive values falls back to linear)."""
    s = lambda field: st.session_state.get(_k(page, section, field))  # noqa: E731
    text = f"{s('knob')}:{s('lo')}:{s('hi')}:{s('scale') or 'lin'}:{s('points')}"
    parsed, _ = sw.parse(text, s("finding") or "", type(params), section)
    return parsed


def query(sweep: sw.Sweep | None, params: ParamsBase) -> dict[str, str]:
    """The sweep's link values."""
    if sweep is None:
        return {}
    return {sw.KEY: sweep.text(params.specs()[sweep.knob]), sw.FINDING_KEY: sweep.finding}


def show(page: str, section: Section, params: ParamsBase, sweep: sw.Sweep, lang: str, projector: bool) -> None:
    """Run the sweep (refused over budget; a progress bar that a rerun cancels) and draw its figure and table."""
    points = sw.settings(params, sweep)
    st.subheader(tr("common.sweep.heading", lang))
    try:
        sw.check(section, points)
    except BudgetError as err:
        st.error(tr("common.page.refused", lang, message=budget_message(err, lang)), icon=":material/block:")
        return
    text = tr("common.sweep.running", lang, n=len(points))
    bar = st.progress(0.0, text=text)
    try:  # every update repeats the text: an update without one clears it
        df = sw.run(section, points, sweep, lambda p: cached_run(page, section, p),
                    lambda f: bar.progress(min(1.0, f), text=text))
    except (ValueError, RuntimeError) as err:
        st.error(tr("common.page.refused", lang, message=str(err)), icon=":material/block:")
        return
    bar.empty()
    blocks = sweep_plot.blocks(df, page, section, params, sweep, lang)
    draw([Figure(b.name, b.spec(lang), b.caption) if isinstance(b, Figure) else b for b in blocks], lang, projector)
