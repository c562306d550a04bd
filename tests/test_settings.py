"""Settings: every variable the README lists is read in one place, a bad value is reported by name (all
of them at once) on the page, in the log and by the command line, and never replaced by a default."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apptest import open_app
from tests.shown import shown
from transfer_core import settings
from transfer_core.settings import SettingError, Settings, UploadLimits

README = Path(__file__).parents[1] / "README.md"
NOT_OURS = {"TORCH_HOME"}  # torch's own cache folder, listed for the operator


class Recording(dict):
    """An environment that remembers which variables were asked for."""

    def __init__(self, values=()):
        super().__init__(values)
        self.asked = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def test_the_settings_read_exactly_the_variables_the_readme_lists():
    environment = Recording()
    Settings.from_environment(environment)
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", README.read_text(), re.MULTILINE)) - NOT_OURS
    assert environment.asked == listed


def test_unset_every_setting_has_the_readmes_default(tmp_path):
    defaults = Settings.from_environment({"HOME": str(tmp_path)})
    assert defaults.runs_dir == Path.home() / ".transfer-lab" / "runs" or defaults.runs_dir.name == "runs"
    assert (defaults.runner, defaults.slots, defaults.local_slots, defaults.max_queue) == ("processes", None, 1, 64)
    assert (defaults.run_memory_mb, defaults.feature_store_mb, defaults.class_size) == (4096, 2048, 30)
    assert (defaults.abandoned_minutes, defaults.session_idle_minutes) == (10.0, 60.0)
    assert not defaults.offline and not defaults.sharing and defaults.folder_roots == ()
    assert defaults.uploads == UploadLimits()


def test_values_are_read_and_folders_follow_the_home(tmp_path):
    read = Settings.from_environment({
        "TRANSFER_LAB_HOME": str(tmp_path), "TRANSFER_LAB_RUNS": str(tmp_path / "elsewhere"),
        "TRANSFER_LAB_SLOTS": "3", "TRANSFER_LAB_RAY_GPUS_PER_RUN": "0.25", "TRANSFER_LAB_SHARING": "1",
        "TRANSFER_LAB_FOLDER_ROOTS": f"{tmp_path}/a:{tmp_path}/b", "TRANSFER_LAB_MAX_ZIP_MEMBERS": "12",
        "TRANSFER_LAB_CLASS_SIZE": "24", "TRANSFER_LAB_RUNNER": "threads",
    })  # fmt: skip
    assert (read.data_dir, read.runs_dir) == (tmp_path / "data", tmp_path / "elsewhere")
    assert (read.slots, read.ray_gpus_per_run, read.sharing, read.class_size) == (3, 0.25, True, 24)
    assert read.folder_roots == ((tmp_path / "a").resolve(), (tmp_path / "b").resolve())
    assert read.uploads.members == 12 and read.runner == "threads"


def test_every_bad_value_is_named_at_once_and_none_silently_defaults():
    bad = {"TRANSFER_LAB_CLASS_SIZE": "thirty", "TRANSFER_LAB_SLOTS": "0", "TRANSFER_LAB_RUNNER": "gpu",
           "TRANSFER_LAB_ABANDONED_MINUTES": "soon", "TRANSFER_LAB_MAX_UPLOAD_MB": "-5"}  # fmt: skip
    with pytest.raises(SettingError) as raised:
        Settings.from_environment(bad)
    message = str(raised.value)
    for variable, value in bad.items():
        assert f"{variable}={value!r}" in message
    assert "one of processes, threads, ray" in message


def test_current_follows_the_environment_and_reads_it_once_per_environment(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_CLASS_SIZE", "12")
    first = settings.current()
    assert first.class_size == 12 and settings.current() is first
    monkeypatch.setenv("TRANSFER_LAB_CLASS_SIZE", "13")
    assert settings.current().class_size == 13


def test_a_bad_setting_stops_every_page_with_its_name_and_is_logged(monkeypatch, caplog):
    monkeypatch.setenv("TRANSFER_LAB_SLOTS", "many")
    at = open_app()
    assert any("TRANSFER_LAB_SLOTS='many' must be a positive whole number" in shown(e.value) for e in at.error)
    assert not at.exception and not at.button, "nothing else draws"
    assert "TRANSFER_LAB_SLOTS='many'" in caplog.text


def test_the_command_line_names_a_bad_setting_without_a_traceback(tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRANSFER_LAB_CLASS_SIZE": "a class"}
    done = subprocess.run([sys.executable, "-m", "transfer_core", "prepare", "why"], capture_output=True,
                          text=True, env=environment, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "TRANSFER_LAB_CLASS_SIZE='a class'" in done.stderr
    assert "Traceback" not in done.stderr
