"""UI strings in English and Simplified Chinese, one TOML file per page under ``locales/``.

Each entry is a table with ``en`` and ``zh``; a key is the file stem plus the dotted path,
e.g. ``activations.chain.title``. ``LANGS`` are the languages a link's ``lang=`` may name.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

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
