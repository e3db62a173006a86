"""stabviz home: what each page teaches, with links. Run: streamlit run app.py"""

import streamlit as st

from stabviz import experiments
from stabviz.i18n import tr
from stabviz.lesson_ui import lesson_index
from stabviz.ui import carried_query, preload_optimizers, setup

lang = setup(None)
st.title(tr("common.app.title", lang))
st.markdown(tr("common.app.tagline", lang))
st.info(tr("common.app.share", lang), icon=":material/link:")
lesson_index(lang)
st.header(tr("common.app.pages", lang))
for name in experiments.NAMES:
    with st.container(border=True):
        st.page_link(f"pages/{name}.py", label=f"**{tr(f'{name}.title', lang)}**", icon=experiments.PAGES[name],
                     query_params=carried_query(lang))
        st.markdown(tr(f"{name}.summary", lang))
preload_optimizers()  # after the page is drawn: the import holds the interpreter lock (bench/README.md)
