"""The sections the chart tests run over: every section that draws a chart.

A chart test looping over a section's figures asserts nothing where there are none, so the sections that
draw only a table are listed here, left out of those tests, and checked to draw a table and no chart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stabviz import experiments

TABLE_ONLY = {("activations", "saturation")}  # (experiment, section): a table, no chart


def charted(quick_only: bool = False) -> Iterator:
    """pytest params (name, section) of every section that draws a chart (only the quick ones if ``quick_only``)."""
    for name in experiments.NAMES:
        for sec in experiments.load(name).SECTIONS:
            if (name, sec.name) not in TABLE_ONLY and not (quick_only and sec.long):
                yield pytest.param(name, sec, id=f"{name}-{sec.name}")
