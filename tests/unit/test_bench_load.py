"""The load test's distinct links: each a clean link to a result not computed before, so the caches fill."""

from bench.load import distinct_link
from stabviz import experiments
from stabviz.cli import resolve_target
from stabviz.ui_page import CACHE_ENTRIES


def test_distinct_links_are_clean_and_each_a_new_cache_entry():
    keys = set()
    for i in range(4 * CACHE_ENTRIES):
        name, query = resolve_target(distinct_link(i))
        module = experiments.load(name)
        params, issues = module.Params.parse(query)
        assert not issues, (distinct_link(i), issues)
        section = next(s for s in module.SECTIONS if s.name == query["tab"])
        keys.add((section.name, params.project(section.uses)))  # what cached_section is keyed by
    assert len(keys) == 4 * CACHE_ENTRIES
