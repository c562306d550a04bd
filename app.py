"""Transfer Lab: the entry page. (The full lab pages arrive with the next release.)"""

import pandas as pd
import streamlit as st

from transfer_core.catalog import backbone_rows, dataset_rows, device_summary

st.set_page_config(page_title="Transfer Lab", layout="wide")
st.title("Transfer Lab")
st.write(
    "A trained network is a mapping from images to features. Transfer learning re-uses that mapping "
    "for a new task: copy it, combine it with a new one, then adjust it."
)
st.sidebar.markdown(f"**Device:** {device_summary()}")

st.subheader("Backbones")
st.dataframe(pd.DataFrame(backbone_rows()), hide_index=True)
st.subheader("Datasets")
st.dataframe(pd.DataFrame(dataset_rows()), hide_index=True)
