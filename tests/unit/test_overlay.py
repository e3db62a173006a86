"""Overlaying runs of a figure: colours kept per series, runs named in one legend, heat maps side by side,
rows capped, and the exported SVG showing every run."""

from __future__ import annotations

import re

import pytest

from stabviz import experiments, export, overlay
from stabviz.experiments import deep_mlp
from stabviz.figures import Figure
from stabviz.figures import load as load_figures

LABELS = ["live: depth 50", "A: depth 20", "B: depth 8, float64"]


def specs(section: str, *settings: deep_mlp.Params) -> dict[str, list[dict]]:
    """Each figure of a deep_mlp tab, rendered once per setting."""
    sec = next(s for s in deep_mlp.SECTIONS if s.name == section)
    out: dict[str, list[dict]] = {}
    for p in settings:
        for b in load_figures("deep_mlp").VIEWS[section](experiments.run_section(sec, p), p, "en"):
            if isinstance(b, Figure):
                out.setdefault(b.name, []).append(b.spec("en"))
    return out


@pytest.fixture(scope="module")
def flow() -> list[dict]:
    runs = (deep_mlp.Params(depth=50), deep_mlp.Params(depth=20), deep_mlp.Params(depth=8, dtype="float64"))
    return specs("gradient_flow", *runs)["deep_mlp_gradient_flow"]


def _colours(spec: dict) -> dict:
    """Series -> colour, from the first layer with a colour scale."""
    for layer in overlay._layers(spec):
        scale = layer.get("encoding", {}).get("color", {}).get("scale", {})
        if isinstance(scale.get("domain"), list) and isinstance(scale.get("range"), list):
            return dict(zip(scale["domain"], scale["range"], strict=True))
    return {}


def test_runs_overlay_in_one_layered_chart_named_by_one_legend(flow):
    out = overlay.combine(flow, LABELS, "Run")
    assert len(out["layer"]) == sum(len(overlay._layers(s)) for s in flow)
    named = [enc[c] for enc in (layer["encoding"] for layer in out["layer"]) for c in ("opacity", "strokeDash")
             if "datum" in enc.get(c, {})]
    assert {n["datum"] for n in named} == set(LABELS)
    assert all(n["scale"]["domain"] == LABELS for n in named)
    legends = {(c, n["legend"]["title"]) for c in ("opacity", "strokeDash") for layer in out["layer"]
               if "datum" in (n := layer["encoding"].get(c, {})) and n.get("legend")}
    assert legends == {("strokeDash", "Run")}  # one channel names the runs (Streamlit's Vega-Lite would draw two)


def test_each_series_keeps_its_own_colour_and_later_runs_add_theirs(flow):
    merged = _colours(overlay.combine(flow, LABELS, "Run"))
    for spec in flow:
        for series, colour in _colours(spec).items():
            assert merged[series] == _colours(flow[0]).get(series, colour)
    assert "measured ‖∂L/∂W_l‖ (float64)" in merged  # the float64 run's series joins the legend


def test_pinned_lines_are_dashed_and_fainter_and_live_ones_are_not(flow):
    out = overlay.combine(flow, LABELS, "Run")
    lines = [layer for layer in out["layer"] if overlay._mark(layer) == "line" and "strokeDash" in layer["encoding"]]
    assert {layer["encoding"]["strokeDash"]["datum"] for layer in lines} == set(LABELS)
    ranges = lines[0]["encoding"]["opacity"]["scale"]["range"]
    assert ranges[0] == 1 and all(a > b for a, b in zip(ranges, ranges[1:], strict=False))


def test_a_heat_map_is_drawn_side_by_side_on_shared_scales():
    small = {"train_width": 8, "train_batch": 4, "steps": 10}
    runs = (deep_mlp.Params(train_depth=4, **small), deep_mlp.Params(train_depth=6, **small))
    heat = specs("training", *runs)["deep_mlp_train_heatmap"]
    assert not overlay.can_overlay(heat[0])
    out = overlay.combine(heat, LABELS[:2], "Run")
    assert [v["title"]["text"] for v in out["concat"]] == LABELS[:2]
    assert out["resolve"]["scale"]["color"] == "shared"


def test_four_pins_of_a_large_chart_stay_under_the_row_limit():
    rows = [{"x": i % 2400, "y": 1.0, "series": "s", "state": "finite" if i % 997 else "inf"} for i in range(2400)]
    def chart(tag: int) -> dict:
        data = [dict(r, y=r["y"] + tag) for r in rows]
        return {"datasets": {f"d{tag}": data}, "layer": [{"data": {"name": f"d{tag}"}, "mark": "line", "encoding": {
            "x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}]}
    out = overlay.combine([chart(i) for i in range(5)], [str(i) for i in range(5)], "Run")
    assert overlay.rows(out) <= overlay.CHART_ROWS
    assert len(out["datasets"]["d0"]) == 2400  # the live run is never thinned
    kept = [r for r in out["datasets"]["d3"] if r["state"] == "inf"]
    assert len(kept) == sum(r["state"] == "inf" for r in rows)  # markers survive thinning


def test_the_exported_svg_shows_every_run(flow):
    svg = export.to_svg(overlay.combine(flow, LABELS, "Run")).decode()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert all(label in texts for label in LABELS) and "Run" in texts


def test_labels_fade_but_never_carry_the_runs_legend(flow):
    """A text layer in the runs' legend would make Vega draw every key blank (its symbol is the text mark's)."""
    runs = (deep_mlp.Params(depth=50, dtype="float16"), deep_mlp.Params(depth=20, dtype="float16"))
    spec = specs("gradient_flow", *runs)["deep_mlp_gradient_flow"]
    texts = [layer for layer in overlay.combine(spec, LABELS[:2], "Run")["layer"] if overlay._mark(layer) == "text"]
    assert texts and not any("opacity" in layer.get("encoding", {}) for layer in texts)
    live, pinned = texts[: len(texts) // 2], texts[len(texts) // 2:]
    assert all(p["mark"]["opacity"] < lv["mark"].get("opacity", 1) for lv, p in zip(live, pinned, strict=True))


def test_a_chart_grows_tall_enough_for_its_legends(flow):
    """Streamlit draws a chart at its height; legends taller than that are cut off at the bottom."""
    labels = [f"{x}: a run with a long name" for x in "LABCD"]
    out = overlay.combine([*flow, *flow[1:]], labels, "Run")
    assert out["height"] >= overlay.LEGEND_ENTRY_PX * (len(_colours(out)) * 2 + len(labels))  # colours, shapes, runs
    assert overlay.combine(flow[:2], LABELS[:2], "Run")["height"] == flow[0]["height"]  # two runs fit as they are
