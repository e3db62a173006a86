"""Both languages, everywhere, from one mechanism: every user-visible string is in the locale files.

One test per rule; each lists every key or field that breaks it, so a failure names them all.
"""

import ast
import functools
import re
import string
import tomllib
from pathlib import Path

from stabviz import experiments
from stabviz.i18n import LOCALES, catalog, has, param_key, tr, vocabularies
from stabviz.params import Spec, coerce

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGINE = Path(experiments.__file__).parent  # the engine phrases nothing
SHARED_ENGINE = ("params.py", "runtime.py", "nets.py", "mlp.py", "rnn.py", "surfaces.py", "formula.py")
SHORT = ("steps", "epochs", "sweep_steps")  # a training section runs its fewest steps here: its findings' keys remain


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _specs():
    for name in experiments.NAMES:
        for field, spec in experiments.load(name).Params.specs().items():
            yield name, field, spec


def test_every_string_has_english_and_chinese_with_the_same_placeholders():
    bad = [k for k, e in catalog().items() if not (e.get("en") and e.get("zh")) or _fields(e["en"]) != _fields(e["zh"])]
    assert bad == []


def test_every_page_and_tab_has_its_texts_and_they_are_written_in_chinese():
    keys = [f"{n}.{part}" for n in experiments.NAMES for part in ("title", "nav", "summary", "intro")]
    keys += [f"{n}.{s.name}.title" for n in experiments.NAMES for s in experiments.load(n).SECTIONS]
    tabs = [f"{n}.{s.name}.tab" for n in experiments.NAMES for s in experiments.load(n).SECTIONS]  # "Softmax" in both
    assert [k for k in keys if not has(k) or not CJK.search(tr(k, "zh"))] + [k for k in tabs if not has(k)] == []


def test_every_parameter_has_a_label_and_a_help_in_both_languages():
    missing = [f"{n}.{f}.{part}" for n, f, _ in _specs() for part in ("label", "help")
               if not has(param_key(n, f, part))]
    assert missing == []


def test_every_parameter_string_belongs_to_a_parameter():
    fields = {(n, f) for n, f, _ in _specs()}
    shared = {f for _, f in fields}
    stale = [k for k in catalog() if ".param." in k and not _owned(k, fields, shared)]
    assert stale == []


def _owned(key: str, fields: set[tuple[str, str]], shared: set[str]) -> bool:
    page, _, field = key.split(".")[:3]
    return field in shared if page == "common" else (page, field) in fields


def test_every_choice_of_a_named_vocabulary_has_a_display_name():
    missing = [f"{n}.{f}: {s.vocab}.{c}" for n, f, s in _specs() if s.vocab for c in s.choices
               if c not in vocabularies().get(s.vocab, {})]
    assert missing == []


def test_every_vocabulary_is_defined_once_and_used():
    """Shared ones in choices.toml, a page's own in its file; a name in two places would shadow one."""
    owners: dict[str, list[str]] = {}
    for path in sorted(LOCALES.glob("*.toml")):
        with path.open("rb") as fh:
            table = tomllib.load(fh)
        for vocab in table if path.stem == "choices" else table.get("choices", {}):
            owners.setdefault(vocab, []).append(path.stem)
    assert {v: o for v, o in owners.items() if len(o) > 1} == {}
    assert set(owners) - {s.vocab for _, _, s in _specs()} == set() and set(owners) == set(vocabularies())


def test_every_reason_a_value_is_refused_is_phrased_in_the_locales():
    specs = [Spec(int, 5, lo=1, hi=9), Spec(str, "a", choices=("a", "b")), Spec(tuple, ("a",), choices=("a", "b")),
             Spec(bool, False), Spec(str, "")]
    raws = ["0", "99", "x", "2.5", "c", "a,c", "c,d", "maybe", "y" * 500]
    codes = {r.code for spec in specs for raw in raws if (r := coerce(spec, raw)[1]) is not None}
    assert len(codes) >= 8 and [c for c in codes if not has(f"common.issue.{c}")] == []


def test_the_engine_calls_no_translation_function():
    files = [*ENGINE.glob("*.py"), *(ENGINE.parent / f for f in SHARED_ENGINE)]
    offenders = [p.name for p in files if any(
        isinstance(n, ast.ImportFrom) and (n.module or "").startswith("stabviz.i18n")
        or isinstance(n, ast.Import) and any(a.name.startswith("stabviz.i18n") for a in n.names)
        for n in ast.walk(ast.parse(p.read_text())))]
    assert len(files) > 20 and offenders == []


@functools.cache
def _quick_result(name: str, section: str) -> experiments.Result:
    """A section's result at the default params, a training section at its fewest steps."""
    params = experiments.load(name).Params
    sec = {s.name: s for s in experiments.load(name).SECTIONS}[section]
    fewest = {f: params.specs()[f].lo for f in SHORT if sec.long and f in sec.uses}
    return experiments.run_section(sec, params(**fewest))


def _finding_offenders(name: str, sec: experiments.Section) -> list[str]:
    """A declared finding without both texts, absent from the result, not a number, or claiming another's key."""
    found, out, measured, theory = _quick_result(name, sec.name).findings, [], [], set()
    for f in sec.findings:
        key = f"{name}.finding.{f.name}"
        out += [f"{key}.{part}: no text" for part in ("label", "help") if not has(f"{key}.{part}")]
        series = f.series(found)
        out += [f"{name}.{sec.name}.{f.key}: not in the result"] if not series else []
        out += [f"{name}.{sec.name}.{f.key}[{s}]: {v!r} is not a number" for s, v in series.items()
                if isinstance(v, bool) or not isinstance(v, int | float)]
        measured += [f.key.replace("*", s) if s else f.key for s in series]
        theory |= {f.theory.replace("*", s) for s in series} if f.theory else set()
    twice = {k for k in measured if measured.count(k) > 1 or k in theory}
    return out + [f"{name}.{sec.name}: {k} is a series of two findings or also a theory" for k in sorted(twice)]


def test_every_declared_finding_is_a_number_of_its_result_with_a_label_and_a_help_in_both_languages():
    """What a sweep plots and a comparison lists: one key per series (a family's '_*' must not also match another
    finding's key or a theory's), a number (inf/nan allowed), an axis title and a one-line meaning."""
    sections = [(n, s) for n in experiments.NAMES for s in experiments.load(n).SECTIONS]
    assert [o for n, s in sections if s.findings for o in _finding_offenders(n, s)] == []


def test_every_section_declares_a_finding_and_every_finding_string_belongs_to_one():
    declared = {f"{n}.finding.{f.name}" for n in experiments.NAMES for s in experiments.load(n).SECTIONS
                for f in s.findings}
    bare = [f"{n}.{s.name}" for n in experiments.NAMES for s in experiments.load(n).SECTIONS if not s.findings]
    stale = [k for k in catalog() if ".finding." in k and k.rsplit(".", 1)[0] not in declared]
    assert bare + stale == []
