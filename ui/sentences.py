"""Sentences on the pages: what MiniLM sees (a typed sentence's nearest WordNet definitions), and the
TF-IDF baseline beside a text run's accuracy and the race's verdict."""

import pandas as pd
import streamlit as st

from transfer_core.config import TrainConfig
from transfer_core.errors import TransferLabError
from transfer_core.resolve import dataset_reads, prepared_data
from transfer_core.text import neighbours
from transfer_core.text.baseline import BaselineResult, baseline_on
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


def tfidf_beside(config: TrainConfig, owner: str | None) -> BaselineResult | None:
    """TF-IDF from scratch on exactly the sentences a text run trains and validates on; None for other data."""
    try:
        return baseline_on(prepared_data(config, owner)) if dataset_reads(config.dataset, owner) == "text" else None
    except TransferLabError:
        return None  # the page already says why the run's data cannot be read


def tfidf_line(configs: list[TrainConfig], owner: str | None) -> None:
    """The baseline a text verdict is read against: TF-IDF from scratch on the same seeds' sentences."""
    if not configs or dataset_reads(configs[0].dataset, owner) != "text":
        return
    seeds = {config.seed: config for config in configs}
    with st.spinner(t("sentences.tfidf_fitting")):
        fitted = [result for config in seeds.values() if (result := tfidf_beside(config, owner)) is not None]
    if fitted:
        mean = sum(result.val_acc for result in fitted) / len(fitted)
        st.caption(t("sentences.tfidf_line", acc=mean, seeds=len(fitted)))
