"""Regenerate the README's generated blocks (pages list, parameter tables) from the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stabviz import experiments  # noqa: E402
from stabviz.cli import params_markdown  # noqa: E402
from stabviz.i18n import tr  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"


def pages_markdown() -> str:
    """One row per page: its path, what it teaches, and its tabs with their ``tab=`` names."""
    rows = ["| page | what it teaches | tabs (`tab=`) |", "| --- | --- | --- |"]
    for n in experiments.available():
        tabs = " · ".join(f"{tr(f'{n}.{s.name}.tab', 'en')} (`{s.name}`)" for s in experiments.load(n).SECTIONS)
        rows.append(f"| [`/{n}`](http://localhost:8501/{n}) {tr(f'{n}.title', 'en')} | {tr(f'{n}.summary', 'en')} | {tabs} |")
    return "\n".join(rows)


def render(text: str) -> str:
    """README text with both generated blocks replaced."""
    for tag, body in (("pages", pages_markdown()), ("params", params_markdown())):
        text = re.sub(rf"<!-- {tag}:start -->.*?<!-- {tag}:end -->",
                      lambda _m, t=tag, b=body: f"<!-- {t}:start -->\n{b}\n<!-- {t}:end -->", text, flags=re.S)
    return text


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
