"""The optimizers page: a link's values reach the widgets and the numbers, divergence reaches the map as
markers, a hostile formula becomes a warning and the default, and Chinese renders."""

import math

import pytest
from pagetest import chart_index, chart_rows, charts, key, open_page, open_tabs, problems, table

from stabviz.surfaces import DEFAULT_FORMULA

FAST = {"steps": "40"}  # short runs on the trajectories tab (opened by default): the page's logic, not its speed



def _rows(at, text: str) -> list[dict]:
    return chart_rows(at, chart_index(at, text))


def test_defaults_show_every_figure_and_the_threshold():
    tabs = open_tabs("optimizers")
    for at in tabs.values():
        assert not problems(at) and not at.warning
    assert {tab: len(charts(at)) for tab, at in tabs.items()} == {"trajectories": 3, "sweep": 1, "scaling": 2}
    captions = " ".join(c.value for c in tabs["sweep"].caption)
    assert "GD 2/λ_max = 0.1" in captions and "heavy ball (2+2β)/λ_max = 0.19" in captions  # a = 10: λ_max = 20


def test_link_restores_widgets_and_changes_the_numbers():
    at = open_page("optimizers", {**FAST, "surface": "rosenbrock", "optimizers": "sgd,adam", "starts": "3",
                                  "lr": "0.001"})
    assert not problems(at) and not at.warning
    assert at.session_state[key("optimizers", "surface")] == "rosenbrock"
    assert at.session_state[key("optimizers", "optimizers")] == ["sgd", "adam"]
    assert at.number_input(key=key("optimizers", "starts")).value == 3
    assert at.query_params["lr"] == "0.001"
    fates = table(at)
    assert len(fates) == 6  # 2 optimizers x 3 starts (the default: 3 x 1)
    assert fates["final loss"].max() < 20  # Rosenbrock from (-1.5, 1.5) starts at 62.5
    assert "Rosenbrock" in str(charts(at)[chart_index(at, "every optimizer")]["title"])


def test_hostile_formula_in_a_link_warns_and_uses_the_default():
    at = open_page("optimizers", {**FAST, "surface": "formula", "formula": "__import__('os').system('id')"})
    assert not problems(at)
    warned = " ".join(w.value for w in at.warning)
    assert "formula:" in warned and "not accepted" in warned
    assert at.text_input(key=key("optimizers", "formula")).value == DEFAULT_FORMULA
    assert charts(at)


def test_a_user_formula_is_drawn():
    at = open_page("optimizers", {**FAST, "surface": "formula", "formula": "x^2 + 3*y^2"})
    assert not problems(at) and not at.warning
    index = chart_index(at, "your formula")
    bands = [r for r in _rows(at, "your formula") if "poly" in r]
    corner = [r for r in bands if r["x"] == 3 and r["y"] == 3]
    assert len(corner) == 1  # the box's corner (3, 3) is a vertex of one band
    scale = charts(at)[index]["layer"][0]["layer"][0]["encoding"]["color"]["scale"]  # map > contour > bands
    lo, hi = scale["domain"]

    def band(v: float) -> int:  # which of the quantize scale's 12 colours
        return min(int((v - lo) / (hi - lo) * 12), 11)

    assert abs(max(r["level"] for r in bands) - (hi - (hi - lo) / 24)) < 1e-9  # the top band's middle
    assert band(corner[0]["level"]) == band(math.log10(9 + 27))  # shaded by log10 of the loss: the surface is >= 0


def test_divergence_is_marked_on_the_map_and_kept_in_the_table_in_chinese():
    at = open_page("optimizers", {**FAST, "lang": "zh", "lr": "5", "optimizers": "sgd"})
    assert not problems(at)
    assert "离开图框" in {r.get("status") for r in _rows(at, "各优化器")}  # ▲ where the path left the plot
    fates = table(at)
    assert fates["离开图框的步数"].iloc[0] == 1 and fates["变为 inf/nan 的步数"].notna().all()
    assert any("学习率" in c.value for c in at.caption)


SCENE_FAR = {"points": "0,100;-70,70;-100,0", "optimizers": "sgd", "lr": "0.01", "steps": "20"}  # Lesson 5, 1
SCENE_MOMENTUM = {"points": "sgd@-70,70;momentum@-70,-70", "momentum": "0.8", "lr": "0.01", "steps": "20"}  # 5.7


def _domains(at, text: str) -> tuple[list, list, dict]:
    """The map's x and y domains (of its contour layer) and its spec."""
    spec = charts(at)[chart_index(at, text)]
    enc = spec["layer"][0]["layer"][0]["encoding"]  # map > contour > bands
    return enc["x"]["scale"]["domain"], enc["y"]["scale"]["domain"], spec


def test_a_scene_link_with_far_starts_draws_a_square_map_around_them():
    at = open_page("optimizers", SCENE_FAR)
    assert not problems(at) and not at.warning
    assert at.text_input(key=key("optimizers", "points")).value == SCENE_FAR["points"]
    xs, ys, spec = _domains(at, "every optimizer")
    assert xs == ys == [-110, 110] and spec["width"] == spec["height"]
    starts = {(r["x"], r["y"]) for r in _rows(at, "every optimizer") if r.get("step") == 0 and "optimizer" in r}
    assert starts == {(0, 100), (-70, 70), (-100, 0)}
    fates = table(at)
    assert len(fates) == 3 and fates["left the plot at step"].isna().all()
    assert len(charts(at)) == 3


def test_a_scene_link_runs_each_named_start_with_its_own_optimizer_in_chinese():
    at = open_page("optimizers", {**SCENE_MOMENTUM, "lang": "zh"})
    assert not problems(at) and not at.warning
    fates = table(at)
    assert list(fates["优化器"]) == ["SGD（梯度下降）", "SGD + 动量"] and list(fates["起点"]) == ["起点 1", "起点 2"]
    assert any("torch.optim.SGD(momentum=β)" in c.value for c in at.caption)


def test_the_scaling_scene_from_far_fits_both_maps_to_the_start_and_the_path():
    at = open_page("optimizers", {"tab": "scaling", "x0": "-60", "y0": "70", "scale_lr": "0.051", "steps": "10"})
    assert not problems(at) and not at.warning
    pair = charts(at)[0]
    for half in pair["hconcat"]:
        enc = half["layer"][0]["layer"][0]["encoding"]
        assert enc["x"]["scale"]["domain"] == enc["y"]["scale"]["domain"] == [-98, 98]  # 1.1 × the path's 88.8


def test_hostile_points_warn_and_the_single_start_is_used():
    at = open_page("optimizers", {**FAST, "points": "0,1e9;__import__('os')@1,2"})
    assert not problems(at)
    warned = " ".join(w.value for w in at.warning)
    assert "points:" in warned and "not accepted" in warned
    assert at.text_input(key=key("optimizers", "points")).value == ""
    assert len(table(at)) == 3  # the three default optimizers from (x0, y0)


def test_a_sweep_link_draws_each_bound_beside_the_measured_bracket_in_chinese():
    at = open_page("optimizers", {"tab": "sweep", "optimizers": "sgd,momentum,nesterov", "momentum": "0.6",
                                  "lang": "zh"})
    assert not problems(at) and not at.warning
    rules = sorted({r["lr"] for r in chart_rows(at, 0) if "label" in r and "lr" in r})  # rules, labels
    assert rules == pytest.approx([3.2 / 44, 0.1, 0.16])  # a = 10, β = 0.6: 3.2/(2.2·20), 2/20, 3.2/20
    thresholds = table(at)
    assert list(thresholds["优化器"]) == ["SGD（梯度下降）", "SGD + 动量", "Nesterov 动量"]
    columns = ("发散界（理论）", "最后一个稳定的扫描学习率", "第一个发散的扫描学习率")
    bound, below, above = (thresholds[c] for c in columns)
    assert ((below < bound) & (bound < above)).all()
    assert any("重球法" in c.value and "z = −1" in c.value for c in at.caption)
