"""The schema machinery: strict for Python callers, forgiving-with-a-warning for strings."""

from dataclasses import dataclass

import pytest

from stabviz.i18n import issue_message
from stabviz.params import ParamsBase, param, to_text


@dataclass(frozen=True)
class P(ParamsBase):
    depth: int = param(10, lo=1, hi=100)
    lr: float = param(0.1, lo=1e-4, hi=10.0)
    act: str = param("tanh", choices=("tanh", "relu"))
    fns: tuple[str, ...] = param(("a",), choices=("a", "b", "c"))
    clip: bool = param(False)


@pytest.mark.parametrize(("raw", "expected", "says"), [
    ({"depth": "1000"}, {"depth": 100}, "above the maximum 100"),
    ({"depth": "-3"}, {"depth": 1}, "below the minimum 1"),
    ({"depth": "abc"}, {"depth": 10}, "is not a number"),
    ({"depth": "12.6"}, {"depth": 13}, "not a whole number"),
    ({"lr": "nan"}, {"lr": 0.1}, "is not a number"),
    ({"lr": "inf"}, {"lr": 10.0}, "above the maximum"),
    ({"act": "sigmoid"}, {"act": "tanh"}, "is not one of tanh, relu"),
    ({"fns": "b,zz,b"}, {"fns": ("b",)}, "unknown or repeated"),
    ({"fns": "zz"}, {"fns": ("a",)}, "names none of"),
    ({"clip": "maybe"}, {"clip": False}, "not true or false"),
])
def test_bad_strings_become_the_nearest_safe_value_with_a_named_warning(raw, expected, says):
    params, issues = P.parse(raw)
    assert {k: getattr(params, k) for k in expected} == expected
    (issue,) = issues
    assert issue.name == next(iter(raw)) and says in issue_message(issue, "en")
    assert issue.name in issue_message(issue, "zh") and "已改用" in issue_message(issue, "zh")


@pytest.mark.parametrize("raw", [{"act": "RELU"}, {"clip": "Yes"}, {"fns": ["b", "c"]}, {"lr": "1e-3"}])
def test_good_strings_parse_without_warnings(raw):
    assert P.parse(raw)[1] == []


def test_strict_constructor_names_the_parameter_and_the_allowed_values():
    with pytest.raises(ValueError, match=r"depth must be 1 to 100, got 0"):
        P(depth=0)
    with pytest.raises(ValueError, match=r"act must be tanh, relu"):
        P(act="gelu")
    with pytest.raises(ValueError, match="clip must be true or false"):
        P(clip=1)
    with pytest.raises(ValueError, match="depth must be"):
        P(depth=2.5)


def test_query_round_trip_keeps_only_non_defaults():
    p = P(depth=20, fns=("b", "c"), clip=True, lr=0.001)
    query = p.to_query()
    assert query == {"depth": "20", "lr": "0.001", "fns": "b,c", "clip": "true"}
    assert P.parse(query) == (p, [])
    assert P().to_query() == {}


def test_params_are_hashable_cache_keys_and_projection_resets_the_rest():
    p = P(depth=20, act="relu")
    assert hash(p) == hash(P(depth=20, act="relu"))
    assert p.project(["depth"]) == P(depth=20)


def test_float_text_is_short_and_exact():
    assert [to_text(v) for v in (2.0, 0.001, 1e-5, True)] == ["2", "0.001", "1e-05", "true"]
