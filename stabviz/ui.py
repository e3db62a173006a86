"""The only Streamlit-aware helpers: page setup and sidebar, widgets from a schema, URL sync.

URL handling is ours, not Streamlit's ``bind``: option widgets bound by Streamlit put their
*translated* label into the URL (a link would break when the language changes) and drop an
out-of-range value silently. Here every value is read from the URL once per session with the
schema's parser (nearest safe value + a warning naming the parameter), held in widget state,
remembered across page switches, and written back to the URL after every run.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import streamlit as st
import torch

from stabviz import experiments
from stabviz.i18n import LANG_NAMES, LANGS, choice_label, issue_message, param_help, param_label, tr
from stabviz.params import ParamIssue, ParamsBase, Reason, Spec, coerce, to_text, validate
from stabviz.runtime import GLOBAL_FIELDS, available_devices, fix_threads

MEMORY = "_stabviz_memory"  # session key: last values, so settings survive page switches
PAGE, FRESH = "_stabviz_page", "_stabviz_fresh"  # session keys: the page shown, and whether it just opened
TAB = "tab"  # URL key of the open tab (a section name)
LANG_SPEC = Spec(kind=str, default="en", choices=LANGS)
VIEW, PRESENT = "view", "present"  # URL key of the view, and its projector value
VIEW_SPEC = Spec(kind=str, default="normal", choices=("normal", PRESENT))
PHONE_CSS = """<style>@media (max-width: 640px) {
  div:has(> .st-key-controls_shared), div:has(> .st-key-controls_tab), div:has(> .st-key-pin_bar),
  div:has(> .st-key-sweep_controls) { order: 1; }  /* figures first, then the knobs, pins and sweep */
  h1, h2, h3 { overflow-wrap: anywhere; }  /* a formula such as ||∂L_T/∂h_t|| may break */
}</style>"""
PRESENT_CSS = """<style>
  .st-key-lesson_bar p, .st-key-lesson_bar li, .st-key-tab_caption p { font-size: 1.9rem; line-height: 1.35; }
  .st-key-lesson_bar h2, .st-key-lesson_bar h3 { font-size: 2.4rem; }
  .st-key-results [data-testid="stCaptionContainer"] p, .st-key-results p { font-size: 1.5rem; }
  [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; max-width: 100%; }
</style>"""
HOME_ICON = ":material/home:"


def memory() -> dict[str, Any]:
    """This session's remembered values (widgets, pins, sweeps), kept across page switches."""
    return st.session_state.setdefault(MEMORY, {})


def _url_raw(key: str) -> str | list[str] | None:
    values = st.query_params.get_all(key)
    return None if not values else (values[0] if len(values) == 1 else values)


def start_value(url_key: str, spec: Spec, memory_key: str, issues: list[ParamIssue]) -> Any:
    """A field's value before its widget exists: the URL's (validated), else the remembered, else the default."""
    raw = _url_raw(url_key)
    if raw is None:
        return memory().get(memory_key, spec.default)
    value, reason = coerce(spec, raw)
    if reason is not None:
        issues.append(ParamIssue(url_key, raw if isinstance(raw, str) else ",".join(raw), value, reason))
    return value


def seed_state(key: str, url_key: str, spec: Spec, memory_key: str, issues: list[ParamIssue]) -> None:
    """Give a widget its starting value, unless it already has one on this page."""
    if key in st.session_state and not st.session_state.get(FRESH, True):
        return
    value = start_value(url_key, spec, memory_key, issues)
    st.session_state[key] = list(value) if spec.kind is tuple else value


def widget(page: str, name: str, spec: Spec, key: str, lang: str) -> Any:
    """Draw the widget for one schema field and return its value (tuples for multi-choice)."""
    label, help_ = param_label(page, name, lang), param_help(page, name, lang)
    fmt = lambda v: choice_label(spec.vocab, v, lang)  # noqa: E731
    if spec.kind is bool:
        return st.toggle(label, key=key, help=help_)
    if spec.kind is tuple:
        return tuple(st.multiselect(label, spec.choices, format_func=fmt, key=key, help=help_))
    if spec.choices:
        return st.selectbox(label, spec.choices, format_func=fmt, key=key, help=help_)
    if spec.kind is str:
        return st.text_input(label, key=key, help=help_, max_chars=200)
    return _number(spec, key, label, help_)


def _number(spec: Spec, key: str, label: str, help_: str | None) -> int | float:
    cast = spec.kind
    lo, hi = cast(spec.lo), cast(spec.hi)
    step = cast(spec.step) if spec.step else (1 if cast is int else None)
    if spec.widget == "slider":
        return st.slider(label, lo, hi, step=step, key=key, help=help_)
    fmt = "%d" if cast is int else "%g"
    return st.number_input(label, lo, hi, step=step, format=fmt, key=key, help=help_)


def setup(page: str | None, new_scene: bool = False) -> str:
    """Page config, language, presenter switch and navigation in the sidebar; returns the language code.

    ``new_scene``: a lesson's scene is being opened, so the widgets take the link's values even on the same page.
    """
    fix_threads()
    title = tr(f"{page}.title", "en") if page else "stabviz"
    icon = experiments.PAGES[page] if page else HOME_ICON
    present = _url_raw(VIEW) == PRESENT if _url_raw(VIEW) is not None else memory().get(VIEW) == PRESENT
    st.set_page_config(page_title=f"{title} · stabviz", page_icon=icon, layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    st.session_state[FRESH] = new_scene or st.session_state.get(PAGE) != (page or "home")  # new widgets
    st.session_state[PAGE] = page or "home"
    issues: list[ParamIssue] = []
    seed_state("lang", "lang", LANG_SPEC, "lang", issues)
    seed_state(VIEW, VIEW, VIEW_SPEC, VIEW, issues)
    with st.sidebar:
        lang = st.selectbox("Language / 语言", LANGS, format_func=LANG_NAMES.get, key="lang")
        view = st.segmented_control(tr("common.view.label", lang), VIEW_SPEC.choices, key=VIEW,
                                    format_func=lambda v: tr(f"common.view.{v}", lang),
                                    help=tr("common.view.help", lang))
        memory().update(lang=lang, view=view or VIEW_SPEC.default)
        _navigation(lang)
    st.html(PHONE_CSS + (PRESENT_CSS if presenting() else ""))
    show_issues(issues, lang)
    return lang


def presenting() -> bool:
    """Whether the projector view is on (``view=present`` in the link, or the sidebar's switch)."""
    return memory().get(VIEW) == PRESENT


@st.cache_resource(show_spinner=False)
def preload_optimizers() -> threading.Thread:
    """Import torch._dynamo (which torch.optim imports on a process's first optimizer) in the background, once per
    server, while the home page is read; measured in bench/README.md."""
    thread = threading.Thread(target=importlib.import_module, args=("torch._dynamo",), name="preload", daemon=True)
    thread.start()
    return thread


def carried_query(lang: str) -> dict[str, str]:
    """Language, view and global settings (seed, device, dtype) that a navigation link carries along."""
    remembered = memory()
    query = {k: to_text(remembered[k]) for k in GLOBAL_FIELDS if k in remembered}
    return {**query, **view_query(lang)}


def view_query(lang: str) -> dict[str, str]:
    """The language and the presenter view, where they are not the defaults: what every link carries."""
    query = {"lang": lang} if lang != LANG_SPEC.default else {}
    return {**query, VIEW: PRESENT} if presenting() else query


def _navigation(lang: str) -> None:
    query = carried_query(lang)
    st.page_link("app.py", label=tr("common.app.home", lang), icon=HOME_ICON, query_params=query)
    for name in experiments.NAMES:
        st.page_link(f"pages/{name}.py", label=tr(f"{name}.nav", lang), icon=experiments.PAGES[name],
                     query_params=query)


def show_issues(issues: list[ParamIssue], lang: str) -> None:
    """One warning per replaced value, naming the parameter."""
    for issue in issues:
        st.warning(issue_message(issue, lang), icon=":material/warning:")


def read_params(page: str, cls: type[ParamsBase], lang: str, placement: Mapping[str, Any]) -> ParamsBase:
    """Draw each field's widget where ``placement`` puts it (a container) and build the params.

    A field with no place (it belongs to a closed tab) keeps its value from the URL or memory.
    """
    issues: list[ParamIssue] = []
    values = {}
    for name, spec in cls.specs().items():
        key = name if name in GLOBAL_FIELDS else f"{page}__{name}"
        if name in placement:
            seed_state(key, name, spec, key, issues)
            with placement[name]:
                values[name] = checked(name, spec, widget(page, name, spec, key, lang), issues)
        else:
            values[name] = start_value(name, spec, key, issues)
        memory()[key] = values[name]
    show_issues(issues, lang)
    return cls(**values)


def open_tab(page: str, names: list[str], labels: dict[str, dict[str, str]], lang: str) -> tuple[str, Any]:
    """Draw the page's tabs (only the open one runs) and return (open tab's name, its container).

    ``labels[lang][name]`` is the translated label. The URL's ``tab=`` holds the language-neutral name.
    """
    key = f"{page}__{TAB}"
    by_label = {label: name for per_lang in labels.values() for name, label in per_lang.items()}
    clicked = by_label.get(st.session_state.get(key))
    fresh = st.session_state.get(FRESH, True) or clicked is None
    name = url_tab(page, names, lang) if fresh else clicked
    memory()[key] = name
    st.session_state[key] = labels[lang][name]  # also the new label after a language switch
    tabs = st.tabs([labels[lang][n] for n in names], key=key, on_change="rerun")
    return name, tabs[names.index(name)]


def url_tab(page: str, names: list[str], lang: str) -> str:
    """The open tab as the link (or, without one, the session) names it; a bad name is warned about."""
    issues: list[ParamIssue] = []
    name = start_value(TAB, tab_spec(names), f"{page}__{TAB}", issues)
    show_issues(issues, lang)
    memory()[f"{page}__{TAB}"] = name
    return name


def tab_spec(names: list[str]) -> Spec:
    """The schema of a page's ``tab=`` URL value: one of its section names, the first by default."""
    return Spec(kind=str, default=names[0], choices=tuple(names))


def checked(name: str, spec: Spec, value: Any, issues: list[ParamIssue]) -> Any:
    """A typed-in value the schema refuses (an empty multi-select, a hostile formula) -> a safe one, warned."""
    try:
        validate(name, spec, value)
        return value
    except ValueError:
        safe, reason = coerce(spec, to_text(value))
        issues.append(ParamIssue(name, to_text(value), safe, reason or Reason("refused")))
        return safe


def sync_url(params: ParamsBase, lang: str, tab: str | None = None,
             extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Write the non-default values, the open tab (if not the first), the language, the view and ``extra`` (the
    lesson and scene) into the address bar."""
    query = params.to_query()
    if tab is not None:
        query[TAB] = tab
    query |= {**view_query(lang), **(extra or {})}
    if dict(st.query_params.to_dict()) != query:
        st.query_params.from_dict(query)
    return query


def link(query: Mapping[str, str]) -> str:
    """The shareable link of this page with these values."""
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(query)}" if query else base


def device_caption(lang: str) -> None:
    """Which torch and which devices this server has."""
    st.caption(tr("common.sidebar.device_info", lang, version=torch.__version__, device=", ".join(available_devices())))

