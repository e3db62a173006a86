"""Regenerate what the docs derive from the code: the README's pages table (with each page's findings) and gallery,
and docs/parameters.md (parameters and findings).

    python scripts/update_readme.py

tests/unit/test_readme.py fails while any of them differs from what this script renders. The gallery's images
themselves come from the browser tests' screenshots: scripts/gallery.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stabviz import experiments  # noqa: E402
from stabviz.cli import params_markdown  # noqa: E402
from stabviz.i18n import tr  # noqa: E402

README = ROOT / "README.md"
PARAMETERS = ROOT / "docs" / "parameters.md"
GALLERY_COLUMNS = 4

PARAMETERS_HEAD = """\
# Parameters

Every page's parameters: the names are the same in a link (`/deep_mlp?depth=200`), in the command line's
`--set depth=200` and in the code (the fields of `Params` in `stabviz/experiments/<page>.py`). A link also takes
`tab=` (the open tab, named in the README's pages table) and `lang=zh`. A value out of range or malformed in a
link is replaced by the nearest allowed one, with a warning on the page; on the command line it is an error.

The [findings](#findings) below them are the numbers a tab reports that a sweep can plot against a parameter
and a comparison lists per pinned run.

Generated from the code by `python scripts/update_readme.py` (the parameter tables are `python -m stabviz
params`); a test fails when this file falls out of step with the code, so edit the code, not this file.

"""

FINDINGS_HEAD = """## Findings

Each tab's findings (`Section.findings`), the numbers a sweep plots against a parameter (`--finding NAME`) and a
comparison lists per pinned run. A name ending in `_*` is a family: one series per chosen function, scheme, cell,
norm, method, dtype… (the `*`). The theory column names the finding holding the theory's value for the same
parameters, drawn beside the measurement. inf and nan are values: drawn as markers.

"""


def pages_markdown() -> str:
    """One row per page: its path, what it teaches, and its tabs with their ``tab=`` names."""
    rows = ["| page | what it teaches | tabs (`tab=`) |", "| --- | --- | --- |"]
    for n in experiments.NAMES:
        tabs = " · ".join(f"{tr(f'{n}.{s.name}.tab', 'en')} (`{s.name}`)" for s in experiments.load(n).SECTIONS)
        page = f"[`/{n}`](http://localhost:8501/{n}) {tr(f'{n}.title', 'en')}"
        rows.append(f"| {page} | {tr(f'{n}.summary', 'en')} | {tabs} |")
    rows += ["", "Findings to sweep or compare (`--finding`; [meanings](docs/parameters.md#findings)):", ""]
    rows += [f"- `{n}`: {', '.join(dict.fromkeys(f.name for s in experiments.load(n).SECTIONS for f in s.findings))}"
             for n in experiments.NAMES]
    return "\n".join(rows)


def findings_markdown() -> str:
    """Per page, a table of its tabs' findings: name (a family's with ``_*``), theory, meaning in English."""
    lines = [FINDINGS_HEAD.rstrip("\n"), ""]
    for n in experiments.NAMES:
        lines += [f"#### `{n}`", "", "| tab | finding | theory | meaning |", "| --- | --- | --- | --- |"]
        for s in experiments.load(n).SECTIONS:
            for f in s.findings:
                theory = f"`{f.theory}`" if f.theory else ""
                meaning = tr(f"{n}.finding.{f.name}.help", "en").replace("|", "\\|")
                lines.append(f"| `{s.name}` | `{f.key}` | {theory} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def gallery_markdown() -> str:
    """Every page's screenshot (docs/img/<page>.png, made by scripts/gallery.py), a few to a row under their names."""
    names = experiments.NAMES
    rows = []
    for i in range(0, len(names), GALLERY_COLUMNS):
        chunk = names[i:i + GALLERY_COLUMNS]
        rows.append("| " + " | ".join(f"`{n}`" for n in chunk) + " |")
        if i == 0:
            rows.append("| " + " | ".join("---" for _ in chunk) + " |")
        rows.append("| " + " | ".join(f"![{n}](docs/img/{n}.png)" for n in chunk) + " |")
    return "\n".join(rows)


def parameters_doc() -> str:
    """The whole of docs/parameters.md."""
    return PARAMETERS_HEAD + params_markdown().rstrip("\n") + "\n\n" + findings_markdown().rstrip("\n") + "\n"


def render(text: str) -> str:
    """README text with its generated blocks (pages table, gallery) replaced."""
    for tag, body in (("pages", pages_markdown()), ("gallery", gallery_markdown())):
        text = re.sub(rf"<!-- {tag}:start -->.*?<!-- {tag}:end -->",
                      lambda _m, t=tag, b=body: f"<!-- {t}:start -->\n{b}\n<!-- {t}:end -->", text, flags=re.S)
    return text


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    PARAMETERS.parent.mkdir(exist_ok=True)
    PARAMETERS.write_text(parameters_doc())
