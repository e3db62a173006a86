"""Lessons as data: every scene's link opens cleanly, and its stated numbers agree with the engine."""

import math

import pytest

from stabviz import experiments, lessons
from stabviz.lessons import Check, parse_link

LESSONS = lessons.lessons()
SCENES = [(name, i) for name, lesson in LESSONS.items() for i in range(len(lesson.scenes))]


def test_the_five_lectures_are_there_in_order():
    assert len(LESSONS) == 5 and [lesson.order for lesson in LESSONS.values()] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("name", "index"), SCENES)
def test_every_scene_link_parses_with_no_value_replaced(name, index):
    scene = LESSONS[name].scenes[index]
    params, issues = lessons.scene_params(scene)
    assert issues == [] and set(scene.values) <= set(params.specs())
    assert parse_link(scene.link()) == (scene.page, scene.tab, scene.values)  # the link round-trips


@pytest.mark.parametrize(("name", "index"), [s for s in SCENES if LESSONS[s[0]].scenes[s[1]].checks])
def test_every_scene_number_agrees_with_the_engine(name, index):
    scene = LESSONS[name].scenes[index]
    findings = lessons.run_scene(scene).findings
    for check in scene.checks:
        assert check.agrees(float(findings[check.finding])), (check.finding, findings[check.finding], check.theory)


def test_every_scene_has_both_languages():
    missing = [(n, i) for n, i in SCENES for words in (LESSONS[n].scenes[i].title, LESSONS[n].scenes[i].caption)
               if not (words.get("en") and words.get("zh"))]
    assert missing == []


@pytest.mark.parametrize(("theory", "rtol", "measured", "agrees"), [
    (28, 0, 28.0, True), (28, 0, 29.0, False), (2 / 3, 1e-9, 0.6666666667, True), (2 / 3, 1e-9, 0.667, False),
    (0.0, 1e-9, 1e-12, True), (0.0, 1e-9, 1e-6, False), (math.inf, 0, math.inf, True), (1e25, 0.5, math.inf, False),
])
def test_a_check_agrees_within_its_relative_tolerance(theory, rtol, measured, agrees):
    assert Check("f", theory, rtol, {"en": "x"}).agrees(measured) is agrees


@pytest.mark.parametrize(("link", "message"), [
    ("/nowhere?x=1", "names no page"), ("/newton?tab=nope", "tab must be one of descent, roots"),
])
def test_a_bad_scene_link_is_refused_with_a_message(link, message):
    with pytest.raises(ValueError, match=message):
        parse_link(link)


def test_a_lecturers_own_lesson_folder_is_read(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(
        'order = 9\ntitle = { en = "Mine" }\n[[scene]]\nlink = "http://host:8501/activations?tab=chain&depth=7"\n'
        'title = { en = "t" }\ncaption = { en = "c" }\n')
    monkeypatch.setenv(lessons.ENV, str(tmp_path))
    found = lessons.lessons()
    assert list(found)[-1] == "mine" and found["mine"].scenes[0].values == {"depth": "7"}
    assert found["mine"].scenes[0].tab == "chain" and lessons.say(found["mine"].scenes[0].title, "zh") == "t"


def test_a_malformed_lesson_names_its_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('title = { en = "x" }\n[[scene]]\nlink = "/activations"\n')
    with pytest.raises(ValueError, match="broken.toml"):
        lessons.read(path)


def test_pages_named_by_scenes_exist():
    assert {s.page for lesson in LESSONS.values() for s in lesson.scenes} <= set(experiments.NAMES)
