"""The README stays a short, true front door: its first commands are CI's, its generated parts and
docs/parameters.md match the code, and every image and file it (or the docs) points to exists."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_BYTES = 12_800  # readable in three minutes (about 10 KB of prose and tables, plus the findings' names, a
# list to look things up in); the measurement diary and tables live in bench/README.md
MAX_IMAGE_BYTES = 1_500_000  # docs/img in all
DOCS = (README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md")
LOCAL_TARGET = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img[^>]*\ssrc=\"([^\"]+)\"")


def _update_readme():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _local_targets(doc: Path) -> list[str]:
    """Links and images of a Markdown file that point into the repository (not the web, not an anchor)."""
    found = [a or b for a, b in LOCAL_TARGET.findall(doc.read_text())]
    return [t.split("#")[0] for t in found if not re.match(r"[a-z]+:|#", t)]


def test_readme_opens_with_the_install_and_test_commands_ci_runs():
    readme = README.read_text().splitlines()
    assert readme[3] == "bash scripts/install.sh && streamlit run app.py"
    test_command = readme[4]
    assert test_command.startswith("bash scripts/install.sh --dev && ")
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_generated_blocks_and_the_parameters_page_match_the_code():
    update = _update_readme()
    text = README.read_text()
    assert update.render(text) == text, "run: python scripts/update_readme.py"
    for tag in ("pages", "gallery"):
        assert f"<!-- {tag}:start -->" in text and f"<!-- {tag}:end -->" in text
    assert (ROOT / "docs" / "parameters.md").read_text() == update.parameters_doc(), \
        "run: python scripts/update_readme.py"


def test_readme_is_short():
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes; move detail to docs/ or bench/README.md"


def test_every_image_and_file_the_docs_point_to_exists():
    for doc in DOCS:
        assert doc.is_file(), doc
        targets = _local_targets(doc)
        missing = [t for t in targets if not (doc.parent / t).exists()]
        assert not missing, f"{doc.relative_to(ROOT)} points to missing {missing}"
    images = [t for t in _local_targets(README) if t.endswith(".png")]
    assert len(images) >= 2, "the README shows a page and a gallery"


def test_the_gallery_stays_small():
    total = sum(p.stat().st_size for p in (ROOT / "docs" / "img").glob("*"))
    assert total <= MAX_IMAGE_BYTES, f"docs/img holds {total} bytes: run scripts/gallery.py with a smaller WIDTH"
