"""Lessons in the app: every scene opens its page exactly, the bar says where and what, a changed knob leaves."""

import pytest
from pagetest import key, open_page, problems

from stabviz import lessons
from stabviz.lesson_ui import LESSON, SCENE

LESSONS = lessons.lessons()
SCENES = [(name, i) for name, lesson in LESSONS.items() for i in range(len(lesson.scenes))]


def open_scene(name: str, index: int, **extra: str):
    scene = LESSONS[name].scenes[index]
    return open_page(scene.page, scene.url_query(**{LESSON: name, SCENE: str(index + 1)}, **extra))


@pytest.mark.parametrize(("name", "index"), SCENES)
def test_every_scene_opens_its_page_with_exactly_its_values_and_its_checks_agree(name, index):
    scene = LESSONS[name].scenes[index]
    at = open_scene(name, index)
    assert not problems(at) and not at.warning
    assert dict(at.query_params).get(LESSON) == name and dict(at.query_params).get(SCENE) == str(index + 1)
    bar = " ".join(m.value for m in at.markdown)
    assert lessons.say(scene.caption, "en") in bar
    assert "✗" not in bar and bar.count("✓") == len(scene.checks)


def test_the_chinese_scene_says_it_in_chinese():
    at = open_scene("numerical_stability", 0, lang="zh")
    assert not problems(at)
    assert any(lessons.say(LESSONS["numerical_stability"].scenes[0].caption, "zh") in m.value for m in at.markdown)


def test_changing_a_knob_leaves_the_lesson_and_offers_the_way_back():
    at = open_scene("numerical_stability", 0)
    at.slider(key=key("deep_mlp", "powers")).set_value(50).run()
    assert not problems(at) and LESSON not in dict(at.query_params)
    assert any("no longer" in i.value for i in at.info)
    back = [link for link in at.get("page_link") if "Back to scene 1" in link.proto.label]
    assert back and {"lesson=numerical_stability", "scene=1"} <= set(back[0].proto.query_string.split("&"))


def test_values_remembered_from_before_do_not_leak_into_a_scene():
    at = open_page("deep_mlp", {"tab": "scalar", "powers": "40", "seed": "9"})
    scene = LESSONS["numerical_stability"].scenes[0]
    for k, v in scene.url_query(lesson="numerical_stability", scene="1").items():
        at.query_params[k] = v
    del at.query_params["seed"]
    at.switch_page(str(__import__("pagetest").ROOT / "pages" / "deep_mlp.py")).run()
    assert at.slider(key=key("deep_mlp", "powers")).value == 100 and at.session_state["seed"] == 0


@pytest.mark.parametrize("query", [{LESSON: "nope"}, {LESSON: "numerical_stability", SCENE: "99"}])
def test_a_bad_lesson_or_scene_number_is_warned_about_not_a_traceback(query):
    at = open_page("activations", query)
    assert not at.exception and at.warning


def test_the_home_page_lists_every_lesson():
    at = open_page(None)
    labels = " ".join(link.proto.label for link in at.get("page_link"))
    assert all(lessons.say(lesson.title, "en") in labels for lesson in LESSONS.values())
