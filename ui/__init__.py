"""Streamlit helpers shared by the pages: the session's identity, its config, the sidebar."""
