"""The Newton page: a link's surface and methods reach the numbers, failures are messages not
exceptions, bad values warn by name, and Chinese renders."""

from pagetest import chart_rows, charts, key, open_page, open_tabs, problems


def _rows(at, text: str) -> list[dict]:
    index = next(i for i, c in enumerate(charts(at)) if text in str(c.get("title")))
    return chart_rows(at, index)


def test_defaults_show_every_figure_and_the_root_tables():
    tabs = open_tabs("newton")
    for at in tabs.values():
        assert not problems(at) and not at.warning
    drawn = {tab: (len(charts(at)), len(at.dataframe)) for tab, at in tabs.items()}
    assert drawn == {"descent": (6, 0), "roots": (1, 2)}
    text = " ".join(m.value for m in tabs["roots"].markdown)
    assert "converged: 16.0 correct digits" in text


def test_link_restores_widgets_and_newton_shrinks_by_two_thirds_on_the_quartic():
    at = open_page("newton", {"surface": "quartic", "methods": "newton", "x0": "1.5", "steps": "6"})
    assert not problems(at) and not at.warning
    assert at.session_state[key("newton", "methods")] == ["newton"]
    assert at.slider(key=key("newton", "steps")).value == 6
    xs = sorted((r["step"], r["y"]) for r in _rows(at, "|x| and |y|")
                if r.get("series") == "Newton: |x|" and r.get("kind") == "measured")
    assert [round(b / a, 9) for (_, a), (_, b) in zip(xs, xs[1:], strict=False)] == [round(2 / 3, 9)] * 6


def test_a_flat_tangent_is_a_message_not_an_exception():
    at = open_page("newton", {"r0": "0", "tab": "roots"})
    assert not problems(at)
    text = " ".join(m.value for m in at.markdown)
    assert "f'(r) = 0 at step 0" in text


def test_bad_values_warn_by_name():
    at = open_page("newton", {"methods": "magic", "damping": "7", "formula": "x" * 300})
    assert not [e.value for e in at.exception]
    warned = " ".join(w.value for w in at.warning)
    assert "methods: 'magic'" in warned and "damping: '7'" in warned and "formula:" in warned


def test_chinese_link_renders_chinese():
    tabs = open_tabs("newton", {"lang": "zh", "r0": "0"})
    assert not [p for at in tabs.values() for p in problems(at)]
    assert "切线水平" in " ".join(m.value for m in tabs["roots"].markdown)
    assert "一正一负（鞍点）" in {r.get("kind") for r in _rows(tabs["descent"], "Hessian")}


def test_the_cubic_saddle_scene_runs_newton_100_steps_and_gd_50():
    query = {"surface": "cubic", "x0": "40", "y0": "50", "methods": "newton,gd", "lr": "0.0017", "steps": "100",
             "gd_steps": "50"}
    at = open_page("newton", query)
    assert not problems(at) and not at.warning
    rows = [r for r in _rows(at, "|x| and |y|") if r.get("kind") == "measured"]
    last = {s: max(r["step"] for r in rows if r["series"] == s) for s in ("Newton: |x|", "gradient descent: |x|")}
    assert last == {"Newton: |x|": 100, "gradient descent: |x|": 50}
    assert len(charts(at)) == 6


def test_the_roots_scene_stops_at_the_tolerance():
    at = open_page("newton", {"tab": "roots", "k": "2", "root_tol": "1e-9", "root_steps": "100"})
    assert not problems(at) and not at.warning
    text = " ".join(m.value for m in at.markdown)
    assert text.count("stopped after 4 steps") == 2  # √2 and ∛2, as the notes' while-loops
