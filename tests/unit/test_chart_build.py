"""Every figure is a valid Vega-Lite spec built from typed channels (alt.X("step:Q"), not x="step:Q").

Altair 6.3 turns each shorthand string, alt.value() and alt.condition() into a channel through
``from_dict``, which first hashes the schemas of all ~570 Vega-Lite classes (~3 ms a channel; vega/altair
PR 3547); a section has 20 to 80 channels. The page skips Altair's schema validation for the same reason
(`charts.themed`), so it is done here, on every section's figures in both languages.
"""

import altair as alt
import pytest
from altair.utils import schemapi

from stabviz import experiments, figures
from stabviz.i18n import LANGS

SHORT = ("steps", "epochs")  # training sections run their fewest steps here: only the charts are under test


def _sections():
    for name in experiments.available():
        for sec in experiments.load(name).SECTIONS:
            yield pytest.param(name, sec, id=f"{name}-{sec.name}")


def _params(name: str, sec: experiments.Section):
    params = experiments.load(name).Params
    fewest = {f: int(params.specs()[f].lo) for f in SHORT if sec.long and f in sec.uses}
    return params(**fewest)


def _no_from_dict(*_args, **_kwargs):
    raise AssertionError("a channel given as a string, alt.value() or alt.condition(): use alt.X(...), alt.XValue(...)")


@pytest.mark.parametrize(("name", "sec"), list(_sections()))
def test_every_figure_is_valid_vega_lite_built_from_typed_channels(name, sec, monkeypatch):
    params = _params(name, sec)
    result = experiments.run_section(sec, params.project(sec.uses))
    view = figures.load(name).VIEWS[sec.name]
    with monkeypatch.context() as patch:
        patch.setattr(schemapi._FromDict, "__init__", _no_from_dict)
        specs = [fig.spec(lang) for lang in LANGS for fig in figures.figures_of(view(result, params, lang)).values()]
    for spec in specs:
        alt.TopLevelSpec.validate({**spec, "datasets": {}})  # the structure; thousands of data rows only cost time


def test_a_shorthand_channel_is_caught(monkeypatch):
    monkeypatch.setattr(schemapi._FromDict, "__init__", _no_from_dict)
    with pytest.raises(AssertionError, match="typed|alt.X"):
        alt.Chart().mark_line().encode(x="step:Q")
