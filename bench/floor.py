"""The stack's floor: link-to-charts times of a minimal Streamlit page, measured exactly as the pages are.

A reference for the browser columns: what Streamlit and Vega-Lite alone cost in a new tab on this machine,
with none of stabviz's code (same config.toml, 15 sidebar sliders, two Altair line charts of 300 points).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench import ROOT
from bench.pages import link_times

SLIDERS = 15
APP = f'''
import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

st.set_page_config(layout="wide")
st.title("Reference page")
st.markdown("Two line charts of 300 points and {SLIDERS} sliders: the stack's own cost.")
with st.sidebar:
    for i in range({SLIDERS}):
        st.slider(f"parameter {{i}}", 0, 100, 50, key=f"p{{i}}", help="a parameter")
x = np.arange(300)
y = np.sin(np.outer([1, 2, 3], x / 40)).ravel()
df = pd.DataFrame({{"x": np.tile(x, 3), "y": y, "s": np.repeat(list("abc"), 300)}})
for _ in range(2):
    st.altair_chart(alt.Chart(df).mark_line().encode(alt.X("x:Q"), alt.Y("y:Q"), alt.Color("s:N")), width="stretch")
with st.container(key="page_end"):
    st.caption("end")
'''


def floor_times(chromium) -> tuple[float, float]:
    """(link cold, link warm) of the reference page, on servers of its own, timed as the pages' links are."""
    from browser import server

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "app.py").write_text(APP)
        shutil.copytree(ROOT / ".streamlit", Path(tmp) / ".streamlit")
        return link_times(chromium, lambda: server(root=Path(tmp)), [""])[""]
