"""Sentences on the pages: what MiniLM sees (a typed sentence's nearest WordNet definitions)."""

import pandas as pd
import streamlit as st

from transfer_core.errors import TransferLabError
from transfer_core.text import neighbours
from ui.i18n import class_names, literal, t, t_plain

MOST_LETTERS = 300  # a sentence typed into the page: a definition's length, with room to spare


def sentence_neighbours_ui() -> None:
    st.markdown(t("sentences.intro", per_kind=neighbours.PER_KIND))
    sentence = st.text_input(
        t("sentences.type"), value=t_plain("sentences.example"), max_chars=MOST_LETTERS, key="sentence_neighbours"
    )
    if not sentence.strip():
        st.info(t("sentences.empty"))
        return
    bar = st.progress(0.0, text=t_plain("sentences.encoding", done=0, total="…"))

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=t_plain("sentences.encoding", done=done, total=total))

    try:
        around = neighbours.shared_neighbourhood(progress)  # encoded once per server, then shared
        found = neighbours.nearest(around, sentence)
    except TransferLabError as err:
        bar.empty()
        st.error(literal(err))
        return
    bar.empty()
    rows = [{t("sentences.col_definition"): text, t("sentences.col_kind"): class_names([kind])[0],
             t("sentences.col_cosine"): round(score, 3)} for text, kind, score in found]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(t("sentences.caption", speed=around.sentences_per_second, count=len(around.texts)))
