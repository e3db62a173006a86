"""The load test's distinct links: each a clean link to a result not computed before, so the caches fill."""

from bench.load import distinct_link
from stabviz import experiments
from stabviz.cli import resolve_target
from stabviz.ui_results import CACHE_ENTRIES


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


def test_nginx_log_gives_each_browser_its_processes_and_counts_a_split_browser(tmp_path):
    from bench.serve import routes, stickiness

    (tmp_path / "access.log").write_text("\n".join([
        '2026-12-03T18:00:00+00:00 aa 127.0.0.1:1 200 "GET /activations HTTP/1.1" 0.003',
        '2026-12-03T18:00:01+00:00 aa 127.0.0.1:1 101 "GET /_stcore/stream HTTP/1.1" 3.5',
        '2026-12-03T18:00:01+00:00 bb 127.0.0.1:2 200 "GET /_stcore/health HTTP/1.1" 0.001',  # serve.sh's check
        '2026-12-03T18:00:02+00:00 bb 127.0.0.1:2 200 "GET /deep_mlp?tab=scalar HTTP/1.1" 0.002',
        '2026-12-03T18:00:03+00:00 bb 127.0.0.1:2, 127.0.0.1:1 200 "GET /static/x.js HTTP/1.1" 0.01',  # a retry
        '2026-12-03T18:00:04+00:00 cc - 499 "GET /media/x.png HTTP/1.1" 0.0',  # never reached a process
    ]) + "\n")
    assert routes(tmp_path) == {"aa": ["127.0.0.1:1", "127.0.0.1:1"],
                                "bb": ["127.0.0.1:2", "127.0.0.1:2", "127.0.0.1:1"]}
    assert "1 cookies reached more than one process" in stickiness(tmp_path)


def test_the_soak_counts_an_exception_or_an_error_box_as_a_failed_load():
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from bench.soak import _failed

    def element(kind: str, **fields) -> ForwardMsg:
        message = ForwardMsg()
        target = getattr(message.delta.new_element, kind)
        for key, value in fields.items():
            setattr(target, key, value)
        return message

    assert _failed(element("exception", message="boom"))
    assert _failed(element("alert", body="bad link", format=1))  # st.error
    assert not _failed(element("alert", body="clamped", format=2))  # st.warning
    assert not _failed(element("markdown", body="fine"))
