"""The benchmark: `python -m bench` prints the speed table of the README (not a test).

It reuses the test helpers (AppTest page opener, Chromium server/wait), so their folders go on the path.
"""

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "app"), str(ROOT / "tests" / "e2e")]

BARE_MODE_WARNINGS = {  # Streamlit logger -> what it says when its cached code or AppTest runs outside a server
    "streamlit.runtime.caching.cache_data_api": "No runtime found, using MemoryCacheStorageManager",
    "streamlit.runtime.scriptrunner_utils.script_run_context": "missing ScriptRunContext!",
}


def _not_bare_mode_noise(record: logging.LogRecord) -> bool:
    return BARE_MODE_WARNINGS.get(record.name, "\0") not in record.getMessage()


def quiet_streamlit() -> None:
    """Drop Streamlit's two bare-mode warnings, which the bench's in-process page code triggers (st.cache_data
    outside a server, AppTest's session state); every other record of those loggers still shows."""
    for name in BARE_MODE_WARNINGS:
        logger = logging.getLogger(name)  # the object streamlit.logger.get_logger returns (levels reset, not filters)
        if _not_bare_mode_noise not in logger.filters:
            logger.addFilter(_not_bare_mode_noise)
