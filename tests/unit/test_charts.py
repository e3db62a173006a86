"""Log axes never break: zero, inf and nan become markers; the spec stays strict JSON; axes read cleanly; series
differ by colour and shape, in colours that stay apart for colour-blind readers."""

import json
import math
import re

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

from stabviz.chart_style import MARKS, PALETTE, SHAPES, THEORY_KEY, marked
from stabviz.charts import heatmap, line_chart, log_profile, themed
from stabviz.logscale import for_log, log_domain, log_y, symlog_axis
from stabviz.states import state_of


def test_states_classify_magnitudes():
    assert list(state_of([1.0, 0.0, -np.inf, np.nan, -2.0])) == ["finite", "zero", "inf", "nan", "finite"]


def test_domain_ignores_zero_and_inf_and_survives_all_bad():
    lo, hi = log_domain([0.0, 1e-3, 1e2, np.inf, np.nan])
    assert lo < 1e-3 and hi > 1e2 and lo > 0
    assert log_domain([0.0, np.inf]) == (1e-3, 1e3)
    assert log_domain([5e-324, 1e308])[0] > 0


def test_nonfinite_values_sit_on_the_floor_and_ceiling():
    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": [1.0, 0.0, np.inf, np.nan]})
    out = for_log(df, "y", (1e-5, 1e5))
    assert list(out["y"]) == [1.0, 1e-5, 1e5, 1e5]
    assert list(out["exact"]) == ["1", "0", "inf", "nan"]


def test_a_y_column_named_value_keeps_its_numbers():
    df = pd.DataFrame({"x": [1, 2], "value": [0.5, 0.0]})
    out = for_log(df, "value", (1e-5, 1e5))
    assert list(out["value"]) == [0.5, 1e-5] and list(out["exact"]) == ["0.5", "0"]


def test_log_profile_spec_is_strict_json_with_marker_rows():
    df = pd.DataFrame({"layer": [1, 2, 3, 4] * 2, "g": [1e-3, 0.0, np.inf, np.nan, 1, 2, 3, 4],
                       "net": ["a"] * 4 + ["b"] * 4})
    spec = log_profile(df, "layer", "g", "net", lang="en", x_title="layer", y_title="|g|", dtype="float16").to_dict()
    text = json.dumps(spec, allow_nan=False)  # raises on NaN/inf
    assert "overflow to inf" in text and "underflow to 0" in text
    scale = spec["encoding"]["y"]["scale"]
    assert scale["type"] == "log" and all(v > 0 and math.isfinite(v) for v in scale["domain"])
    assert "65504" in text or "6.55e+04" in text  # fp16 limit drawn


def test_heatmap_greys_out_nonfinite_cells():
    """Drawn by Vega: the nan and inf cells are grey squares with ✕ (a colour condition on null z drew them white)."""
    df = pd.DataFrame({"a": [1, 1, 2, 2], "b": [1, 2, 1, 2], "z": [0.5, np.nan, np.inf, -1.0]})
    spec = heatmap(df, "a", "b", "z", x_title="a", y_title="b", z_title="z").to_dict()
    json.dumps(spec, allow_nan=False)
    svg = vl_convert.vegalite_to_svg(spec)
    assert svg.count('fill="#bbbbbb"') == 2 and svg.count("✕") == 2
    coloured = svg.split("layer_0_marks")[1].split("</g>")[0]  # the finite cells, on the colour scale
    assert len(re.findall(r'<path[^>]*fill="rgb\(', coloured)) == 2


def _axis_labels(spec: dict) -> list[list[str]]:
    """The labels Vega shows on each axis of ``spec`` (not those hidden as overlapping, nor empty ones)."""
    groups = vl_convert.vegalite_to_svg(spec).split("role-axis-label")[1:]
    return [re.findall(r'<text[^>]*opacity="1"[^>]*>([^<>]+)</text>', g.split("</g>")[0]) for g in groups]


def _y_labels(values: list[float], y: alt.Y) -> list[str]:
    """The y-axis labels Vega shows for ``values`` (column y) with this encoding, bottom to top."""
    chart = alt.Chart(pd.DataFrame({"x": range(len(values)), "y": values})).mark_line().encode(
        alt.X("x:Q", axis=None), y)
    return _axis_labels(chart.to_dict())[0]


def _symlog_labels(values: list[float]) -> list[str]:
    lo, hi = min(values), max(values)
    return _y_labels(values, alt.Y("y:Q", axis=symlog_axis(lo, hi),
                                   scale=alt.Scale(type="symlog", domain=[lo, hi], nice=False)))


def test_log_axis_labels_one_two_and_five_of_each_decade():
    """Over 0.2..5 Vega ticks 2e-1, 3e-1, ... 5e+0, all labelled; only 1, 2 and 5 keep a label. Over more decades
    Vega labels only the decades, and so do we."""
    assert _y_labels([0.2, 5.0], log_y("loss", (0.2, 5.0))) == ["2e-1", "5e-1", "1e+0", "2e+0", "5e+0"]
    six = _y_labels([2e-6, 5.0], log_y("g", (2e-6, 5.0)))  # a tick per multiple, too dense to label them all
    assert six == ["1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e+0"]
    wide = _y_labels([1e-30, 1.0], log_y("g", (1e-30, 1.0)))
    assert wide[0] == "1e-30" and wide[-1] == "1e+0" and len(wide) >= 4


def test_symlog_ticks_are_zero_and_powers_of_ten_each_labelled_once():
    """A loss running to -9e10 (Newton at a saddle): Vega's own ticks put -1e10, -2e10, ... at the bottom and
    labelled them alike; now 0 and decades. A narrow range keeps linear ticks, with labels that differ."""
    wide = _symlog_labels([0.9 - 4.5e9 * k for k in range(21)])
    assert wide == ["−1e+10", "−1e+7", "−1e+4", "−10", "0"]
    narrow = _symlog_labels([-2.0, 2.0])
    assert len(narrow) == len(set(narrow)) >= 5 and {"−2", "0", "2"} <= set(narrow)
    assert _symlog_labels([-1000.0, 1000.0]) == ["−1,000", "−100", "−10", "−1", "0", "1", "10", "100", "1,000"]


def test_dtype_rule_labels_sit_on_a_white_halo():
    """Each label is drawn twice, first as a white outline, so it stays readable where it crosses a line."""
    df = pd.DataFrame({"layer": [1, 2, 3], "g": [1e-3, 1e-6, 1e-9], "net": ["a"] * 3})
    spec = log_profile(df, "layer", "g", "net", lang="en", x_title="l", y_title="g", dtype="float16").to_dict()
    svg = vl_convert.vegalite_to_svg(spec)
    drawn = re.findall(r"<text([^>]*)>(float16[^<]*)</text>", svg)
    halos = [text for attrs, text in drawn if 'stroke="white"' in attrs]
    assert sorted(halos) == ["float16 smallest normal 6.1e-05", "float16 smallest subnormal 5.96e-08"]
    assert sorted(text for _, text in drawn) == sorted(halos * 2)


def test_counts_get_whole_ticks_and_touching_labels_are_thinned():
    """Newton's 8 iterations were ticked 0, 0.5, 1, ...; a margin axis ran "9.5" into "10.0"."""
    steps = pd.DataFrame({"step": range(9), "digits": np.linspace(0.5, 16, 9), "root": "sqrt"})
    x, _ = _axis_labels(themed(line_chart(steps, "step", "digits", "root", x_title="iteration", y_title="d"), "en"))
    assert x == [str(k) for k in range(9)]
    margins = pd.DataFrame({"m": np.linspace(0, 10, 41), "g": np.linspace(1, 2, 41), "loss": "CE"})
    x, _ = _axis_labels(themed(line_chart(margins, "m", "g", "loss", x_title="margin", y_title="g"), "en"))
    assert x == [f"{k}.0" for k in range(11)]


MACHADO = {  # Machado, Oliveira & Fernandes (2009), severity 1, applied to linear sRGB
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
SRGB_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])  # D65


def _lab(colours: list[str], vision: np.ndarray) -> np.ndarray:
    """CIELAB of sRGB colours as a viewer with ``vision`` (a simulation matrix on linear RGB) sees them."""
    c = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in colours]) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = np.clip(linear @ vision.T, 0, 1) @ SRGB_XYZ.T / SRGB_XYZ.sum(axis=1)
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _closest(colours: list[str], vision: np.ndarray) -> float:
    """The smallest colour difference ΔE*ab (CIE 1976) between two of the colours."""
    lab = _lab(colours, vision)
    return float(np.linalg.norm(lab[:, None] - lab[None], axis=-1)[np.triu_indices(len(colours), 1)].min())


def test_palette_colours_stay_apart_for_colour_blind_readers():
    """All eight colours, and each against the white background, stay at least ΔE 15 apart for normal vision and
    simulated protanopia, deuteranopia and tritanopia (Okabe–Ito's closest: ~16, sky blue against bluish green
    for a tritanope). Vega's default tableau10 fails: its red and green meet at ΔE 1.7 for a deuteranope."""
    for vision, matrix in {"normal": np.eye(3), **{k: np.array(m) for k, m in MACHADO.items()}}.items():
        assert _closest([*PALETTE, "#ffffff"], matrix) >= 15, vision
    tableau = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b"]
    assert _closest(tableau, np.eye(3)) >= 15 and _closest(tableau, np.array(MACHADO["deuteranopia"])) < 5


def test_markers_every_point_of_a_short_line_and_a_few_staggered_along_a_long_one():
    df = pd.DataFrame({"x": [*range(200), *range(200), *range(30)], "s": ["a"] * 200 + ["b"] * 200 + ["c"] * 30})
    flags = marked(df, ["s"])
    at = {s: set(df.loc[flags & (df["s"] == s), "x"]) for s in "abc"}
    assert len(at["a"]) == len(at["b"]) == MARKS and at["c"] == set(range(30))
    assert not at["a"] & at["b"]  # drawn on top of each other, both shapes still show


def test_series_have_one_legend_of_colour_and_shape_and_a_theory_only_curve_a_dashed_key():
    """Colour, shape and the 0/inf/nan markers in one legend: a second legend of black shapes would repeat the
    names; a theory-only series (deep_mlp's gradient flow) gets a dashed key, as it is drawn."""
    df = pd.DataFrame({"layer": [1, 2, 3] * 2, "g": [1.0, 0.1, 0.0, 2.0, 0.5, 0.1], "net": ["a"] * 3 + ["b"] * 3})
    theory = pd.DataFrame({"layer": [1, 3], "g": [1.0, 0.01], "net": "theory"})
    spec = themed(log_profile(df, "layer", "g", "net", lang="en", x_title="l", y_title="g", theory=theory), "en")
    legends = vl_convert.vegalite_to_vega(spec)["legends"]
    assert len(legends) == 1 and {"fill", "shape"} <= set(legends[0])
    shapes = next(s for s in vl_convert.vegalite_to_vega(spec)["scales"] if s["name"] == legends[0]["shape"])
    assert shapes["domain"][:3] == ["a", "b", "theory"] and shapes["range"][:3] == [*SHAPES[:2], THEORY_KEY]
