"""Hostile query strings (hypothesis): parsing never raises, always yields valid params, and any
request past the work budget is refused before its section runs."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabviz import experiments
from stabviz.runtime import WORK_BUDGET, BudgetError

PAGES = experiments.NAMES

values = st.one_of(
    st.text(max_size=60),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", " ", "1e400", "-0", "0x10", "true", "None", "[]", "{}", "%00", "😀", "深度",
                     "__import__('os')"]),
    st.lists(st.text(max_size=12), max_size=5),
)


def _never_run(*_args):
    raise AssertionError("a section past the budget started running")


@pytest.mark.parametrize("name", PAGES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_query_gives_valid_params_and_budgeted_work(name, data):
    module = experiments.load(name)
    keys = [*module.Params.specs(), "lang", "unknown_key"]
    raw = data.draw(st.dictionaries(st.sampled_from(keys), values, max_size=len(keys)))
    params, issues = module.Params.parse(raw)
    assert module.Params(**dataclasses.asdict(params)) == params  # passes strict validation
    assert {i.name for i in issues} <= set(raw)
    for sec in module.SECTIONS:
        narrow = params.project(sec.uses)
        work = sec.work(narrow)
        assert math.isfinite(work) and work >= 0
        if work > WORK_BUDGET:
            with pytest.raises(BudgetError):
                experiments.run_section(dataclasses.replace(sec, run=_never_run), params)


@pytest.mark.parametrize("name", PAGES)
def test_every_section_estimates_its_work_before_it_runs(name):
    module = experiments.load(name)
    biggest = {f: str(s.hi) for f, s in module.Params.specs().items() if s.hi is not None}
    params, _ = module.Params.parse(biggest)
    for sec in module.SECTIONS:
        assert sec.work(params.project(sec.uses)) > 0, f"{sec.name} declares no work estimate"
