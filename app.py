"""Transfer Lab: the entry point. Builds the navigation and the shared sidebar, then runs the chosen page."""

import streamlit as st

from ui.config_state import current_config, write_url
from ui.session import mount_tab_identity
from ui.sidebar import sidebar_ui

st.set_page_config(page_title="Transfer Lab", page_icon="🔁", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/backbone.py", title="Backbone", icon=":material/hub:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/photo_library:"),
    st.Page("app_pages/my_data.py", title="My data", icon=":material/add_photo_alternate:"),
    st.Page("app_pages/transfer.py", title="Transfer", icon=":material/swap_horiz:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/monitoring:"),
    st.Page("app_pages/results.py", title="Results", icon=":material/analytics:"),
    st.Page("app_pages/features.py", title="Features", icon=":material/visibility:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/leaderboard:"),
    st.Page("app_pages/layers.py", title="Layers", icon=":material/layers:"),
    st.Page("app_pages/ledger.py", title="Ledger", icon=":material/list_alt:"),
]

page = st.navigation(PAGES)
current_config()  # a new session reads its setup from the URL before anything draws
with st.sidebar:
    mount_tab_identity()
sidebar_ui()
if problem := st.session_state.pop("url_problem", None):
    st.error(problem)
page.run()
write_url(current_config())  # after the page: it may have changed the config, and page switches clear the URL
