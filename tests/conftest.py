"""Shared test set-up: torch threads pinned as in the app and CLI; the repo root and the helper
modules (tests/replay.py, tests/app/pagetest.py, tests/e2e/browser.py) importable. Tests import in importlib mode,
so tests/unit/test_x.py and tests/app/test_x.py may share a name."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "app"), str(ROOT / "tests" / "e2e")]

from stabviz.runtime import fix_threads  # noqa: E402

fix_threads()
