"""`python -m stabviz list | run | export | lessons | params`: the experiments headless, on the same schemas and engine.

Values given with ``--set`` are checked strictly: an unknown name or a value the page would
have to replace is an error (exit status 2), because a script should not silently get other numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from stabviz import experiments, lessons
from stabviz.experiments import Section
from stabviz.i18n import LANGS, param_help, reason_text, tr
from stabviz.lessons import say
from stabviz.params import ParamsBase, coerce, to_text
from stabviz.runtime import fix_threads

USAGE_ERROR = 2
BASE_URL = "http://localhost:8501"  # where links in exports point unless --base-url (or an absolute link) says
NOT_PARAMS = ("lang", "lesson", "scene", "view")  # keys a page's link may carry besides its values and tab


class CliError(Exception):
    """A bad name or value: printed on stderr, exit status 2."""


def parse_sets(cls: type[ParamsBase], pairs: list[str], raw: dict[str, Any] | None = None) -> ParamsBase:
    """Params from ``key=value`` strings (on top of ``raw``), rejecting anything the schema would change."""
    raw = dict(raw or {})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CliError(f"--set expects key=value, got {pair!r}")
        raw[key.strip()] = value
    specs = cls.specs()
    for key, value in raw.items():
        if key not in specs:
            raise CliError(f"unknown parameter {key!r}; parameters: {', '.join(specs)}")
        _, reason = coerce(specs[key], value)
        if reason is not None:
            raise CliError(f"{key}: {value!r} {reason_text(reason, 'en')}")
    return cls.parse(raw)[0]


def jsonable(value: Any) -> Any:
    """Plain JSON values; inf/nan written as the strings "inf", "-inf", "nan"."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = float(value) if isinstance(value, float) else int(value)
        if isinstance(value, float) and not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return value
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def report(name: str, params: ParamsBase, result: experiments.Result) -> dict[str, Any]:
    """The JSON object of the CLI's contract (docs/architecture.md)."""
    tables = {k: [jsonable(r) for r in df.to_dict(orient="records")] for k, df in result.tables.items()}
    return {"experiment": name, "params": jsonable(params.as_dict()), "findings": jsonable(result.findings),
            "tables": tables}


def cmd_list(_: argparse.Namespace) -> None:
    for name in experiments.NAMES:
        print(f"{name:16s} {tr(f'{name}.summary', 'en')}")


def resolve_target(target: str) -> tuple[str, dict[str, Any]]:
    """An experiment name, or a shareable link: its path names the page, its query the values."""
    if "/" not in target and "?" not in target:
        return target, {}
    url = urlparse(target)
    name = url.path.rstrip("/").rsplit("/", 1)[-1]
    query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()}
    return name, query


@dataclass(frozen=True)
class Target:
    """What a page name or a link asks for: the page, its tab (None: every tab), values, language and server."""

    name: str
    module: ModuleType
    sections: tuple[Section, ...]
    tab: str | None
    query: dict[str, Any]
    lang: str | None
    origin: str | None  # scheme://host[:port] of an absolute link

    def link(self, params: ParamsBase, section: Section, lang: str) -> str:
        """The page's relative link to ``section`` with these values (the tab named unless it is the first)."""
        tab = {"tab": section.name} if section is not self.module.SECTIONS[0] else {}
        query = {**params.to_query(), **tab, **({"lang": lang} if lang != "en" else {})}
        return f"/{self.name}" + (f"?{urlencode(query)}" if query else "")


def resolve(target: str, tab: str | None) -> Target:
    """A page name or link (its tab= before ``tab``), checked: the page, the tab and the language must exist."""
    name, query = resolve_target(target)
    module = experiments.load(name)
    tab = query.pop("tab", None) or tab
    sections = tuple(s for s in module.SECTIONS if tab in (None, s.name))
    if not sections:
        raise CliError(f"tab must be one of {', '.join(s.name for s in module.SECTIONS)}, got {tab!r}")
    extra = {key: query.pop(key) for key in NOT_PARAMS if key in query}
    lang = extra.get("lang")
    if lang is not None and lang not in LANGS:
        raise CliError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    url = urlparse(target)
    origin = f"{url.scheme}://{url.netloc}" if url.scheme and url.netloc else None
    return Target(name, module, sections, tab, query, lang, origin)


def cmd_run(args: argparse.Namespace) -> None:
    target = resolve(args.target, args.tab)
    params = parse_sets(target.module.Params, args.set, target.query)
    result = experiments.Result()
    for sec in target.sections:
        result = result.merge(experiments.run_section(sec, params))
    if args.json:
        doc = report(target.name, params, result) | ({"tab": target.tab} if target.tab else {})
        json.dump(doc, sys.stdout, ensure_ascii=False)
        print()
        return
    print(f"{target.name}{f' [{target.tab}]' if target.tab else ''}: {params}")
    for key, value in result.findings.items():
        print(f"  {key} = {value}")
    for key, df in result.tables.items():
        print(f"\n[{key}] {len(df)} rows\n{df.head(12).to_string(index=False)}")


def cmd_export(args: argparse.Namespace) -> None:
    from stabviz import export, figures  # altair and vl-convert only when exporting

    if args.lesson is not None:
        return export_lesson(args)
    if args.target is None:
        raise CliError("export needs a page name or link, or --lesson NAME")
    target = resolve(args.target, args.tab)
    lang, fmt = target.lang or args.lang, args.format or "png"
    params = parse_sets(target.module.Params, args.set, target.query)
    base = (args.base_url or target.origin or BASE_URL).rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for sec in target.sections:
        result = experiments.run_section(sec, params)
        for fig in figures.figures_of(figures.load(target.name).VIEWS[sec.name](result, params, lang)).values():
            spec, path = fig.spec(lang), out / f"{fig.name}.{fmt}"
            values = {f: getattr(params, f) for f in sec.uses}
            path.write_bytes(export.to_png(spec) if fmt == "png" else export.to_svg(spec) if fmt == "svg" else
                             export.figure_html(spec, caption=fig.caption, page=target.name, params=values,
                                                link=base + target.link(params, sec, lang), lang=lang).encode())
            print(path)


def export_lesson(args: argparse.Namespace) -> None:
    """A lesson's handout: index.html and every figure as PNG and SVG in --out."""
    from stabviz import handout

    if args.target is not None or args.set or args.tab or args.format:
        raise CliError("--lesson takes no page, --set, --tab or --format: its scenes name their pages and values")
    handout.build(lessons.load(args.lesson), Path(args.out), args.lang, args.base_url or BASE_URL, wrote=print)


def cmd_lessons(args: argparse.Namespace) -> None:
    if args.name is None:
        doc: dict[str, Any] = {"lessons": [
            {"name": n, "title": say(ls.title, args.lang), "source": say(ls.source, args.lang),
             "scenes": len(ls.scenes)} for n, ls in lessons.lessons().items()]}
        text = [f"{row['name']:24s} {row['scenes']:3d} scenes  {row['title']}" for row in doc["lessons"]]
    else:
        doc = lesson_doc(lessons.load(args.name), args.lang, args.base_url)
        text = [doc["title"], doc["source"], *(f"\n{s['number']:2d}. {s['title']}\n    {s.get('url', s['link'])}"
                                               f"\n    {s['caption']}" for s in doc["scenes"])]
    print(json.dumps(doc, ensure_ascii=False) if args.json else "\n".join(text))


def lesson_doc(lesson: lessons.Lesson, lang: str, base_url: str | None) -> dict[str, Any]:
    """A lesson as `lessons NAME --json` prints it: its title, source and scenes with their links and checks."""
    from stabviz.handout import live_link

    scenes = []
    for n, scene in enumerate(lesson.scenes, 1):
        checks = [{"finding": c.finding, "theory": jsonable(c.theory), "rtol": c.rtol, "label": say(c.label, lang)}
                  for c in scene.checks]
        row = {"number": n, "title": say(scene.title, lang), "caption": say(scene.caption, lang), "page": scene.page,
               "tab": scene.tab, "link": live_link(lesson, n, lang, "")}
        scenes.append(row | ({"url": live_link(lesson, n, lang, base_url)} if base_url else {}) | {"checks": checks})
    return {"lesson": lesson.name, "title": say(lesson.title, lang), "source": say(lesson.source, lang),
            "scenes": scenes}


def params_markdown() -> str:
    """The README's per-page parameter table: URL/CLI name, default, allowed values, help."""
    lines = []
    for name in experiments.NAMES:
        lines += [f"#### `{name}`", "", "| parameter | default | allowed | meaning |", "| --- | --- | --- | --- |"]
        for field, spec in experiments.load(name).Params.specs().items():
            allowed = "auto, cpu, cuda (where present)" if field == "device" else spec.allowed()
            meaning = param_help(name, field, "en").replace("|", "\\|")
            lines.append(f"| `{field}` | `{to_text(spec.default)}` | {allowed} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def cmd_params(_: argparse.Namespace) -> None:
    print(params_markdown())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stabviz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the experiments").set_defaults(func=cmd_list)
    sub.add_parser("params", help="print every page's parameters (Markdown)").set_defaults(func=cmd_params)
    run = sub.add_parser("run", help="run one experiment (every tab, or --tab)")
    run.add_argument("target", metavar="NAME_OR_LINK")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--tab", help="only this tab (a link's tab= does the same); default: every tab")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(func=cmd_run)
    exp = sub.add_parser("export", help="write a page's figures, or a lesson's handout")
    exp.add_argument("target", metavar="NAME_OR_LINK", nargs="?")
    exp.add_argument("--lesson", help="write this lesson's handout: index.html, and each figure as PNG and SVG")
    exp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    exp.add_argument("--out", required=True)
    exp.add_argument("--format", choices=("png", "svg", "html"), help="default png; html: interactive, self-contained")
    exp.add_argument("--lang", choices=LANGS, default="en")
    exp.add_argument("--tab", help="only this tab's figures (a link's tab= does the same); default: every tab")
    exp.add_argument("--base-url", help=f"the live server the files link to (default: the link's, else {BASE_URL})")
    exp.set_defaults(func=cmd_export)
    les = sub.add_parser("lessons", help="list the lessons, or one lesson's scenes with their links")
    les.add_argument("name", nargs="?")
    les.add_argument("--json", action="store_true", help="print one JSON object")
    les.add_argument("--lang", choices=LANGS, default="en")
    les.add_argument("--base-url", help="also print each scene's absolute link on this server")
    les.set_defaults(func=cmd_lessons)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fix_threads()
    try:
        args.func(args)
    except (CliError, KeyError, ValueError) as err:  # BudgetError is a ValueError
        print(f"stabviz: {err.args[0] if err.args else err}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # the reader left early (`... | head`): stop quietly, like other command-line tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit cannot fail again
        return 1
    return 0
