"""Widgets bound to one TrainConfig field each.

The config is the source of truth; each widget's session key is set from it before
the widget is drawn (on every run), and the widget's on_change writes back into it. So widgets stay
in step when the config changes elsewhere (a link, another page, a preset).
"""

from collections.abc import Callable
from typing import Any

import streamlit as st

from .config_state import current_config, update_config
from .teacher import hidden, locked


def bind(
    widget: Callable,
    label: str,
    field: str,
    *args,
    encode: Callable[[Any], Any] = lambda v: v,
    decode: Callable[[Any], Any] = lambda v: v,
    **kwargs,
) -> Any:
    """Draw `widget(label, *args, **kwargs)` showing config.<field>; return the config's value."""
    if hidden(field):  # a teacher's preset keeps this setting out of sight
        return getattr(current_config(), field)
    key = f"config_{field}"
    # Set on every run, not only when it differs: a rerun that interrupts the first one (the tab-identity
    # answer does) can leave the browser without the value, and only a set value is always sent along.
    st.session_state[key] = encode(getattr(current_config(), field))
    if locked(field):
        kwargs["disabled"] = True
        label = f"{label} :material/lock:"
    widget(label, *args, key=key, on_change=_write_back, args=(field, key, decode), **kwargs)
    return getattr(current_config(), field)


def _write_back(field: str, key: str, decode: Callable[[Any], Any]) -> None:
    update_config(**{field: decode(st.session_state[key])})


def kept_answer(label: str, options, kept: dict, key: str, **kwargs) -> None:
    """A radio for a prediction whose answer lives in `kept["answer"]` (a dict the tab keeps on the
    server, so a reload brings it back): shown from it before it is drawn, written to it on change."""
    if kept.get("answer") in options:
        st.session_state[key] = kept["answer"]

    def keep() -> None:
        kept["answer"] = st.session_state[key]

    st.radio(label, options, index=None, key=key, on_change=keep, **kwargs)
