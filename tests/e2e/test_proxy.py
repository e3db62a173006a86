"""Through `scripts/serve.sh` (nginx in front of 2 servers): a link draws the same figure as on a single server,
each browser stays on one process, and the page shows no error."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request

import pytest
from browser import ERRORS, wait_drawn

from bench.serve import routes, serve

pytestmark = pytest.mark.e2e
LINKS = ["activations?functions=sigmoid,tanh,relu&depth=60&tab=chain", "deep_mlp?tab=scalar"]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FIGURES = """() => [...document.querySelectorAll('.vega-embed svg.marks')].map(svg =>
  [...svg.querySelectorAll('text')].map(t => t.textContent).join('|') + '#' +
  [...svg.querySelectorAll('path')].map(p => p.getAttribute('d')).join('|'))"""


@pytest.fixture(scope="module")
def proxy():
    """serve.sh with 2 replicas; fails in CI without nginx (install.sh --dev installs it), skips elsewhere."""
    if not os.path.exists(NGINX):
        message = f"no nginx at {NGINX}: bash scripts/install.sh --dev (or --serve) installs Debian's"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with serve(replicas=2) as served:
        yield served


def one_cookie_per_process(served) -> list[str]:
    """Route cookies that nginx's hash sends to different processes, found by asking it (GET /, log read back)."""
    for i in range(64):
        request = urllib.request.Request(f"{served.base}/", headers={"Cookie": f"stabviz_route=probe{i}"})
        urllib.request.urlopen(request, timeout=30).read()
    seen = routes(served.state)
    chosen = {seen[f"probe{i}"][0]: f"probe{i}" for i in range(64)}
    assert len(chosen) == 2, chosen  # 64 random-ish keys on a consistent hash reach both processes
    return sorted(chosen.values())


def figures(browser, base: str, link: str, cookie: str | None = None) -> list[str]:
    """Digests of the page's drawn charts (their texts and path geometry), after checking it shows no error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    if cookie:
        context.add_cookies([{"name": "stabviz_route", "value": cookie, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/{link}", timeout=120_000)
    wait_drawn(page)
    assert page.locator(ERRORS).count() == 0, link
    drawn = [hashlib.sha256(figure.encode()).hexdigest() for figure in page.evaluate(FIGURES)]
    context.close()
    return drawn


def test_a_link_through_the_proxy_draws_the_same_figures_on_either_process(browser, proxy, app_url):
    cookies = one_cookie_per_process(proxy)
    for link, cookie in zip(LINKS, cookies, strict=True):
        single = figures(browser, app_url, link)
        assert single, link
        assert figures(browser, proxy.base, link, cookie) == single, link
    seen = routes(proxy.state)
    for cookie in cookies:  # every request of the browser, HTML, WebSocket and the rest, reached one process
        assert len(seen[cookie]) > 5 and len(set(seen[cookie])) == 1, seen[cookie]
    assert len({seen[c][0] for c in cookies}) == 2  # the two pages were drawn by different processes
