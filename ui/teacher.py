"""Teacher mode: a preset fixes some settings and hides others, for one exercise.

Set it through the link (`lock=strategy,frozen_stages&hide=lr,optimizer`, kept in the URL), or name a
preset from a settings file (`preset=exercise1`; the file is TRANSFER_LAB_PRESETS, TOML):

    [exercise1]
    config = { strategy = "copy", frozen_stages = 4, epochs = 3 }
    lock = ["strategy", "frozen_stages"]
    hide = ["optimizer", "weight_decay"]
"""

import hmac
import tomllib
from dataclasses import fields
from pathlib import Path

import streamlit as st

from transfer_core import settings
from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError

from .i18n import t

STATE_KEY = "teacher"
FIELD_NAMES = [f.name for f in fields(TrainConfig)]  # in the config's order, as a message lists them
FIELDS = set(FIELD_NAMES)


def presets_file() -> Path | None:
    return settings.current().presets


def load_presets() -> dict[str, dict]:
    path = presets_file()
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError("preset", f"the presets file {path} could not be read ({err}).") from err


def start_session() -> TrainConfig | None:
    """Read the link once per session: the locks, the hidden fields, and a named preset's config."""
    if STATE_KEY in st.session_state:
        return None
    query = st.query_params
    state = {"lock": _fields(query.get("lock", "")), "hide": _fields(query.get("hide", "")), "preset": ""}
    unknown = sorted(_names(query.get("lock", "")) - FIELDS) + sorted(_names(query.get("hide", "")) - FIELDS)
    if unknown:  # a typo in a teacher's link would otherwise leave a setting open without a word
        st.session_state["url_problem"] = t(
            "url.unknown_settings", names=", ".join(unknown), known=", ".join(FIELD_NAMES)
        )
    state["teacher"] = teacher_link(query.get("teacher", ""))  # read once, and never written back to the URL
    config = None
    name = query.get("preset", "")
    if name:
        try:
            preset = load_presets()[name]
            config = TrainConfig.from_dict(preset.get("config", {}))
        except KeyError:
            st.session_state["url_problem"] = t("url.no_preset", name=repr(name))
        except ConfigError as err:
            st.session_state["url_problem"] = t("url.bad_preset", name=repr(name), error=err)
        else:
            state |= {"preset": name, "lock": state["lock"] | _fields(preset.get("lock", [])),
                      "hide": state["hide"] | _fields(preset.get("hide", []))}  # fmt: skip
    st.session_state[STATE_KEY] = state
    return config


def _fields(value: str | list[str]) -> set[str]:
    return _names(value) & FIELDS


def _names(value: str | list[str]) -> set[str]:
    names = value.split(",") if isinstance(value, str) else value
    return {name.strip() for name in names if name.strip()}


def teacher_link(given: str) -> bool:
    key = settings.current().teacher_key
    return bool(key) and hmac.compare_digest(given.encode(), key.encode())


def may_prepare_lessons() -> bool:
    """Preparing a lesson queues dozens of runs. On a class server only the teacher's link may
    (teacher=<TRANSFER_LAB_TEACHER_KEY>); where nobody shares (one learner, or a teacher's own laptop),
    whoever uses the app is the teacher."""
    server = settings.current()
    return state().get("teacher", False) or (not server.teacher_key and not server.sharing)


def state() -> dict:
    return st.session_state.get(STATE_KEY, {"lock": set(), "hide": set(), "preset": ""})


def locked(field: str) -> bool:
    return field in state()["lock"]


def hidden(field: str) -> bool:
    return field in state()["hide"]


def active() -> bool:
    return bool(state()["lock"] or state()["hide"])


def url_params() -> dict[str, str]:
    """What teacher mode keeps in the URL, so the link stays the exercise's link."""
    current = state()
    params = {key: ",".join(sorted(current[key])) for key in ("lock", "hide") if current[key]}
    return params | ({"preset": current["preset"]} if current["preset"] else {})
