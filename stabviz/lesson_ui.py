"""Lessons in the app: a scene opened from its link, the lesson bar (caption, theory beside measured, previous and
next), leaving the lesson when a knob changes (with the way back), and the projector's chart sizes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

from stabviz import lessons
from stabviz.experiments import Result
from stabviz.i18n import tr
from stabviz.lessons import Lesson, Scene, say
from stabviz.params import ParamIssue, ParamsBase, Reason, Spec, coerce
from stabviz.runtime import GLOBAL_FIELDS
from stabviz.ui import MEMORY, view_query

LESSON, SCENE = "lesson", "scene"  # URL keys
APPLIED = "_stabviz_scene"  # session key: the (lesson, scene) whose values the widgets last took
LEFT = "_stabviz_left"  # session key: the scene a changed knob left, shown as the way back
FONT_SCALE, HEIGHT_SCALE = 1.75, 1.5  # a chart's text (12 px -> 21 px) and height in the projector view


@dataclass(frozen=True)
class Place:
    """Where a page stands in a lesson."""

    lesson: Lesson
    index: int  # 0-based scene number

    @property
    def scene(self) -> Scene:
        return self.lesson.scenes[self.index]

    def query(self, index: int, lang: str) -> dict[str, str]:
        """The link query of scene ``index`` of this lesson (its values, tab, lesson, scene, language, view)."""
        scene = self.lesson.scenes[index]
        return scene.url_query(**view_query(lang), **{LESSON: self.lesson.name, SCENE: str(index + 1)})


def place_in_url() -> tuple[Place | None, list[ParamIssue]]:
    """The lesson and scene the link names (None if none), and the issues of a bad name or number."""
    name = st.query_params.get(LESSON)
    if name is None:
        return None, []
    found = lessons.lessons()
    if name not in found:
        return None, [ParamIssue(LESSON, name, "-", Reason.of("not_choice", allowed=", ".join(found)))]
    lesson = found[name]
    raw = st.query_params.get(SCENE, "1")
    number, reason = coerce(Spec(int, 1, lo=1, hi=len(lesson.scenes)), raw)
    issues = [ParamIssue(SCENE, raw, number, reason)] if reason else []
    return Place(lesson, number - 1), issues


def opens_scene(place: Place | None, page: str) -> bool:
    """True on the first run of a scene: the page's remembered values are dropped, so every field the link leaves
    out takes its default and the page shows exactly the scene."""
    token = None if place is None else (place.lesson.name, place.index)
    if token is None or st.session_state.get(APPLIED) == token or place.scene.page != page:
        return False
    st.session_state[APPLIED] = token
    memory = st.session_state.setdefault(MEMORY, {})
    for key in [k for k in memory if k.startswith(f"{page}__") or k in GLOBAL_FIELDS]:
        del memory[key]
    return True


def follows(place: Place | None, page: str, tab: str, params: ParamsBase) -> bool:
    """Whether the page shows exactly its scene (page, tab and every value)."""
    if place is None or (place.scene.page, place.scene.tab) != (page, tab):
        return False
    return params == lessons.scene_params(place.scene)[0]


def url_extra(place: Place | None, shown: bool) -> dict[str, str]:
    """The lesson and scene kept in the link while the page shows the scene; nothing once it has been left."""
    return {LESSON: place.lesson.name, SCENE: str(place.index + 1)} if place and shown else {}


def left_note(place: Place | None, page: str, lang: str) -> None:
    """After a knob changed the scene: say that the lesson was left, with a link back (kept while on this page)."""
    if place is not None:  # the link still names the scene, but a value differs now
        st.session_state[LEFT] = (page, place.lesson.name, place.index)
        st.session_state[APPLIED] = None  # the link back opens the scene afresh
    left = st.session_state.get(LEFT)
    if not left or left[0] != page:
        st.session_state.pop(LEFT, None)
        return
    back = Place(lessons.load(left[1]), left[2])
    st.info(tr("common.lesson.left", lang, lesson=say(back.lesson.title, lang), n=back.index + 1),
            icon=":material/school:")
    st.page_link(f"pages/{back.scene.page}.py", label=tr("common.lesson.back", lang, n=back.index + 1),
                 icon=":material/undo:", query_params=back.query(back.index, lang))


def lesson_bar(place: Place, result: Result | None, lang: str) -> None:
    """The scene's number and title, its caption, the theory's numbers beside the measured ones, previous / next."""
    scene, count = place.scene, len(place.lesson.scenes)
    st.session_state.pop(LEFT, None)
    with st.container(key="lesson_bar", border=True):
        st.caption(tr("common.lesson.where", lang, lesson=say(place.lesson.title, lang), n=place.index + 1, of=count))
        st.subheader(say(scene.title, lang))
        st.markdown(say(scene.caption, lang))
        if scene.checks:
            st.markdown("\n".join(_check_line(c, result, lang) for c in scene.checks))
        steps = st.container(horizontal=True)
        for index, key, icon in ((place.index - 1, "prev", ":material/arrow_back:"),
                                 (place.index + 1, "next", ":material/arrow_forward:")):
            if 0 <= index < count:
                target = place.lesson.scenes[index]
                steps.page_link(f"pages/{target.page}.py", icon=icon, query_params=place.query(index, lang),
                                label=tr(f"common.lesson.{key}", lang, n=index + 1, title=say(target.title, lang)))


def _check_line(check: lessons.Check, result: Result | None, lang: str) -> str:
    """"- label: measured 0.6667 · theory 0.6667 ✓" (or ✗, or "not measured")."""
    measured = None if result is None else result.findings.get(check.finding)
    if not isinstance(measured, int | float):  # a bool (diverged or not) counts as 0 or 1
        return tr("common.lesson.unmeasured", lang, label=say(check.label, lang), theory=_num(check.theory))
    mark = "✓" if check.agrees(float(measured)) else "✗"
    return tr("common.lesson.check", lang, label=say(check.label, lang), measured=_num(float(measured)),
              theory=_num(check.theory), mark=mark)


def _num(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.6g}"


def projected(spec: dict[str, Any]) -> dict[str, Any]:
    """A chart's Vega-Lite dict for the back of a lecture hall: every font size and every height scaled."""
    def scale(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: scale(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [scale(v) for v in node]
        if not isinstance(node, int | float) or isinstance(node, bool):
            return node
        if key == "height":
            return node * HEIGHT_SCALE
        return node * FONT_SCALE if key == "fontSize" or key.endswith("FontSize") else node
    return {k: (v if k in ("data", "datasets") else scale(v, k)) for k, v in spec.items()}



def lesson_index(lang: str) -> None:
    """The home page's lessons: each lecture with its source, a link to its first scene and a list of all."""
    st.header(tr("common.lesson.heading", lang))
    st.markdown(tr("common.lesson.intro", lang))
    for lesson in lessons.lessons().values():
        start = Place(lesson, 0)
        with st.container(border=True, key=f"lesson_{lesson.name}"):
            st.page_link(f"pages/{lesson.scenes[0].page}.py", icon=":material/school:",
                         label=f"**{say(lesson.title, lang)}**", query_params=start.query(0, lang))
            st.caption(tr("common.lesson.source", lang, source=say(lesson.source, lang), n=len(lesson.scenes)))
            with st.expander(tr("common.lesson.scenes", lang)):
                for i, scene in enumerate(lesson.scenes):
                    st.page_link(f"pages/{scene.page}.py", query_params=start.query(i, lang),
                                 label=tr("common.lesson.next", lang, n=i + 1, title=say(scene.title, lang)))
