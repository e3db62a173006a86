"""The command line's comparisons: ``run --compare``, the pins and sweep of a link, and ``sweep``.

As strict as ``--set``: a compared or swept value the page would have to replace is an error (exit status 2).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Mapping
from typing import Any

from stabviz import experiments, sweep
from stabviz.cli_values import CliError, jsonable, parse_sets, resolve
from stabviz.experiments import Section
from stabviz.i18n import issue_message
from stabviz.params import ParamsBase, to_text
from stabviz.pins import NAME_KEY, PIN_IDS, Pin, changed, parse_pins


def pairs(text: str) -> list[str]:
    """``depth=100,functions=sigmoid,relu`` -> ["depth=100", "functions=sigmoid,relu"] (a comma starts a new
    pair only where a ``key=`` follows)."""
    out: list[str] = []
    for part in text.split(","):
        if "=" in part or not out:
            out.append(part.strip())
        else:
            out[-1] += "," + part.strip()
    return [p for p in out if p]


def pins_of(live: ParamsBase, compares: list[str], link: Mapping[str, Any]) -> list[Pin]:
    """The link's pins, then one per ``--compare`` (strict), lettered in order; at most four."""
    pins, issues = parse_pins(link, live)
    if issues:
        raise CliError(issue_message(issues[0], "en"))
    if len(pins) + len(compares) > len(PIN_IDS):
        raise CliError(f"at most {len(PIN_IDS)} runs can be compared with the live one")
    free = [x for x in PIN_IDS if x not in {p.id for p in pins}]
    base = {f: to_text(getattr(live, f)) for f in live.specs()}
    return pins + [Pin(letter, parse_sets(type(live), pairs(text), base)) for letter, text in zip(free, compares,
                                                                                                 strict=False)]


def runs_doc(sections: tuple[Section, ...], live: ParamsBase, pins: list[Pin]) -> list:
    """The ``runs`` key of ``run --json``: each pin's letter, name, differences, params and findings."""
    out = []
    for pin in pins:
        result = experiments.Result()
        for sec in sections:
            result = result.merge(experiments.run_section(sec, pin.params))
        diff = {f: getattr(pin.params, f) for f in changed(live, pin.params)}
        out.append({"run": pin.id, NAME_KEY: pin.name, "set": jsonable(diff), "params": jsonable(pin.params.as_dict()),
                    "findings": jsonable(result.findings)})
    return out


def sweep_section(module: Any, finding: str, knob: str, tab: str | None) -> Section:
    """The tab that declares ``finding`` and uses ``knob`` (``tab`` first, when given)."""
    found = [s for s in module.SECTIONS if tab in (None, s.name) and sweep.finding_of(s, finding) and knob in s.uses]
    if not found:
        names = sorted({f.name for s in module.SECTIONS for f in s.findings if tab in (None, s.name)})
        raise CliError(f"no tab{f' {tab!r}' if tab else ''} declares the finding {finding!r} and uses {knob!r}; "
                           f"findings: {', '.join(names)}")
    return found[0]


def run_sweep(module: Any, live: ParamsBase, knob: str, finding: str, tab: str | None,
              ) -> tuple[Section, sweep.Sweep, Any]:
    """A strict sweep on ``live``: its tab, its settings and its tidy table (refused over budget)."""
    sec = sweep_section(module, finding, knob.replace("=", ":", 1).partition(":")[0].strip(), tab)
    parsed, issues = sweep.parse(knob, finding, module.Params, sec)
    if issues or parsed is None:
        raise CliError(issue_message(issues[0], "en"))
    points = sweep.settings(live, parsed)
    return sec, parsed, sweep.run(sec, points, parsed, lambda p: experiments.run_section(sec, p))


def cmd_sweep(args: argparse.Namespace) -> None:
    """``python -m stabviz sweep NAME_OR_LINK --knob std=0.1:10:log:21 --finding F [--json | --format csv]``."""
    target = resolve(args.target, args.tab)
    live = parse_sets(target.module.Params, args.set, target.query)
    sec, parsed, df = run_sweep(target.module, live, args.knob, args.finding, target.tab)
    if args.format == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        sys.stdout.write(buf.getvalue())
        return
    doc = {"experiment": target.name, "tab": sec.name, "params": jsonable(live.as_dict()),
           "sweep": {"knob": parsed.knob, "text": parsed.text(live.specs()[parsed.knob]), "finding": parsed.finding,
                     "values": jsonable(parsed.values(live.specs()[parsed.knob]))},
           "points": [jsonable(r) for r in df.to_dict(orient="records")]}
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
        return
    print(f"{target.name} [{sec.name}]: {parsed.finding} against {doc['sweep']['text']}")
    print(df.to_string(index=False))


def add_parser(sub: Any) -> None:
    """The ``sweep`` subcommand."""
    p = sub.add_parser("sweep", help="one finding of a tab at many values of one knob")
    p.add_argument("target", metavar="NAME_OR_LINK")
    p.add_argument("--knob", required=True, help="KNOB=LO:HI[:lin|log[:POINTS]], or a choice/switch knob's name")
    p.add_argument("--finding", required=True, help="a finding the tab declares (docs/parameters.md lists them)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--tab", help="the tab (default: the one that declares the finding)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--format", choices=("csv",), help="print the points as CSV")
    p.set_defaults(func=cmd_sweep)


def tab_figures(target: Any, sec: Section, live: ParamsBase, pins: list[Pin], lang: str) -> list:
    """A tab's blocks as the page shows them: every pinned run drawn in, and the link's sweep when it is this tab's
    (charts as Vega-Lite dicts)."""
    from stabviz import comparison
    from stabviz.figures import Figure, load, sweep_plot

    def rendered(p: ParamsBase, result: experiments.Result) -> list:
        return [Figure(b.name, b.spec(lang), b.caption) if isinstance(b, Figure) else b
                for b in load(target.name).VIEWS[sec.name](result, p, lang)]

    plan = comparison.plan(target.name, sec, live, pins, lang)
    if plan.over:
        raise CliError(f"pinned runs {', '.join(plan.over)} and the live one together exceed the work budget")
    shown, _ = comparison.blocks(target.name, sec, plan, lang, lambda p: experiments.run_section(sec, p), rendered)
    link_tab = target.tab or target.module.SECTIONS[0].name
    if sweep.KEY in target.compare and sec.name == link_tab:
        _, parsed, df = run_sweep(target.module, live, _one(target.compare[sweep.KEY]),
                                  _one(target.compare.get(sweep.FINDING_KEY, "")), sec.name)
        shown += [Figure(b.name, b.spec(lang), b.caption) if isinstance(b, Figure) else b
                  for b in sweep_plot.blocks(df, target.name, sec, live, parsed, lang)]
    return shown


def _one(raw: Any) -> str:
    return raw if isinstance(raw, str) else raw[-1]
