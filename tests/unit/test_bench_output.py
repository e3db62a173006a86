"""`python -m bench` prints its table and nothing else: no Streamlit bare-mode warnings between the rows."""

import logging
import subprocess
import sys
from pathlib import Path

from bench import BARE_MODE_WARNINGS, _not_bare_mode_noise, quiet_streamlit

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_table_comes_out_alone():
    """One page without the browser and the ratios (~5 s): its engine column calls the page's st.cache_data
    functions and its page-run column opens the page in AppTest, each of which warned outside a server."""
    done = subprocess.run([sys.executable, "-m", "bench", "--no-browser", "--no-ratios", "--pages", "activations"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("device: ") and lines[1] == ""
    assert lines[2].startswith("| page |") and lines[3].startswith("| --- |")
    assert [line.split(" | ")[0] for line in lines[4:]] == ["| activations"]


def test_only_the_bare_mode_warnings_are_dropped():
    quiet_streamlit()
    try:
        for name, words in BARE_MODE_WARNINGS.items():
            logger = logging.getLogger(name)
            noise = logger.makeRecord(name, logging.WARNING, __file__, 0, "Thread %r: " + words, ("MainThread",), None)
            other = logger.makeRecord(name, logging.WARNING, __file__, 0, "some other trouble", (), None)
            assert not logger.filter(noise) and logger.filter(other), name
    finally:
        for name in BARE_MODE_WARNINGS:
            logging.getLogger(name).removeFilter(_not_bare_mode_noise)
