"""Parameter schemas: one frozen dataclass per experiment drives widgets, URL, CLI and cache key.

A field is declared with :func:`param`, which stores a :class:`Spec` (bounds, choices,
bilingual label and help) in the dataclass field's metadata. ``__post_init__`` rejects
bad values loudly (for Python callers); :meth:`ParamsBase.parse` turns untrusted strings
(a URL, a CLI flag) into the nearest safe values plus readable warnings, and never raises.
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


@dataclass(frozen=True)
class Text:
    """A user-facing string in English and Simplified Chinese."""

    en: str
    zh: str

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, eq=False)
class Spec:
    """What one parameter may hold and how a person sees it."""

    kind: type  # int, float, bool, str, or tuple (a multi-choice of str)
    default: Any  # the value used when nothing (or nothing valid) is given
    label: Text  # widget label
    help: Text  # one-line help text, shown as the widget tooltip and in the README
    lo: float | None = None  # inclusive lower bound for numbers
    hi: float | None = None  # inclusive upper bound for numbers
    choices: tuple[str, ...] = ()  # allowed values for str / tuple fields
    labels: Mapping[str, Text] | None = None  # display names of choices (values stay neutral)
    step: float | None = None  # widget step for numbers
    widget: str = ""  # "slider" for a slider, else a number box / select box
    check: Callable[[Any], None] | None = None  # extra validation, raises ValueError

    def choice_label(self, value: str, lang: str) -> str:
        """Display name of a choice in the given language."""
        text = (self.labels or {}).get(value)
        return text(lang) if text else value

    def allowed(self) -> str:
        """The allowed values, as said in error messages."""
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return ", ".join(self.choices)
        return f"{_fmt(self.lo)} to {_fmt(self.hi)}"


def param(default: Any, label: Text, help: Text, **spec: Any) -> Any:
    """Declare a dataclass field carrying its :class:`Spec`."""
    kind = tuple if isinstance(default, tuple) else type(default)
    meta = {"spec": Spec(kind=kind, default=default, label=label, help=help, **spec)}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamIssue:
    """A value that was replaced by a safe one, with the reason in both languages."""

    name: str
    raw: str
    used: Any
    reason: Text

    def message(self, lang: str) -> str:
        used = _show(self.used)
        if lang == "zh":
            return f"参数 {self.name}：'{self.raw}' {self.reason.zh}，已改用 {used}。"
        return f"{self.name}: '{self.raw}' {self.reason.en}; using {used}."


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def _clamp(spec: Spec, x: float) -> tuple[float, Text | None]:
    if spec.lo is not None and x < spec.lo:
        return spec.lo, Text(f"is below the minimum {_fmt(spec.lo)}", f"低于下限 {_fmt(spec.lo)}")
    if spec.hi is not None and x > spec.hi:
        return spec.hi, Text(f"is above the maximum {_fmt(spec.hi)}", f"超过上限 {_fmt(spec.hi)}")
    return x, None


BAD_NUMBER = Text("is not a number", "不是数字")


def _coerce_number(spec: Spec, text: str) -> tuple[Any, Text | None]:
    try:
        x = float(text)
    except ValueError:
        return spec.default, BAD_NUMBER
    if math.isnan(x):
        return spec.default, BAD_NUMBER
    x, reason = _clamp(spec, x)
    if spec.kind is int:
        if x != round(x) and reason is None:
            reason = Text("is not a whole number", "不是整数")
        return int(round(x)), reason
    return x, reason


def _coerce_choice(spec: Spec, text: str) -> tuple[Any, Text | None]:
    lookup = {c.lower(): c for c in spec.choices}
    if text.strip().lower() in lookup:
        return lookup[text.strip().lower()], None
    return spec.default, Text(f"is not one of {spec.allowed()}", f"不在可选值 {spec.allowed()} 之中")


def _coerce_multi(spec: Spec, raw: Raw) -> tuple[Any, Text | None]:
    items = [raw] if isinstance(raw, str) else list(raw)
    words = [w.strip() for item in items for w in item.split(",") if w.strip()]
    lookup = {c.lower(): c for c in spec.choices}
    known = tuple(dict.fromkeys(lookup[w.lower()] for w in words if w.lower() in lookup))
    if not known:
        return spec.default, Text(f"names none of {spec.allowed()}", f"不含可选值 {spec.allowed()} 中的任何一个")
    if len(known) < len(words):
        return known, Text(f"has unknown or repeated entries (allowed: {spec.allowed()})", "含有未知或重复的项")
    return known, None


def _coerce_bool(spec: Spec, text: str) -> tuple[Any, Text | None]:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True, None
    if word in FALSE_WORDS:
        return False, None
    return spec.default, Text("is not true or false", "不是 true 或 false")


def coerce(spec: Spec, raw: Raw) -> tuple[Any, Text | None]:
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
        return spec.default, Text(f"is longer than {MAX_TEXT} characters", f"超过 {MAX_TEXT} 个字符")
    try:
        if spec.check:
            spec.check(text)
    except ValueError as err:
        return spec.default, Text(f"is not accepted ({err})", f"无法接受（{err}）")
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
