"""Parameter schemas: one frozen dataclass per experiment drives widgets, URL, CLI and cache key.

A field is declared with :func:`param`, which stores a :class:`Spec` (default, bounds, choices)
in the dataclass field's metadata; its label and help live in the locale files, looked up by the
field's name (``stabviz.i18n.param_label``). ``__post_init__`` rejects bad values loudly (for
Python callers); :meth:`ParamsBase.parse` turns untrusted strings (a URL, a CLI flag) into the
nearest safe values plus issues that say why, and never raises.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

Raw = str | Sequence[str]

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f"})
MAX_TEXT = 200  # longest free-text value accepted from a URL or CLI


@dataclass(frozen=True, eq=False)
class Spec:
    """What one parameter may hold and how a person sees it."""

    kind: type  # int, float, bool, str, or tuple (a multi-choice of str)
    default: Any  # the value used when nothing (or nothing valid) is given
    lo: float | None = None  # inclusive lower bound for numbers
    hi: float | None = None  # inclusive upper bound for numbers
    choices: tuple[str, ...] = ()  # allowed values for str / tuple fields
    vocab: str = ""  # names the choices' display names: choices.toml [vocab], or a page's own [choices.vocab]
    step: float | None = None  # widget step for numbers
    widget: str = ""  # "slider" for a slider, else a number box / select box
    check: Callable[[Any], None] | None = None  # extra validation, raises ValueError

    def allowed(self) -> str:
        """The allowed values, as said in error messages."""
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return ", ".join(self.choices)
        return f"{_fmt(self.lo)} to {_fmt(self.hi)}"


def param(default: Any, **spec: Any) -> Any:
    """Declare a dataclass field carrying its :class:`Spec` (label and help: the locale's ``param.<name>``)."""
    kind = tuple if isinstance(default, tuple) else type(default)
    meta = {"spec": Spec(kind=kind, default=default, **spec)}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Reason:
    """Why a value was refused: a code (``common.issue.<code>`` in the locales) and its details."""

    code: str  # below_min, above_max, not_number, not_whole, not_choice, no_choice, bad_entries, not_bool, ...
    detail: tuple[tuple[str, str], ...] = ()  # (placeholder, text) pairs for the message

    @classmethod
    def of(cls, code: str, **detail: str) -> Reason:
        """A reason with its details as keywords: ``Reason.of("below_min", lo="1")``."""
        return cls(code, tuple(detail.items()))


@dataclass(frozen=True)
class ParamIssue:
    """A value that was replaced by a safe one, and why (phrased by ``stabviz.i18n.issue_message``)."""

    name: str
    raw: str
    used: Any
    reason: Reason

    @property
    def used_text(self) -> str:
        """The value used instead, as a link would write it."""
        return _show(self.used)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def _clamp(spec: Spec, x: float) -> tuple[float, Reason | None]:
    if spec.lo is not None and x < spec.lo:
        return spec.lo, Reason.of("below_min", lo=_fmt(spec.lo))
    if spec.hi is not None and x > spec.hi:
        return spec.hi, Reason.of("above_max", hi=_fmt(spec.hi))
    return x, None


BAD_NUMBER = Reason.of("not_number")


def _coerce_number(spec: Spec, text: str) -> tuple[Any, Reason | None]:
    try:
        x = float(text)
    except ValueError:
        return spec.default, BAD_NUMBER
    if math.isnan(x):
        return spec.default, BAD_NUMBER
    x, reason = _clamp(spec, x)
    if spec.kind is int:
        if x != round(x) and reason is None:
            reason = Reason.of("not_whole")
        return int(round(x)), reason
    return x, reason


def _coerce_choice(spec: Spec, text: str) -> tuple[Any, Reason | None]:
    lookup = {c.lower(): c for c in spec.choices}
    if text.strip().lower() in lookup:
        return lookup[text.strip().lower()], None
    return spec.default, Reason.of("not_choice", allowed=spec.allowed())


def _coerce_multi(spec: Spec, raw: Raw) -> tuple[Any, Reason | None]:
    items = [raw] if isinstance(raw, str) else list(raw)
    words = [w.strip() for item in items for w in item.split(",") if w.strip()]
    lookup = {c.lower(): c for c in spec.choices}
    known = tuple(dict.fromkeys(lookup[w.lower()] for w in words if w.lower() in lookup))
    if not known:
        return spec.default, Reason.of("no_choice", allowed=spec.allowed())
    if len(known) < len(words):
        return known, Reason.of("bad_entries", allowed=spec.allowed())
    return known, None


def _coerce_bool(spec: Spec, text: str) -> tuple[Any, Reason | None]:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True, None
    if word in FALSE_WORDS:
        return False, None
    return spec.default, Reason.of("not_bool")


def coerce(spec: Spec, raw: Raw) -> tuple[Any, Reason | None]:
    """Turn an untrusted string (or list of strings) into a valid value and maybe a reason."""
    if spec.kind is tuple:
        return _coerce_multi(spec, raw)
    text = raw if isinstance(raw, str) else (raw[-1] if raw else "")
    if spec.kind is bool:
        return _coerce_bool(spec, text)
    if spec.kind in (int, float):
        return _coerce_number(spec, text)
    if spec.choices:
        return _coerce_choice(spec, text)
    if len(text) > MAX_TEXT:
        return spec.default, Reason.of("too_long", n=str(MAX_TEXT))
    try:
        if spec.check:
            spec.check(text)
    except ValueError as err:
        return spec.default, Reason.of("not_accepted", why=str(err))
    return text, None


def validate(name: str, spec: Spec, value: Any) -> None:
    """Raise ValueError naming the parameter and its allowed values if ``value`` is bad."""
    ok = _is_valid(spec, value)
    if ok and spec.check:
        spec.check(value)
    if not ok:
        raise ValueError(f"{name} must be {spec.allowed()}, got {value!r}")


def _is_valid(spec: Spec, value: Any) -> bool:
    if spec.kind is tuple:
        return isinstance(value, tuple) and bool(value) and set(value) <= set(spec.choices)
    if spec.kind is bool or isinstance(value, bool):
        return spec.kind is bool and isinstance(value, bool)
    if spec.kind in (int, float):
        if not isinstance(value, (int, float)) or (spec.kind is int and not isinstance(value, int)):
            return False
        return not math.isnan(value) and _clamp(spec, float(value))[1] is None
    return isinstance(value, str) and (not spec.choices or value in spec.choices)


@dataclass(frozen=True)
class ParamsBase:
    """Base of every experiment's parameters: frozen, validated, hashable (a cache key)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            validate(f.name, f.metadata["spec"], getattr(self, f.name))

    @classmethod
    def specs(cls) -> dict[str, Spec]:
        """Field name -> Spec, in declaration order."""
        return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls)}

    @classmethod
    def parse(cls, raw: Mapping[str, Raw]) -> tuple[Self, list[ParamIssue]]:
        """Build params from untrusted strings; unknown keys are ignored, bad values replaced."""
        values, issues = {}, []
        for name, spec in cls.specs().items():
            if name not in raw:
                continue
            value, reason = coerce(spec, raw[name])
            values[name] = value
            if reason is not None:
                issues.append(ParamIssue(name, _show_raw(raw[name]), value, reason))
        return cls(**values), issues

    def to_query(self) -> dict[str, str]:
        """The values that differ from the defaults, as URL/CLI strings."""
        out = {}
        for name, spec in self.specs().items():
            value = getattr(self, name)
            if value != spec.default:
                out[name] = to_text(value)
        return out

    def as_dict(self) -> dict[str, Any]:
        """All values, JSON-ready (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def project(self, names: Sequence[str]) -> Self:
        """A copy keeping only ``names``; other fields go back to their defaults (a narrow cache key)."""
        return type(self)(**{n: getattr(self, n) for n in names})


def to_text(value: Any) -> str:
    """A value as it is written in a URL or a CLI flag."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(int(value))
    return str(value)


def _show_raw(raw: Raw) -> str:
    text = raw if isinstance(raw, str) else ",".join(raw)
    return text if len(text) <= 40 else text[:37] + "..."
