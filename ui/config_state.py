"""The tab's TrainConfig: kept in session state, mirrored into the URL query string.

The URL is read once when a session starts (so a copied link reproduces the setup)
and rewritten on every run (page switches clear it).
"""

import streamlit as st

from transfer_core.config import ALL_STAGES, TrainConfig, check_on_page
from transfer_core.errors import ConfigError
from transfer_core.resolve import check

from . import i18n, teacher
from .i18n import t

CONFIG_KEY = "config"
URL_PROBLEM_KEY = "url_problem"  # what a link or preset asked for that could not be used; shown until the user acts


def current_config() -> TrainConfig:
    if CONFIG_KEY not in st.session_state:
        st.session_state[CONFIG_KEY] = _config_from_url()
    return st.session_state[CONFIG_KEY]


def set_config(config: TrainConfig) -> None:
    st.session_state[CONFIG_KEY] = config
    write_url(config)


def update_config(**changes) -> TrainConfig | None:
    """Apply widget changes; a value the config refuses is shown, and the old config kept."""
    config = current_config()
    # A teacher's preset fixes some fields for the exercise: changes to them are dropped.
    changes = {field: value for field, value in changes.items() if not teacher.locked(field)}
    try:
        updated = check(config.replace(**changes))
    except ConfigError as err:
        st.error(t("url.kept", error=err))
        return None
    if updated != config:
        set_config(updated)
        st.session_state.pop(URL_PROBLEM_KEY, None)  # the user has acted on the setup the message was about
    return updated


def respecting_locks(config: TrainConfig) -> TrainConfig:
    """`config` with the fields a teacher's link locks kept as they are: a one-click start or a lesson's
    preset must not undo the exercise. ConfigError when the two cannot go together."""
    kept = {field: getattr(current_config(), field) for field in teacher.state()["lock"]}
    return check(config.replace(**kept)) if kept else config


def link_params(config: TrainConfig) -> dict[str, str]:
    """The query string of a link to a page with this config, the language and the teacher's settings."""
    return config.to_query_dict() | i18n.url_params() | teacher.url_params()


def write_url(config: TrainConfig) -> None:
    """The config, and the language and teacher settings that belong with it in a shared link."""
    wanted = link_params(config)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _config_from_url() -> TrainConfig:
    """The link's setup. A value the lab cannot use is left out and said (with the value used instead);
    the rest of the link still applies."""
    params, refused = dict(st.query_params.to_dict()), []
    while True:
        try:
            config = check_on_page(check(TrainConfig.from_query(params)))
            break
        except ConfigError as err:
            if err.field not in params:  # not one value of the link's own: start from the defaults
                refused, config = [(err, "")], TrainConfig()
                break
            refused.append((err, params.pop(err.field)))
    if refused:
        told = " ".join(_refusal(err, value, config) for err, value in refused)
        told = told if not refused[0][1] else f"{told} {t('url.rest_applies')}"
        earlier = st.session_state.get(URL_PROBLEM_KEY)  # the teacher's part of the link may have said something
        st.session_state[URL_PROBLEM_KEY] = f"{earlier} {told}" if earlier else told
    return config


def _refusal(err: ConfigError, value: str, config: TrainConfig) -> str:
    if not value:
        return t("url.bad_link", error=err.message)
    used = getattr(config, err.field, "")
    if err.field == "frozen_stages" and used == ALL_STAGES:  # -1 is how a link says it, not the slider
        used = t("url.all_stages")
    why = err.message.rstrip(".")  # it sits in parentheses mid-sentence
    return t("url.bad_value", field=i18n.field_label(err.field), value=value, why=why, used=used)
