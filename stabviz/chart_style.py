"""Colour and line style: how charts tell series apart, in colour and without it.

Series get the Okabe–Ito colours (Wong 2011, Nature Methods 8:441), made to stay apart under protanopia,
deuteranopia and tritanopia, ordered so that the first few are the farthest apart under all three (and from
the white background); and each series also gets a point shape (markers along its line), because dash already
means something on these charts: a dashed line is theory, and a chart's second grouping (residual vs plain,
one start or another) is drawn in dashes. Colour, shape and dash scales share one domain, so Vega-Lite draws
one legend whose keys show both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

# Okabe–Ito: blue, vermillion, sky blue, reddish purple, orange, bluish green, yellow, black
PALETTE = ("#0072B2", "#D55E00", "#56B4E9", "#CC79A7", "#E69F00", "#009E73", "#F0E442", "#000000")
STAR = "M0,-1L0.24,-0.33L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.4L-0.59,0.81L-0.38,0.12L-0.95,-0.31L-0.24,-0.33Z"
BOWTIE = "M-1,-0.8L0,0L-1,0.8ZM1,-0.8L0,0L1,0.8Z"
HEXAGON = "M-1,0L-0.5,-0.87L0.5,-0.87L1,0L0.5,0.87L-0.5,0.87Z"
# not ▲ ▼ ✕: those mark inf, 0 and nan
SHAPES = ("circle", "square", "diamond", "triangle-right", "triangle-left", STAR, BOWTIE, HEXAGON)
DASHES = ((1, 0), (2, 3), (8, 3, 2, 3), (4, 2, 1, 2, 1, 2), (12, 4))  # a second grouping's, solid first
THEORY_DASH = (6, 4)  # every theory line
THEORY_KEY = "M-1,0H-0.3M0.3,0H1"  # the legend key of a series drawn only as theory: a dashed stroke
STATE_INK = "#444444"  # the legend's ▼ ▲ ✕ (on the chart they take their series' colour)
LINE_POINTS = 60  # a line of at most this many points shows a marker at each; a longer one MARKS of them
MARKS = 10


def names(*columns: pd.Series | None) -> list:
    """The distinct values of the columns in order of appearance (the engine's and the link's order)."""
    seen: dict = {}
    for col in columns:
        if col is not None:
            seen |= dict.fromkeys(pd.unique(col).tolist())
    return list(seen)


def _cycled(values: Sequence, n: int) -> list:
    """The first ``n`` of ``values`` repeated (more series than styles reuse them), tuples as JSON lists."""
    return [list(v) if isinstance(v, tuple) else v for v in (values[i % len(values)] for i in range(n))]


DEFAULT_RANGES = {alt.StrokeDash: [list(d) for d in DASHES], alt.Shape: list(SHAPES)}  # colour: the theme's PALETTE
DASH_KEY = alt.Legend(symbolSize=500, symbolStrokeWidth=2)  # keys long enough to show a whole dash pattern


def series(
    field: str, channel: type = alt.Color, legend: alt.Legend | alt.UndefinedType = alt.Undefined,
    scale: alt.Scale | alt.UndefinedType = alt.Undefined,
) -> alt.FieldChannelMixin:
    """A nominal colour (or ``channel``: dash, shape) per series, in the data's order rather than the alphabet's:
    the data follow the engine's (and the link's) order, so a series keeps its colour in every language.

    Channels given the scales of one `series_scales` call are drawn as one legend (colour and shape together);
    without a scale, colours come from PALETTE, dashes from DASHES (legend keys long enough to show a whole
    pattern), shapes from SHAPES.
    A faint fill drawn under its series' lines (a band, a shaded span) passes ``legend=charts.LINE_KEY``: a shared
    legend takes its keys from the first layer, and would show every series as a pale swatch.
    """
    if scale is alt.Undefined and channel in DEFAULT_RANGES:
        scale = alt.Scale(range=DEFAULT_RANGES[channel])
        legend = DASH_KEY if channel is alt.StrokeDash and legend is alt.Undefined else legend
    return channel(f"{field}:N", title=None, sort=None, legend=legend, scale=scale)


def series_scales(measured: Sequence, theory_only: Sequence = (), states: Mapping[str, str] | None = None,
                  ) -> dict[str, alt.Scale]:
    """Colour, shape and dash scales over one domain (so one legend shows them together): each measured series a
    colour and a shape, each series drawn only as theory a colour and a dashed key, each marker state (name ->
    shape) its shape in STATE_INK."""
    states = dict(states or {})
    lines = len(measured) + len(theory_only)
    domain = [*measured, *theory_only, *states]
    return {
        "color": alt.Scale(domain=domain, range=_cycled(PALETTE, lines) + [STATE_INK] * len(states)),
        "shape": alt.Scale(domain=domain, range=_cycled(SHAPES, len(measured)) + [THEORY_KEY] * len(theory_only)
                           + list(states.values())),
        "strokeDash": alt.Scale(domain=domain, range=_cycled(DASHES, len(measured)) + _cycled(
            [THEORY_DASH], len(theory_only) + len(states))),
    }


def marked(data: pd.DataFrame, keys: Iterable[str | None]) -> pd.Series:
    """The rows that carry a line's markers: every row of a short line, MARKS spread along a long one, staggered
    from line to line so that lines drawn on top of each other still show each one's shape."""
    keys = [k for k in keys if k]
    line = data.groupby(keys, sort=False).ngroup().to_numpy() if keys and len(data) else np.zeros(len(data), int)
    out = np.zeros(len(data), dtype=bool)
    count = int(line.max()) + 1 if len(line) else 0
    for i in range(count):
        rows = np.flatnonzero(line == i)
        if len(rows) <= LINE_POINTS:
            out[rows] = True
        else:
            step = len(rows) / MARKS
            out[rows[(np.arange(MARKS) * step + step * i / count).astype(int)]] = True
    return pd.Series(out, index=data.index)


MARK_FILTER = alt.FilterTransform(filter=alt.FieldEqualPredicate(field="marked", equal=True))


def point_layer(data: pd.DataFrame, **encoding: alt.FieldChannelMixin | list) -> alt.Chart:
    """Filled markers at the rows ``data["marked"]`` flags, drawn from the line's own dataset (no row sent twice)."""
    return alt.Chart(data, transform=[MARK_FILTER]).mark_point(filled=True, size=55, opacity=1).encode(**encoding)
