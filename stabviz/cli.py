"""`python -m stabviz list | run | sweep | export | lessons | params`: the experiments headless, on the same schemas
and engine; values are checked strictly (:mod:`stabviz.cli_values`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from stabviz import cli_compare, experiments, lessons
from stabviz.cli_values import CliError, jsonable, parse_sets, resolve, resolve_target  # noqa: F401 (the CLI's API)
from stabviz.i18n import LANGS, param_help, tr
from stabviz.lessons import say
from stabviz.params import ParamsBase, to_text
from stabviz.runtime import fix_threads

USAGE_ERROR = 2
BASE_URL = "http://localhost:8501"  # where links in exports point unless --base-url (or an absolute link) says


def report(name: str, params: ParamsBase, result: experiments.Result) -> dict[str, Any]:
    """The JSON object of the CLI's contract (docs/architecture.md)."""
    tables = {k: [jsonable(r) for r in df.to_dict(orient="records")] for k, df in result.tables.items()}
    return {"experiment": name, "params": jsonable(params.as_dict()), "findings": jsonable(result.findings),
            "tables": tables}


def cmd_list(_: argparse.Namespace) -> None:
    for name in experiments.NAMES:
        print(f"{name:16s} {tr(f'{name}.summary', 'en')}")


def cmd_run(args: argparse.Namespace) -> None:
    target = resolve(args.target, args.tab)
    params = parse_sets(target.module.Params, args.set, target.query)
    pins = cli_compare.pins_of(params, args.compare, target.compare)
    result = experiments.Result()
    for sec in target.sections:
        result = result.merge(experiments.run_section(sec, params))
    runs = cli_compare.runs_doc(target.sections, params, pins)
    if args.json:
        doc = report(target.name, params, result) | ({"tab": target.tab} if target.tab else {})
        json.dump(doc | ({"runs": runs} if runs else {}), sys.stdout, ensure_ascii=False)
        print()
        return
    print(f"{target.name}{f' [{target.tab}]' if target.tab else ''}: {params}")
    for key, value in result.findings.items():
        print(f"  {key} = {value}")
    for key, df in result.tables.items():
        print(f"\n[{key}] {len(df)} rows\n{df.head(12).to_string(index=False)}")
    for run in runs:
        print(f"\nrun {run['run']} ({', '.join(f'{k}={v}' for k, v in run['set'].items())}):")
        print("\n".join(f"  {key} = {value}" for key, value in run["findings"].items()))


def cmd_export(args: argparse.Namespace) -> None:
    from stabviz import export, figures  # altair and vl-convert only when exporting

    if args.lesson is not None:
        return export_lesson(args)
    if args.target is None:
        raise CliError("export needs a page name or link, or --lesson NAME")
    target = resolve(args.target, args.tab)
    lang, fmt = target.lang or args.lang, args.format or "png"
    params = parse_sets(target.module.Params, args.set, target.query)
    pins = cli_compare.pins_of(params, args.compare, target.compare)
    base = (args.base_url or target.origin or BASE_URL).rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for sec in target.sections:
        shown = cli_compare.tab_figures(target, sec, params, pins, lang)
        for fig in figures.figures_of(shown).values():
            path = out / f"{fig.name}.{fmt}"
            values = {f: getattr(params, f) for f in sec.uses}
            link = base + target.link(params, sec, lang, target.compare)
            path.write_bytes(export.to_png(fig.chart) if fmt == "png" else export.to_svg(fig.chart) if fmt == "svg"
                             else export.figure_html(fig.chart, caption=fig.caption, page=target.name, params=values,
                                                     link=link, lang=lang).encode())
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
    run.add_argument("--compare", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                     help="also run this setting (the others as given); up to 4; adds 'runs' to the JSON")
    run.set_defaults(func=cmd_run)
    cli_compare.add_parser(sub)
    exp = sub.add_parser("export", help="write a page's figures, or a lesson's handout")
    exp.add_argument("target", metavar="NAME_OR_LINK", nargs="?")
    exp.add_argument("--lesson", help="write this lesson's handout: index.html, and each figure as PNG and SVG")
    exp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    exp.add_argument("--out", required=True)
    exp.add_argument("--compare", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                     help="draw this setting in every figure too, as a pinned run would be (up to 4)")
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
