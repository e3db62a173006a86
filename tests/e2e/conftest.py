"""Browser-test fixtures: Debian's chromium (no browser download), one app server per session."""

from __future__ import annotations

import os

import pytest
from browser import CHROMIUM, LAUNCH_ARGS, server


def pytest_collection_modifyitems(items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"no chromium at {CHROMIUM} (install Debian's chromium)")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "args": LAUNCH_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1400, "height": 1000}, "accept_downloads": True, "locale": "en-US"}


@pytest.fixture(scope="session")
def app_server():
    """(base URL, pid) of one `streamlit run app.py` for the whole session."""
    with server() as running:
        yield running


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server[0]
