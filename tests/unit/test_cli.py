"""`python -m stabviz`: the JSON contract, strict --set, a link or a name with --tab, the lessons, interactive HTML,
exit status 2 on bad input."""

import html
import json
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pytest

from stabviz import experiments, lessons
from stabviz.cli import main, resolve_target
from stabviz.experiments import activations

LESSON = """
order = 1
title = { en = "Two scenes", zh = "两幕" }
source = { en = "Notes", zh = "讲义" }
[[scene]]
link = "/activations?tab=saturation&functions=sigmoid"
title = { en = "At most 1/4", zh = "至多 1/4" }
caption = { en = "Look at the table.", zh = "看表格。" }
[[scene.check]]
finding = "max_abs_grad_sigmoid"
theory = 0.25
label = { en = "max |sigmoid'|", zh = "max |sigmoid'|" }
[[scene]]
link = "/deep_mlp?tab=scalar&powers=50"
title = { en = "Powers", zh = "幂" }
caption = { en = "Fifty of them.", zh = "五十个。" }
"""


@pytest.fixture
def two_scenes(tmp_path, monkeypatch) -> str:
    """A lesson called "two" (and the package's own), read through STABVIZ_LESSONS."""
    (tmp_path / "two.toml").write_text(LESSON, encoding="utf-8")
    monkeypatch.setenv(lessons.ENV, str(tmp_path))
    lessons._all.cache_clear()
    return "two"


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
    ["run", "activations", "--tab", "nope"],
    ["run", "/activations?lang=fr"],
    ["run", "http://h/nosuchpage?depth=3"],
    ["run", "/activations?tab=chain&nope=1"],
    ["export", "--out", "/tmp/x"],
    ["export", "activations", "--lesson", "numerical_stability", "--out", "/tmp/x"],
    ["export", "--lesson", "numerical_stability", "--format", "svg", "--out", "/tmp/x"],
    ["export", "--lesson", "nosuchlesson", "--out", "/tmp/x"],
    ["lessons", "nosuchlesson"],
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


def test_run_of_a_tab_link_runs_that_tab_and_names_it(capsys):
    link = "http://127.0.0.1:8501/activations?tab=saturation&functions=sigmoid&lang=zh&lesson=x&scene=2&view=present"
    assert main(["run", link, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"experiment", "params", "findings", "tables", "tab"}
    assert doc["tab"] == "saturation" and doc["params"]["functions"] == ["sigmoid"]
    assert doc["findings"]["max_abs_grad_sigmoid"] == pytest.approx(0.25)
    assert all(key.endswith("_sigmoid") for key in doc["findings"])  # the link's one function, that tab's findings
    assert list(doc["tables"]) == ["saturation"]


def test_run_tab_option_prints_only_that_tabs_results(capsys):
    assert main(["run", "activations", "--tab", "chain", "--set", "depth=5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("activations [chain]: ")
    assert re.findall(r"^\[(\w+)\]", out, re.M) == ["chain", "chain_theory", "chain_limits"]


def test_lessons_lists_every_lesson_with_its_scene_count(two_scenes, capsys):
    assert main(["lessons"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert rows[two_scenes] == "2" and set(rows) == set(lessons.lessons())
    assert main(["lessons", "--json", "--lang", "zh"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"name": "two", "title": "两幕", "source": "讲义", "scenes": 2} in doc["lessons"]


def test_a_lessons_scenes_with_their_links_and_checks(two_scenes, capsys):
    assert main(["lessons", two_scenes, "--json", "--base-url", "http://lecture:9000/"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["title"] for s in doc["scenes"]] == ["At most 1/4", "Powers"]
    first, second = doc["scenes"]
    assert first["link"].startswith("/activations?") and first["url"] == "http://lecture:9000" + first["link"]
    assert lessons.parse_link(second["url"]) == ("deep_mlp", "scalar", {"powers": "50"})
    assert parse_qs(urlparse(second["link"]).query)["scene"] == ["2"]
    assert first["checks"] == [{"finding": "max_abs_grad_sigmoid", "theory": 0.25, "rtol": 1e-6,
                                "label": "max |sigmoid'|"}]
    assert main(["lessons", two_scenes, "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("两幕\n讲义\n")
    assert " 2. 幂\n    /deep_mlp?powers=50&tab=scalar&lesson=two&scene=2&lang=zh\n    五十个。" in out


def test_export_html_is_one_interactive_page_per_figure_with_caption_params_and_link(tmp_path):
    link = "http://lecture:9000/activations?tab=chain&depth=20&functions=sigmoid&lang=zh"
    assert main(["export", link, "--out", str(tmp_path), "--format", "html"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["activations_chain.html"]
    text = (tmp_path / "activations_chain.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\ssrc=|https?://cdn", text) and text.count("window.vegaEmbed=") == 1
    assert "1001 条链上" in text  # the figure's caption, in Chinese
    assert "<td>深度 L</td><td><code>depth</code></td><td>20</td>" in text
    live = re.search(r'<p class="live"><a href="([^"]+)"', text)[1]
    assert live == "http://lecture:9000/activations?functions=sigmoid&amp;depth=20&amp;tab=chain&amp;lang=zh"
