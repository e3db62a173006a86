"""Log scales that never break: a domain around the finite values, magnitudes clipped into it (with each
value's state from :mod:`stabviz.states`), and tick labels for log and symlog axes."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from stabviz.states import state_of

EXP_FORMAT = ".0e"  # one style for every log axis: 1e-8, 1e+2


def log_domain(values: pd.Series | np.ndarray, pad: float = 3.0) -> tuple[float, float]:
    """A log-axis domain around the finite positive values, padded by ``pad`` (a factor)."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return 1e-3, 1e3
    lo, hi = max(float(v.min()) / pad, 1e-300), min(float(v.max()) * pad, 1e300)
    return (lo, hi) if hi / lo > 10 else (lo / 10, hi * 10)


def for_log(df: pd.DataFrame, y: str, domain: tuple[float, float]) -> pd.DataFrame:
    """Copy with ``y`` as a plottable magnitude clipped to the domain, plus ``state`` and ``exact`` (text)."""
    out = df.copy()
    raw = out[y].to_numpy(dtype=np.float64)
    out["state"] = state_of(raw)
    mag = np.abs(raw)
    floor_, ceil_ = domain
    out[y] = np.where(out["state"] == "zero", floor_, np.where(out["state"] == "finite", mag, ceil_))
    out[y] = out[y].clip(floor_, ceil_)
    out["exact"] = [exact_text(v) for v in raw]  # the true value as text (tooltips): "inf", "0", "1.234e-50"
    return out


def exact_text(v: float) -> str:
    """A value as tooltips show it: "inf", "-inf", "nan", or 4 significant digits ("1.234e-50")."""
    if math.isnan(v):
        return "nan"
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:.4g}"


LOG_LABELS = "indexof([1, 2, 5], round(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9)))) >= 0 " \
    "? datum.label : ''"  # 1, 2 and 5 of a decade keep the label Vega gives them (none where ticks are dense)


def log_y(title: str, domain: tuple[float, float]) -> alt.Y:
    """A log y encoding with exponent labels and a fixed domain (no zero can reach the scale).

    Across a decade or two Vega ticks every multiple (2e-1, 3e-1, ... 9e-1): only 1, 2 and 5 get a label."""
    return alt.Y(
        "y:Q", title=title, axis=alt.Axis(format=EXP_FORMAT, labelExpr=LOG_LABELS),
        scale=alt.Scale(type="log", domain=list(domain), clamp=True, nice=False),
    )


SYMLOG_LABELS = "datum.value == 0 ? '0' : abs(datum.value) < 1e4 ? format(datum.value, ',~g') " \
    ": format(datum.value, '.0e')"  # 0, -300, 1,000, -1e+10: one label per tick, never two alike


def symlog_axis(lo: float, hi: float, most: int = 5) -> alt.Axis:
    """An axis for a symlog scale over [lo, hi]: ticks at 0 and at the powers of ten inside, of either sign (every
    k-th decade when a side would have more than ``most``). Vega gives a symlog scale linear ticks, which crowd
    into one end (-1e10, -2e10, ... at the bottom); under two decades those read well and are kept."""
    top = max(abs(lo), abs(hi))
    if not 100 <= top < math.inf:
        return alt.Axis(labelExpr=SYMLOG_LABELS)
    decades = 10.0 ** np.arange(math.floor(math.log10(top)), -1, -1)  # from the largest: that one is labelled
    decades = decades[:: -(-len(decades) // most)]
    values = [float(v) for v in (0.0, *decades, *-decades) if lo <= v <= hi]
    return alt.Axis(values=sorted(values), labelExpr=SYMLOG_LABELS)
