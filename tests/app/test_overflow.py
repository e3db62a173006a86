"""Every page driven into overflow/underflow/nan by a link: it still renders, and the markers show."""

import pytest
from pagetest import chart_rows, charts, open_page, problems

from stabviz.i18n import tr

EXPLOSIVE = {  # a link per page (and tab) whose numbers leave the dtype's range
    "activations": {"tab": "chain", "functions": "relu,selu", "depth": "300", "input_std": "0.01"},
    "initialization": {"schemes": "normal", "std": "10", "depth": "200"},
    "deep_mlp": {"dtype": "float16", "init": "normal", "std": "3", "depth": "100"},
    "recurrent": {"init": "radius", "radius": "4", "dtype": "float16"},
    "normalization": {"dtype": "float16", "std": "10"},
    "optimizers": {"lr": "10", "lr_adaptive": "10", "surface": "rosenbrock"},
    "newton": {"surface": "cubic", "dtype": "float16"},
    "loss_pairing": {"tab": "numerics", "dtypes": "float16"},
}
MARKERS = {tr(f"common.state.{s}", "en") for s in ("zero", "inf", "nan")}


@pytest.mark.parametrize("name", sorted(EXPLOSIVE))
def test_page_renders_with_nonfinite_markers(name):
    at = open_page(name, EXPLOSIVE[name])
    assert not problems(at)
    states = {r.get("state") for i in range(len(charts(at))) for r in chart_rows(at, i)}
    assert states & MARKERS, f"no overflow/underflow/nan marker drawn on {name}: {states}"
