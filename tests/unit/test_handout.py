"""A lesson's handout: index.html walks through every scene in order with its checks, its figures (the page's own
specs, inline) and its live link; each figure also as PNG and SVG named by scene number; nothing is fetched."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from stabviz import figures, handout, lessons
from stabviz.cli import main
from stabviz.interactive import interactive

BASE = "http://lecture.example:8501"
LESSON = """
order = 1
title = { en = "Tiny lesson", zh = "小课" }
source = { en = "D2L 4.8", zh = "《动手学深度学习》4.8" }

[[scene]]
link = "/deep_mlp?tab=scalar&grow=1.5&shrink=0.8&powers=100"
title = { en = "1.5^k and 0.8^k in float16", zh = "float16 中的 1.5^k 与 0.8^k" }
caption = { en = "Both leave float16 **long** before 100 layers.", zh = "两者远在 100 层之前就超出 float16。" }
[[scene.check]]
finding = "grow_float16_inf_at"
theory = 28
rtol = 0
label = { en = "first k with 1.5^k = inf", zh = "1.5^k 变为 inf 的最小 k" }
[[scene.check]]
finding = "shrink_float16_zero_at"
theory = 77
rtol = 0
label = { en = "first k with 0.8^k = 0, wrong on purpose", zh = "0.8^k 变为 0 的最小 k（故意写错）" }

[[scene]]
link = "/activations?tab=saturation&functions=sigmoid"
title = { en = "sigmoid' is at most 1/4", zh = "sigmoid' 至多 1/4" }
caption = { en = "A table <only>.", zh = "只有表格。" }
[[scene.check]]
finding = "max_abs_grad_sigmoid"
theory = 0.25
rtol = 1e-6
label = { en = "max |sigmoid'|", zh = "max |sigmoid'|" }

[[scene]]
link = "/activations?tab=chain&functions=sigmoid&depth=30"
title = { en = "A product of sigmoid' vanishes", zh = "sigmoid' 的乘积消失" }
caption = { en = "Look at the slope.", zh = "看斜率。" }
[[scene.check]]
finding = "max_abs_grad_sigmoid"
theory = 0.25
label = { en = "max |sigmoid'| (measured on another tab)", zh = "max |sigmoid'|（在别的标签页测量）" }
"""
FIGURES = {1: ["deep_mlp_scalar"], 2: [], 3: ["activations_chain"]}  # what each scene's tab draws


def use_lessons(mp: pytest.MonkeyPatch, folder: Path, **files: str) -> None:
    """Lesson files ``name=text`` in ``folder``, read through STABVIZ_LESSONS (the loader's cache cleared)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    mp.setenv(lessons.ENV, str(folder))
    lessons._all.cache_clear()


class Outline(HTMLParser):
    """The scenes of an index.html: each section's id, heading, check items and chart ids; every <script> text."""

    def __init__(self) -> None:
        super().__init__()
        self.scenes: list[dict] = []
        self.scripts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "section":
            self.scenes.append({"id": a["id"], "h2": "", "checks": [], "charts": [], "live": None})
        elif self.scenes and tag == "h2" and not self.scenes[-1]["h2"]:
            self._in = "h2"
        elif self.scenes and tag == "li" and "check" in a.get("class", ""):
            self.scenes[-1]["checks"].append([a["class"], ""])
            self._in = "li"
        elif self.scenes and tag == "div" and a.get("class") == "chart":
            self.scenes[-1]["charts"].append(a["id"])
        elif self.scenes and tag == "a" and self.scenes[-1]["live"] is None and a["href"].startswith("http"):
            self.scenes[-1]["live"] = a["href"]
        elif tag == "script":
            self._in = "script"
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "li", "script"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h2":
            self.scenes[-1]["h2"] += data
        elif self._in == "li":
            self.scenes[-1]["checks"][-1][1] += data
        elif self._in == "script":
            self.scripts[-1] += data


def outline(index: Path) -> Outline:
    parser = Outline()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, lessons.Lesson]:
    """The tiny lesson's English handout, built once for this module."""
    root = tmp_path_factory.mktemp("handout")
    with pytest.MonkeyPatch.context() as mp:
        use_lessons(mp, root / "lessons", tiny=LESSON)
        lesson = lessons.load("tiny")
        index = handout.build(lesson, root / "out", "en", BASE)
    lessons._all.cache_clear()
    return index, lesson


def test_index_lists_every_scene_in_order_with_its_title(built):
    index, lesson = built
    scenes = outline(index).scenes
    assert [s["id"] for s in scenes] == ["scene-1", "scene-2", "scene-3"]
    assert [s["h2"] for s in scenes] == [f"Scene {n}: {lessons.say(s.title, 'en')}"
                                         for n, s in enumerate(lesson.scenes, 1)]


def test_each_scene_embeds_exactly_its_tabs_figures_as_the_page_draws_them(built):
    index, lesson = built
    parsed = outline(index)
    assert [s["charts"] for s in parsed.scenes] == [[f"scene-{n}-{f}" for f in FIGURES[n]] for n in FIGURES]
    embeds = {}
    for script in parsed.scripts:
        if m := re.fullmatch(r'vegaEmbed\("#([\w-]+)", (.*), \{"renderer".*', script, re.S):
            embeds[m[1]] = json.loads(m[2])
    for n, scene in enumerate(lesson.scenes, 1):
        params = lessons.scene_params(scene)[0]
        blocks = figures.load(scene.page).VIEWS[scene.tab](lessons.run_scene(scene), params, "en")
        for fig in figures.figures_of(blocks).values():
            assert embeds.pop(f"scene-{n}-{fig.name}") == json.loads(json.dumps(interactive(fig.spec("en"))))
    assert embeds == {}


def test_checks_show_measured_beside_theory_and_whether_they_agree(built):
    scenes = outline(built[0]).scenes
    assert scenes[0]["checks"] == [
        ["check agrees", "first k with 1.5^k = inf: measured 28 · theory 28 ✓ agrees (tolerance 0)"],
        ["check differs", "first k with 0.8^k = 0, wrong on purpose: measured 78 · theory 77 ✗ differs (tolerance 0)"]]
    assert scenes[1]["checks"] == [
        ["check agrees", "max |sigmoid'|: measured 0.25 · theory 0.25 ✓ agrees (tolerance 1e-06)"]]
    assert scenes[2]["checks"] == [
        ["check", "max |sigmoid'| (measured on another tab): theory 0.25 (not measured on this tab)"]]


def test_each_scene_links_to_its_live_page_in_the_lesson(built):
    index, lesson = built
    for n, (scene, parsed) in enumerate(zip(lesson.scenes, outline(index).scenes, strict=True), 1):
        url = urlparse(parsed["live"])
        assert f"{url.scheme}://{url.netloc}" == BASE
        assert lessons.parse_link(parsed["live"]) == (scene.page, scene.tab, scene.values)
        assert {k: v for k, v in parse_qs(url.query).items() if k in ("lesson", "scene")} == {
            "lesson": ["tiny"], "scene": [str(n)]}


def test_figures_are_written_as_png_and_svg_named_by_scene_number(built):
    out = built[0].parent
    stems = [f"{n:02d}_{f}" for n, names in FIGURES.items() for f in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["index.html", *(f"{s}.{ext}" for s in stems for ext in ("png", "svg"))])
    assert (out / f"{stems[0]}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ET.fromstring((out / f"{stems[1]}.svg").read_bytes()).tag.endswith("svg")


def test_the_handout_needs_no_network_and_inlines_the_libraries_once(built):
    text = built[0].read_text(encoding="utf-8")
    assert text.count("window.vegaEmbed=") == 1
    assert not re.search(r"<script[^>]*\ssrc=|<link[\s>]|@import|https?://cdn", text, re.I)
    fetched = re.findall(r'(?:src|href)="(https?:[^"]*)"', text)
    assert fetched and all(u.startswith(BASE + "/") for u in fetched)  # only the live links leave the file


def test_text_from_the_lesson_is_escaped(built):
    text = built[0].read_text(encoding="utf-8")
    assert "A table &lt;only&gt;." in text and "<only>" not in text
    assert "Both leave float16 <strong>long</strong> before 100 layers." in text


def test_a_chinese_handout_speaks_chinese(tmp_path, monkeypatch, capsys):
    one = LESSON.split("[[scene]]")
    use_lessons(monkeypatch, tmp_path / "lessons", table=one[0] + "[[scene]]" + one[2])
    assert main(["export", "--lesson", "table", "--out", str(tmp_path / "out"), "--lang", "zh"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "out" / "index.html")]
    parsed = outline(tmp_path / "out" / "index.html")
    assert [s["h2"] for s in parsed.scenes] == ["第 1 幕：sigmoid' 至多 1/4"]
    assert parsed.scenes[0]["checks"][0][1].startswith("max |sigmoid'|：测量值 0.25 · 理论值 0.25 ✓ 一致")
    assert parse_qs(urlparse(parsed.scenes[0]["live"]).query)["lang"] == ["zh"]
    assert '<html lang="zh-Hans">' in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_a_scene_the_schema_would_change_is_refused(tmp_path, monkeypatch, capsys):
    bad = LESSON.split("[[scene]]")[0] + '[[scene]]\nlink = "/activations?tab=chain&depth=100000"\n' \
        'title = { en = "t" }\ncaption = { en = "c" }\n'
    use_lessons(monkeypatch, tmp_path / "lessons", bad=bad)
    assert main(["export", "--lesson", "bad", "--out", str(tmp_path / "out")]) == 2
    assert "scene 1" in capsys.readouterr().err and not (tmp_path / "out" / "index.html").exists()
