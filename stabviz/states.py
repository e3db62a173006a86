"""Each value's state: finite, zero, inf or nan. Overflow and underflow are the subject matter, so the
engine carries the state in its tables and the charts draw a marker for each non-finite one."""

from __future__ import annotations

import numpy as np
import pandas as pd

STATES = ("finite", "zero", "inf", "nan")


def state_of(values: pd.Series | np.ndarray, *, log: bool = False, zero: bool = True) -> np.ndarray:
    """The state of each value, by magnitude (negatives count by |v|).

    ``log``: the values are log-magnitudes, so -inf is a magnitude of 0. ``zero=False``: 0 is an
    ordinary finite value (a loss of exactly 0), not an underflow.
    """
    v = np.asarray(values, dtype=np.float64)
    is_zero = v == -np.inf if log else (v == 0) & zero
    is_inf = v == np.inf if log else np.isinf(v)
    return np.select([np.isnan(v), is_inf, is_zero], ["nan", "inf", "zero"], "finite")
