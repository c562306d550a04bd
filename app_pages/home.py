"""Home: what transfer learning is, one picture of the mapping, and a one-click start."""

from pathlib import Path

import streamlit as st

from transfer_core.config import TrainConfig
from transfer_core.errors import TransferLabError
from ui.config_state import set_config
from ui.session import get_runner, owner, set_active_run

MAPPING_PICTURE = Path(__file__).parents[1] / "assets" / "mapping.svg"

st.title("Transfer Lab")
st.markdown(
    """
A trained network is a **mapping**: it turns an image into features, stage by stage, and a last
layer turns the features into an answer. **Transfer learning re-uses that mapping** for a new task.
You keep what the source network learned on ImageNet, put a new head on it for your classes, and
decide how much of it may change:

- **Feature copy** — copy the pretrained stages, freeze the first *k*, train the rest and a new head.
  Freeze them all and you have a *linear probe*; freeze none and it is *full fine-tuning*.
- **Feature fusion** — keep the source frozen and combine its features with a small new network's.
- **From scratch** — the same architecture with random weights: the baseline transfer has to beat.
"""
)
st.image(str(MAPPING_PICTURE), width=860, caption="Source network → features → new head: transfer re-uses the mapping.")

st.subheader("Try it now")
st.write(
    "The default lab trains a linear probe on EfficientNet-Lite0's ImageNet features to sort 2000 "
    "Fashion-MNIST images into 10 kinds of clothing. It runs offline on a laptop CPU in well under a minute."
)
if st.button("Start the default lab", type="primary"):
    config = TrainConfig()
    set_config(config)
    try:
        set_active_run(get_runner().submit(config, owner()))
    except TransferLabError as err:
        st.error(str(err))
    else:
        st.switch_page("app_pages/train.py", query_params=config.to_query_dict())

st.caption("Or set it up yourself: **Backbone** → **Data** → **Transfer** → **Train** → **Results**, in the sidebar.")
