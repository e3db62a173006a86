"""Reading the command line's values: strict ``--set``, a page name or link, JSON-ready numbers.

Values given with ``--set`` are checked strictly: an unknown name or a value the page would have to replace is an
error (exit status 2), because a script should not silently get other numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from stabviz import experiments
from stabviz.experiments import Section
from stabviz.i18n import LANGS, reason_text
from stabviz.params import ParamsBase, coerce
from stabviz.pins import PIN_IDS, PINS_KEY
from stabviz.sweep import FINDING_KEY
from stabviz.sweep import KEY as SWEEP_KEY

NOT_PARAMS = ("lang", "lesson", "scene", "view")  # keys a page's link may carry besides its values and tab
COMPARE_KEYS = (PINS_KEY, SWEEP_KEY, FINDING_KEY)  # a link's comparison keys, besides <letter>.<field>


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
    compare: dict[str, Any]  # the link's pins (pins=, <letter>.<field>=) and sweep (sweep=, finding=)
    lang: str | None
    origin: str | None  # scheme://host[:port] of an absolute link

    def link(self, params: ParamsBase, section: Section, lang: str, extra: dict[str, Any] | None = None) -> str:
        """The page's relative link to ``section`` with these values (the tab named unless it is the first), and
        ``extra`` (pins, a sweep)."""
        tab = {"tab": section.name} if section is not self.module.SECTIONS[0] else {}
        query = {**params.to_query(), **tab, **({"lang": lang} if lang != "en" else {}), **(extra or {})}
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
    compare = {k: query.pop(k) for k in list(query) if k in COMPARE_KEYS or "." in k and k.split(".")[0] in PIN_IDS}
    lang = extra.get("lang")
    if lang is not None and lang not in LANGS:
        raise CliError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    url = urlparse(target)
    origin = f"{url.scheme}://{url.netloc}" if url.scheme and url.netloc else None
    return Target(name, module, sections, tab, query, compare, lang, origin)
