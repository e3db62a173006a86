"""UI strings in English and Simplified Chinese, one TOML file per page under ``locales/``.

Each entry is a table with ``en`` and ``zh``; a key is the file stem plus the dotted path,
e.g. ``activations.chain.title``. ``LANGS`` are the languages a link's ``lang=`` may name.
The engine returns data (values, choice names, issue codes); only pages, figures and the CLI
phrase it, through the functions here.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from pathlib import Path

from stabviz.params import ParamIssue, Reason
from stabviz.runtime import BudgetError

LANGS = ("en", "zh")
LANG_NAMES = {"en": "English", "zh": "简体中文"}
LOCALES = Path(__file__).with_name("locales")


def _flatten(prefix: str, table: dict, out: dict[str, dict[str, str]]) -> None:
    """Collect every {en, zh} leaf table under its dotted key."""
    if "en" in table or "zh" in table:
        out[prefix] = table
        return
    for key, value in table.items():
        _flatten(f"{prefix}.{key}", value, out)


@functools.cache
def catalog() -> dict[str, dict[str, str]]:
    """Every string of every locale file, keyed ``stem.path``."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(LOCALES.glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(path.stem, tomllib.load(fh), out)
    return out


def tr(key: str, lang: str, **fmt: object) -> str:
    """The string ``key`` in ``lang`` (English if missing), formatted with ``fmt``."""
    entry = catalog().get(key)
    if entry is None:
        raise KeyError(f"no UI string {key!r} in {LOCALES}")
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def has(key: str) -> bool:
    """Whether a UI string exists (optional captions)."""
    return key in catalog()


def scoped(prefix: str) -> Callable[..., str]:
    """``tr`` under a key prefix: ``t = scoped("newton"); t("roots.title", lang)``."""
    return lambda key, lang, **fmt: tr(f"{prefix}.{key}", lang, **fmt)


def param_key(page: str, field: str, part: str) -> str:
    """Where a field's ``label`` or ``help`` lives: the page's ``param.<field>``, else the shared one in common."""
    own = f"{page}.param.{field}.{part}"
    return own if has(own) else f"common.param.{field}.{part}"


def param_label(page: str, field: str, lang: str) -> str:
    """A parameter's widget label."""
    return tr(param_key(page, field, "label"), lang)


def param_help(page: str, field: str, lang: str) -> str:
    """A parameter's one-line help: the widget's tooltip, the CLI's and the docs' parameter table."""
    return tr(param_key(page, field, "help"), lang)


@functools.cache
def vocabularies() -> dict[str, dict[str, str]]:
    """vocab -> value -> key: the shared ``choices.toml [vocab]`` and each page's own ``[choices.vocab]``."""
    out: dict[str, dict[str, str]] = {}
    for key in catalog():
        parts = key.split(".")
        at = 0 if parts[0] == "choices" else 1 if len(parts) == 4 and parts[1] == "choices" else None
        if at is not None:
            out.setdefault(parts[at + 1], {})[parts[at + 2]] = key
    return out


def choice_label(vocab: str, value: str, lang: str) -> str:
    """The display name of a language-neutral choice value (the value itself where none is given)."""
    key = vocabularies().get(vocab, {}).get(value)
    return tr(key, lang) if key else value


def reason_text(reason: Reason, lang: str) -> str:
    """Why a value was refused, said in ``lang`` ("is above the maximum 256")."""
    return tr(f"common.issue.{reason.code}", lang, **dict(reason.detail))


def issue_message(issue: ParamIssue, lang: str) -> str:
    """A replaced value, said in ``lang``: which parameter, what it got, why, and what is used (or that it is
    ignored, where nothing is used instead)."""
    if issue.used_text == "":
        return tr("common.issue.ignored", lang, name=issue.name, raw=issue.raw, reason=reason_text(issue.reason, lang))
    return tr("common.issue.message", lang, name=issue.name, raw=issue.raw, reason=reason_text(issue.reason, lang),
              used=issue.used_text)


def budget_message(err: BudgetError, lang: str) -> str:
    """A request refused before it ran, said in ``lang``."""
    return tr("common.budget.refused", lang, **err.message_fields())
