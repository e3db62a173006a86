"""The README's first commands, CI script and generated tables stay true."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _update_readme():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_opens_with_the_install_and_test_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    assert readme[3] == "bash scripts/install.sh && streamlit run app.py"
    test_command = readme[4]
    assert test_command.startswith("bash scripts/install.sh --dev && ")
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_generated_tables_match_the_code():
    text = (ROOT / "README.md").read_text()
    assert _update_readme().render(text) == text, "run: python scripts/update_readme.py"
