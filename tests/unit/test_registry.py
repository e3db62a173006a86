"""One registry of pages: the app's pages/ folder agrees with it, and an installed stabviz knows every page."""

import ast
import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from stabviz import experiments

ROOT = Path(__file__).resolve().parents[2]


def _page_call(path: Path) -> str | None:
    """The experiment a page file opens: the argument of its experiment_page("...") call."""
    calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "experiment_page"]
    return calls[0].args[0].value if len(calls) == 1 else None


def test_the_pages_folder_holds_exactly_the_registered_pages_each_opening_its_own_experiment():
    files = {p.stem: p for p in (ROOT / "pages").glob("*.py")}
    assert sorted(files) == sorted(experiments.NAMES)
    assert {stem: _page_call(p) for stem, p in files.items()} == {n: n for n in experiments.NAMES}


def test_every_registered_page_has_its_engine_figures_locale_and_icon():
    from stabviz import figures
    from stabviz.i18n import LOCALES
    for name in experiments.NAMES:
        module = experiments.load(name)
        assert set(figures.load(name).VIEWS) == {s.name for s in module.SECTIONS}, name
        assert (LOCALES / f"{name}.toml").is_file() and experiments.PAGES[name].startswith(":material/"), name


def test_an_unknown_experiment_names_the_choices():
    with pytest.raises(KeyError, match="choose from activations, initialization"):
        experiments.load("nope")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """stabviz installed (not editable) from a copy of the tracked files into a venv that sees this Python's
    packages; returns the venv's bin folder."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for rel in tracked.split():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    venv.create(tmp / "venv", system_site_packages=True, with_pip=False)
    bin_ = tmp / "venv" / "bin"
    subprocess.run([bin_ / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(src)],
                   check=True, capture_output=True)
    return bin_


def _stabviz(bin_: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([bin_ / "stabviz", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_installed_package_lists_runs_and_exports_every_page_from_another_folder(installed, tmp_path):
    where = subprocess.run([installed / "python", "-c", "import stabviz; print(stabviz.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where  # the installed copy, not this checkout
    listed = _stabviz(installed, tmp_path, "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(experiments.NAMES), listed.stderr
    ran = _stabviz(installed, tmp_path, "run", "activations", "--set", "depth=5", "--json")
    assert json.loads(ran.stdout)["params"]["depth"] == 5, ran.stderr
    out = tmp_path / "figs"
    exported = _stabviz(installed, tmp_path, "export", "/newton?tab=roots&lang=zh", "--out", str(out),
                        "--format", "svg")
    assert exported.returncode == 0 and sorted(p.suffix for p in out.iterdir()) == [".svg"], exported.stderr
