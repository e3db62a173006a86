"""Shared test set-up: torch threads pinned as in the app and CLI, repo root on sys.path."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stabviz.runtime import fix_threads  # noqa: E402

fix_threads()
