"""Transfer Lab: the entry point. Builds the navigation and the shared sidebar, then runs the chosen page."""

import logging

import streamlit as st

from transfer_core import settings
from transfer_core.data import session_memory
from transfer_core.settings import SettingError
from ui import teacher
from ui.config_state import CONFIG_KEY, URL_PROBLEM_KEY, current_config, write_url
from ui.i18n import t
from ui.lessons.pages import pages as lesson_pages
from ui.session import mount_tab_identity, owner
from ui.sidebar import score_ui, sidebar_ui

st.set_page_config(page_title="Transfer Lab", page_icon="🔁", layout="wide")
try:  # read once per environment; a bad value stops every page with its variable's name, never a traceback
    settings.current()
except SettingError as err:
    logging.getLogger("transfer_lab").error("bad setting: %s", err)
    st.error(t("app.bad_setting", problem=str(err)))
    st.stop()

LAB_PAGES = [
    ("app_pages/home.py", "nav.home", ":material/home:"),
    ("app_pages/backbone.py", "nav.backbone", ":material/hub:"),
    ("app_pages/data.py", "nav.data", ":material/photo_library:"),
    ("app_pages/my_data.py", "nav.my_data", ":material/add_photo_alternate:"),
    ("app_pages/transfer.py", "nav.transfer", ":material/swap_horiz:"),
    ("app_pages/train.py", "nav.train", ":material/monitoring:"),
    ("app_pages/results.py", "nav.results", ":material/analytics:"),
    ("app_pages/features.py", "nav.features", ":material/visibility:"),
    ("app_pages/compare.py", "nav.compare", ":material/leaderboard:"),
    ("app_pages/layers.py", "nav.layers", ":material/layers:"),
    ("app_pages/ledger.py", "nav.ledger", ":material/list_alt:"),
    ("app_pages/board.py", "nav.board", ":material/groups:"),
]

lab = [st.Page(path, title=t(key), icon=icon, default=path.endswith("home.py")) for path, key, icon in LAB_PAGES]
page = st.navigation({t("nav.lab"): lab, t("nav.learn"): lesson_pages()}, expanded=True)
if (preset := teacher.start_session()) is not None:  # a teacher's named preset, on the session's first run
    st.session_state[CONFIG_KEY] = preset
current_config()  # a new session reads its setup from the URL before anything draws
with st.sidebar:
    mount_tab_identity()
score_slot = sidebar_ui()
if problem := st.session_state.get(URL_PROBLEM_KEY):  # until the user changes the setup
    st.error(problem)
if released := session_memory.released_since_last_told(owner()):  # told once, on the tab's next run
    st.warning(t("my_data.released", names=", ".join(released)))
page.run()
score_ui(score_slot)
write_url(current_config())  # after the page: it may have changed the config, and page switches clear the URL
