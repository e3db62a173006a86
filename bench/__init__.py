"""The benchmark: `python -m bench` prints the speed table of the README (not a test).

It reuses the test helpers (AppTest page opener, Chromium server/wait), so their folders go on the path.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "app"), str(ROOT / "tests" / "e2e")]
