"""A lesson's handout: one index.html that walks through the scenes in order (each scene's title, caption, the
theory's numbers beside the measured ones, its figures interactive, the link to the live scene), and every figure
as PNG and SVG beside it.

The chart libraries are inlined once in index.html and every chart carries its data, so the folder opens from a
disk or a USB stick with no server and no network (``python -m stabviz export --lesson NAME --out DIR``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stabviz import experiments, export, figures, lessons
from stabviz.figures import Block, Figure, Table
from stabviz.i18n import issue_message, tr
from stabviz.lessons import Check, Lesson, Scene, say
from stabviz.params import ParamsBase

INDEX = "index.html"


def word(key: str, lang: str, **fmt: object) -> str:
    """A handout word (``common.handout.<key>``), formatted, escaped for HTML."""
    return html.escape(tr(f"common.handout.{key}", lang, **fmt))


def number(x: float) -> str:
    """A check's number as the lesson bar writes it (6 significant digits)."""
    return "nan" if math.isnan(x) else f"{x:.6g}"


def figure_stem(scene_number: int, fig: Figure) -> str:
    """A figure's file name without extension: the scene's number first, so the files sort in lesson order."""
    return f"{scene_number:02d}_{fig.name}"


def live_link(lesson: Lesson, scene_number: int, lang: str, base_url: str) -> str:
    """The scene on the live server, opened in the lesson (the page's lesson bar) and in ``lang``."""
    extra = {"lesson": lesson.name, "scene": str(scene_number), **({"lang": lang} if lang != "en" else {})}
    return base_url.rstrip("/") + lesson.scenes[scene_number - 1].link(**extra)


def check_html(check: Check, findings: dict[str, Any], lang: str) -> str:
    """"label: measured X · theory Y ✓ agrees" (or differs; the theory alone where the tab has no such finding)."""
    label = say(check.label, lang)
    measured = findings.get(check.finding)
    if not isinstance(measured, int | float) or isinstance(measured, bool):
        return f'<li class="check">{word("unmeasured", lang, label=label, theory=number(check.theory))}</li>\n'
    verdict = "agrees" if check.agrees(float(measured)) else "differs"
    line = word("check", lang, label=label, measured=number(float(measured)), theory=number(check.theory))
    mark = "✓" if verdict == "agrees" else "✗"
    return (f'<li class="check {verdict}" data-finding="{html.escape(check.finding)}">{line} '
            f"<strong>{mark} {word(verdict, lang, rtol=number(check.rtol))}</strong></li>\n")


def figure_part(fig: Figure, spec: dict, n: int, lang: str) -> str:
    """Scene ``n``'s figure, interactive, with its caption and links to its PNG and SVG files."""
    stem = figure_stem(n, fig)
    files = " ".join(f'<a href="{stem}.{ext}">{ext.upper()}</a>' for ext in ("png", "svg"))
    return (f"<figure>\n{export.chart_html(f'scene-{n}-{fig.name}', spec)}"
            f"<figcaption>{export.markdown_html(fig.caption)}</figcaption>\n"
            f'<p class="files">{word("files", lang)} {files}</p>\n</figure>\n')


def text_part(block: Table | str) -> str:
    """A table as the page shows it (numbers to 5 significant digits) with its caption, or a note."""
    if isinstance(block, Table):
        table = block.shown()[0].to_html(index=False, border=0, classes="table", na_rep=figures.MISSING)
        return f'{table}\n<p class="caption">{export.markdown_html(block.caption)}</p>\n'
    return f'<p class="note">{export.markdown_html(block)}</p>\n'


def blocks_html(n: int, blocks: list[Block], lang: str, out: Path, wrote: Callable[[Path], None]) -> str:
    """Scene ``n``'s figures, tables and notes; each figure also written as PNG (for slides) and SVG (for print)."""
    parts = []
    for block in blocks:
        if isinstance(block, Figure):
            spec = block.spec(lang)
            for ext, render in (("png", export.to_png), ("svg", export.to_svg)):
                path = out / f"{figure_stem(n, block)}.{ext}"
                path.write_bytes(render(spec))
                wrote(path)
            parts.append(figure_part(block, spec, n, lang))
        else:
            parts.append(text_part(block))
    return "".join(parts)


def scene_html(lesson: Lesson, n: int, lang: str, base_url: str, out: Path, wrote: Callable[[Path], None]) -> str:
    """Scene ``n`` (1-based) computed: its part of index.html (its figures' files written on the way)."""
    scene = lesson.scenes[n - 1]
    params = _params(lesson, n, scene)
    result = lessons.run_scene(scene)
    blocks = blocks_html(n, figures.load(scene.page).VIEWS[scene.tab](result, params, lang), lang, out, wrote)
    section = next(s for s in experiments.load(scene.page).SECTIONS if s.name == scene.tab)
    where = word("where", lang, page=tr(f"{scene.page}.title", lang), tab=tr(f"{scene.page}.{scene.tab}.tab", lang))
    checks = "".join(check_html(c, result.findings, lang) for c in scene.checks)
    values = {f: getattr(params, f) for f in section.uses}
    return (f'<section class="scene" id="scene-{n}" data-page="{scene.page}" data-tab="{scene.tab}">\n'
            f"<h2>{word('scene', lang, n=n, title=say(scene.title, lang))}</h2>\n<p class=\"where\">{where}</p>\n"
            f'<p class="caption">{export.markdown_html(say(scene.caption, lang))}</p>\n'
            + (f'<ul class="checks">\n{checks}</ul>\n' if checks else "") + blocks
            + f"<details><summary>{export.word('parameters', lang)}</summary>\n"
            f"{export.params_html(scene.page, values, lang)}</details>\n"
            + export.live_link_html(live_link(lesson, n, lang, base_url), lang) + "</section>\n")


def _params(lesson: Lesson, n: int, scene: Scene) -> ParamsBase:
    """The scene's parameters; ValueError if the page's schema would change any of its values."""
    params, issues = lessons.scene_params(scene)
    if issues:
        raise ValueError(f"lesson {lesson.name}, scene {n}: " + " ".join(issue_message(i, "en") for i in issues))
    return params


def build(lesson: Lesson, out: Path, lang: str, base_url: str, wrote: Callable[[Path], None] = lambda _: None) -> Path:
    """Write the handout of ``lesson`` into ``out`` (each file reported to ``wrote`` once written); its index.html."""
    out.mkdir(parents=True, exist_ok=True)
    scenes = "".join(scene_html(lesson, n, lang, base_url, out, wrote) for n in range(1, len(lesson.scenes) + 1))
    title = say(lesson.title, lang)
    source = say(lesson.source, lang)
    contents = "".join(f'<li><a href="#scene-{n}">{html.escape(say(s.title, lang))}</a></li>\n'
                       for n, s in enumerate(lesson.scenes, 1))
    head = (f"<header>\n<h1>{html.escape(title)}</h1>\n"
            + (f'<p class="source">{word("source", lang, source=source)}</p>\n' if source else "")
            + f"<nav>\n<h2>{word('contents', lang)}</h2>\n<ol>\n{contents}</ol>\n</nav>\n</header>\n")
    body = f"<main>\n{head}{scenes}<footer><p>{word('made', lang)}</p></footer>\n</main>\n"
    index = out / INDEX
    index.write_text(export.html_document(title, body, lang), encoding="utf-8")
    wrote(index)
    return index
