"""`python -m stabviz list | run | export`: the experiments headless, on the same schemas and engine.

Values given with ``--set`` are checked strictly: an unknown name or a value the page would
have to replace is an error (exit status 2), because a script should not silently get other numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from stabviz import experiments
from stabviz.i18n import LANGS, param_help, reason_text, tr
from stabviz.params import ParamsBase, coerce, to_text
from stabviz.runtime import fix_threads

USAGE_ERROR = 2


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


def cmd_run(args: argparse.Namespace) -> None:
    params = parse_sets(experiments.load(args.name).Params, args.set)
    result = experiments.run(args.name, params)
    if args.json:
        json.dump(report(args.name, params, result), sys.stdout, ensure_ascii=False)
        print()
        return
    print(f"{args.name}: {params}")
    for key, value in result.findings.items():
        print(f"  {key} = {value}")
    for key, df in result.tables.items():
        print(f"\n[{key}] {len(df)} rows\n{df.head(12).to_string(index=False)}")


def resolve_target(target: str) -> tuple[str, dict[str, Any]]:
    """An experiment name, or a shareable link: its path names the page, its query the values."""
    if "/" not in target and "?" not in target:
        return target, {}
    url = urlparse(target)
    name = url.path.rstrip("/").rsplit("/", 1)[-1]
    query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()}
    return name, query


def cmd_export(args: argparse.Namespace) -> None:
    from stabviz import export, figures  # altair and vl-convert only when exporting

    name, query = resolve_target(args.target)
    lang = query.pop("lang", args.lang)
    if lang not in LANGS:
        raise CliError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    module = experiments.load(name)
    tab = query.pop("tab", args.tab)
    sections = [s for s in module.SECTIONS if tab in (None, s.name)]
    if not sections:
        raise CliError(f"tab must be one of {', '.join(s.name for s in module.SECTIONS)}, got {tab!r}")
    params = parse_sets(module.Params, args.set, query)
    views = figures.load(name).VIEWS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for sec in sections:
        result = experiments.run_section(sec, params)
        for fig in figures.figures_of(views[sec.name](result, params, lang)).values():
            spec = fig.spec(lang)
            data = export.to_png(spec) if args.format == "png" else export.to_svg(spec)
            path = out / f"{fig.name}.{args.format}"
            path.write_bytes(data)
            print(path)


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
    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(func=cmd_run)
    exp = sub.add_parser("export", help="write a page's figures")
    exp.add_argument("target", metavar="NAME_OR_LINK")
    exp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    exp.add_argument("--out", required=True)
    exp.add_argument("--format", choices=("png", "svg"), default="png")
    exp.add_argument("--lang", choices=LANGS, default="en")
    exp.add_argument("--tab", help="only this tab's figures (a link's tab= does the same); default: every tab")
    exp.set_defaults(func=cmd_export)
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
