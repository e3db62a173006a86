"""Both languages, everywhere: every string has English and Chinese with the same placeholders."""

import re
import string

import pytest

from stabviz import experiments
from stabviz.i18n import catalog, tr

CJK = re.compile(r"[\u4e00-\u9fff]")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("key", sorted(catalog()))
def test_every_string_exists_in_both_languages_with_the_same_placeholders(key):
    entry = catalog()[key]
    assert entry.get("en") and entry.get("zh"), key
    assert _fields(entry["en"]) == _fields(entry["zh"]), key


@pytest.mark.parametrize("name", experiments.available())
def test_every_page_has_its_texts(name):
    for part in ("title", "summary", "intro"):
        assert CJK.search(tr(f"{name}.{part}", "zh"))
    for sec in experiments.load(name).SECTIONS:
        assert CJK.search(tr(f"{name}.{sec.name}.title", "zh"))


@pytest.mark.parametrize("name", experiments.available())
def test_every_field_has_a_label_and_help_in_both_languages(name):
    for field, spec in experiments.load(name).Params.specs().items():
        assert spec.label.en and spec.label.zh and spec.help.en and spec.help.zh, field
