"""Home: what transfer learning is, one picture of the mapping, and a one-click start."""

from pathlib import Path

import streamlit as st

from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError, TransferLabError
from ui.config_state import link_params, respecting_locks, set_config
from ui.i18n import literal, t
from ui.lessons.pages import lesson_link
from ui.session import get_runner, owner, set_active_run

MAPPING_PICTURE = Path(__file__).parents[1] / "assets" / "mapping.svg"

st.title("Transfer Lab")
st.markdown(t("home.intro"))
st.image(str(MAPPING_PICTURE), width=860, caption=t("home.picture"))

st.subheader(t("home.try"))
st.write(t("home.default_lab"))
if st.button(t("home.start"), type="primary"):
    try:
        config = respecting_locks(TrainConfig())  # the defaults, except what a teacher's link locks
        set_config(config)
        set_active_run(get_runner().submit(config, owner()))
    except ConfigError as err:
        st.error(t("url.kept", error=err))
    except TransferLabError as err:
        st.error(literal(err))
    else:
        st.switch_page("app_pages/train.py", query_params=link_params(config))

st.caption(t("home.walk"))
st.page_link(lesson_link("why"), label=t("home.learn"), icon=":material/school:")
