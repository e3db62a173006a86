"""`python -m stabviz`: the JSON contract, strict --set, exit status 2 on bad input."""

import html
import json
import subprocess
import sys

import pytest

from stabviz import experiments
from stabviz.cli import main, resolve_target
from stabviz.experiments import activations


def stabviz(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stabviz", *args], capture_output=True, text=True, timeout=300)


def test_list_prints_every_experiment():
    out = stabviz("list").stdout
    assert [line.split()[0] for line in out.splitlines()] == list(experiments.NAMES)


def test_run_json_parses_and_matches_the_engine():
    proc = stabviz("run", "activations", "--set", "functions=sigmoid,relu", "--set", "depth=8", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"experiment", "params", "findings", "tables"}
    assert doc["params"]["depth"] == 8 and doc["params"]["functions"] == ["sigmoid", "relu"]
    p = activations.Params(functions=("sigmoid", "relu"), depth=8)
    engine = experiments.run("activations", p)
    assert doc["findings"] == pytest.approx(engine.findings)
    chain = engine.tables["chain"]
    assert len(doc["tables"]["chain"]) == len(chain)
    relu64 = [r["value"] for r in doc["tables"]["chain"] if r["function"] == "relu" and r["dtype"] == "float64"]
    assert relu64[-1] == 0.0


def test_nonfinite_values_are_written_as_strings(capsys):
    assert main(["run", "activations", "--set", "functions=selu", "--set", "depth=300",
                 "--set", "input_std=0.01", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fp16 = [r["value"] for r in doc["tables"]["chain"] if r["dtype"] == "float16"]
    assert fp16[-1] == "inf"
    assert "nan" in [r["zero_at"] for r in doc["tables"]["chain_limits"]]


@pytest.mark.parametrize("args", [
    ["run", "activations", "--set", "depth=abc"],
    ["run", "activations", "--set", "depth=100000"],
    ["run", "activations", "--set", "nope=1"],
    ["run", "activations", "--set", "depth"],
    ["run", "nosuchpage"],
    ["export", "activations", "--out", "/tmp/x", "--set", "functions=bogus"],
])
def test_bad_input_exits_2_with_a_message(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("stabviz: ") and "Traceback" not in err


def test_bad_input_from_a_real_process_exits_2():
    proc = stabviz("run", "activations", "--set", "samples=1e12")
    assert proc.returncode == 2 and "samples" in proc.stderr and "Traceback" not in proc.stderr


def test_a_shareable_link_names_the_page_and_its_values():
    name, query = resolve_target("http://localhost:8501/activations?depth=30&lang=zh&functions=relu")
    assert name == "activations" and query == {"depth": "30", "lang": "zh", "functions": "relu"}


def test_export_from_a_link_writes_the_page_figures(tmp_path):
    link = "http://127.0.0.1:8501/activations?depth=20&functions=sigmoid&lang=zh"
    assert main(["export", link, "--out", str(tmp_path), "--format", "svg"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["activations_chain.svg", "activations_df.svg", "activations_f.svg"]
    assert "深度" in html.unescape((tmp_path / "activations_chain.svg").read_text())


def test_export_of_a_tab_link_writes_that_tab_only(tmp_path):
    link = "http://127.0.0.1:8501/activations?tab=chain&depth=20&functions=sigmoid"
    assert main(["export", link, "--out", str(tmp_path), "--format", "svg"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["activations_chain.svg"]


def test_export_of_an_unknown_tab_names_the_tabs(capsys, tmp_path):
    assert main(["export", "activations", "--tab", "nope", "--out", str(tmp_path)]) == 2
    assert "curves, saturation, chain" in capsys.readouterr().err


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`python -m stabviz params | head -1`: the pipe closes before stabviz writes."""
    proc = subprocess.Popen([sys.executable, "-m", "stabviz", "params"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    assert proc.wait(timeout=300) == 1
    assert proc.stderr.read() == b""
    proc.stderr.close()
