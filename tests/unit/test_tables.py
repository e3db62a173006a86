"""Tables as the page shows them: numbers a class can read, the CSV keeps them as computed."""

import math

import pandas as pd

from stabviz.figures import Table


def test_floats_shown_to_five_digits_with_exponents_inf_and_a_dash_for_missing():
    df = pd.DataFrame({"norm": [4.8123456e-31, 65504.0, 1e30, -math.inf, math.nan, 0.0], "layer": range(6),
                       "state": ["finite"] * 6})
    shown, numbers = Table("t", df).shown()
    assert numbers == ["norm"]
    assert list(shown["norm"]) == ["4.8123e-31", "65504", "1e+30", "-inf", "—", "0"]
    assert list(shown["layer"]) == list(range(6)) and shown["state"].equals(df["state"])
    assert df["norm"].iloc[0] == 4.8123456e-31  # the table itself (the CSV) is untouched
