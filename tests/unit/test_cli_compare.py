"""The command line's comparisons: `run --compare`, a link's pins and sweep in `export`, and `sweep`."""

from __future__ import annotations

import json
import re

import pytest

from stabviz import experiments
from stabviz.cli import USAGE_ERROR, main
from stabviz.cli_compare import pairs
from stabviz.experiments import activations

CHAIN = next(s for s in activations.SECTIONS if s.name == "chain")


def run_json(capsys, *args: str) -> dict:
    assert main(list(args)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_pairs_split_at_commas_that_start_a_new_key():
    assert pairs("depth=100,functions=sigmoid,relu") == ["depth=100", "functions=sigmoid,relu"]
    assert pairs("points=sgd@-70,70;adam@1,2,lr=0.1") == ["points=sgd@-70,70;adam@1,2", "lr=0.1"]


def test_compare_adds_runs_equal_to_running_each_setting(capsys):
    doc = run_json(capsys, "run", "activations", "--tab", "chain", "--set", "depth=8", "--compare", "depth=16",
                   "--compare", "depth=4,functions=relu", "--json")
    assert [(r["run"], r["set"]) for r in doc["runs"]] == [("A", {"depth": 16}),
                                                           ("B", {"depth": 4, "functions": ["relu"]})]
    alone = experiments.run_section(CHAIN, activations.Params(depth=16)).findings
    assert doc["runs"][0]["findings"]["chain_last_sigmoid"] == pytest.approx(alone["chain_last_sigmoid"])
    assert doc["findings"]["chain_last_sigmoid"] != doc["runs"][0]["findings"]["chain_last_sigmoid"]


def test_a_links_pins_are_runs_too(capsys):
    doc = run_json(capsys, "run", "/activations?tab=chain&depth=8&pins=A&A.depth=12", "--json")
    assert doc["runs"][0]["set"] == {"depth": 12} and doc["params"]["depth"] == 8


@pytest.mark.parametrize("args", [
    ["--compare", "depth=99999"],  # the page would clamp it: a script must not silently get other numbers
    ["--compare", "nonsense=1"],
    ["--compare", "depth=2"] * 5,  # at most four
])
def test_bad_compares_exit_with_a_usage_error(capsys, args):
    assert main(["run", "activations", "--tab", "chain", *args, "--json"]) == USAGE_ERROR
    assert capsys.readouterr().err.startswith("stabviz: ")


def test_sweep_json_lists_every_point_with_its_knob_value(capsys):
    doc = run_json(capsys, "sweep", "activations", "--knob", "depth=2:32:log:5", "--finding", "chain_median",
                   "--set", "functions=sigmoid", "--json")
    assert doc["tab"] == "chain" and doc["sweep"]["values"] == [2, 4, 8, 16, 32]
    measured = [p for p in doc["points"] if p["kind"] == "measured"]
    for point in measured:
        alone = experiments.run_section(CHAIN, activations.Params(functions=("sigmoid",), depth=point["value"]))
        assert point["y"] == pytest.approx(alone.findings["chain_median_sigmoid"])


def test_sweep_csv_is_the_tidy_table(capsys):
    assert main(["sweep", "activations", "--knob", "depth=2:8:lin:3", "--finding", "chain_median", "--format",
                 "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "value,series,kind,y,state" and len(lines) > 3


def test_sweep_names_the_findings_when_one_is_unknown(capsys):
    assert main(["sweep", "activations", "--knob", "depth=2:8", "--finding", "nope"]) == USAGE_ERROR
    assert "chain_median" in capsys.readouterr().err


def test_export_draws_a_links_pins_into_its_figures(tmp_path, capsys):
    link = "/activations?tab=chain&depth=8&pins=A&A.depth=20&A.name=deeper"
    assert main(["export", link, "--format", "svg", "--out", str(tmp_path)]) == 0
    svg = (tmp_path / "activations_chain.svg").read_text()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "A (deeper): Depth L 20" in texts and "live: Depth L 8" in texts
