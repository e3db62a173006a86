"""Pinned runs: settings kept beside the live one, so that every chart of a tab can compare them.

A pin is a whole setting (a ``Params``) with a letter and an optional name. In a link it is written as its
differences from the live setting (``pins=A,B&A.depth=50&B.dtype=float16&B.name=half``), so a pin survives a
change of the live knobs, and a pinned value is parsed, clamped and warned about exactly like a live one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stabviz.params import ParamIssue, ParamsBase, Raw, Reason, to_text
from stabviz.runtime import WORK_BUDGET

PIN_IDS = ("A", "B", "C", "D")  # at most four pinned runs, named by letter
PINS_KEY = "pins"  # URL key listing the pins in order
NAME_KEY = "name"  # <letter>.name: a pin's own name
MAX_NAME = 40  # longest pin name kept (the legend shows it)
LIVE = "live"  # the live run's id in tables and the CLI's JSON


@dataclass(frozen=True)
class Pin:
    """One pinned run: its letter, its whole setting and the name a user gave it ('' if none)."""

    id: str
    params: ParamsBase
    name: str = ""


def pin_query(pins: Sequence[Pin], live: ParamsBase) -> dict[str, str]:
    """The pins as URL values: their letters, then each one's differences from ``live`` and its name."""
    if not pins:
        return {}
    query = {PINS_KEY: ",".join(p.id for p in pins)}
    for pin in pins:
        query |= {f"{pin.id}.{f}": to_text(getattr(pin.params, f)) for f in changed(live, pin.params)}
        query |= {f"{pin.id}.{NAME_KEY}": pin.name} if pin.name else {}
    return query


def changed(a: ParamsBase, b: ParamsBase, fields: Sequence[str] | None = None) -> list[str]:
    """The fields (all, or ``fields``, in declaration order) in which two settings differ."""
    names = [f for f in a.specs() if fields is None or f in fields]
    return [f for f in names if getattr(a, f) != getattr(b, f)]


def differing(runs: Sequence[ParamsBase], fields: Sequence[str] | None = None) -> list[str]:
    """The fields in which any of ``runs`` differs from the first."""
    diff = {f for r in runs[1:] for f in changed(runs[0], r, fields)}
    return [f for f in runs[0].specs() if f in diff]


def parse_pins(raw: Mapping[str, Raw], live: ParamsBase) -> tuple[list[Pin], list[ParamIssue]]:
    """Pins from a link's values on top of ``live``; unknown letters and values are replaced and warned about."""
    if PINS_KEY not in raw:
        return [], []
    letters, issues = _letters(raw[PINS_KEY])
    pins = []
    for letter in letters:
        own = {k.split(".", 1)[1]: v for k, v in raw.items() if k.startswith(f"{letter}.")}
        name = _text(own.pop(NAME_KEY, ""))[:MAX_NAME]
        params, found = _pinned(live, own)
        pins.append(Pin(letter, params, name))
        issues += [ParamIssue(f"{letter}.{i.name}", i.raw, i.used, i.reason) for i in found]
        issues += [ParamIssue(f"{letter}.{k}", _text(v), "", Reason.of("unknown_param"))
                   for k, v in own.items() if k not in live.specs()]
    return pins, issues


def _letters(raw: Raw) -> tuple[list[str], list[ParamIssue]]:
    words = [w.strip().upper() for w in _text(raw).split(",") if w.strip()]
    letters = list(dict.fromkeys(w for w in words if w in PIN_IDS))
    bad = [w for w in words if w not in PIN_IDS]
    allowed = ", ".join(PIN_IDS)
    issue = ParamIssue(PINS_KEY, _text(raw)[:40], ",".join(letters), Reason.of("bad_entries", allowed=allowed))
    return letters, [issue] if bad else []


def _pinned(live: ParamsBase, own: Mapping[str, Raw]) -> tuple[ParamsBase, list[ParamIssue]]:
    """The live setting with a pin's own values, parsed like a link's."""
    base = {f: to_text(getattr(live, f)) for f in live.specs()}
    params, issues = type(live).parse(base | {k: v for k, v in own.items() if k in base})
    return params, [i for i in issues if i.name in own]


def _text(raw: Raw) -> str:
    return raw if isinstance(raw, str) else (raw[-1] if raw else "")


def within_budget(works: Sequence[float], budget: float = WORK_BUDGET) -> int:
    """How many runs, in order, fit the budget together (the live run's own work is always granted)."""
    total, kept = 0.0, 0
    for i, work in enumerate(works):
        total += work
        if i and total > budget:
            break
        kept += 1
    return kept


def next_letter(pins: Sequence[Pin]) -> str | None:
    """The first free letter, or None when all four are used."""
    used = {p.id for p in pins}
    return next((x for x in PIN_IDS if x not in used), None)
