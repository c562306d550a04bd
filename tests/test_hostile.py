"""What a curious or careless student can send a shared server: links whose sizes multiply past the
machine's memory, and configs the runner or the CLI are asked to run. Each is refused by arithmetic,
with the sizes to lower, before any data loads."""

import resource

import numpy as np
import pytest

from tests.apptest import open_app
from transfer_core import resolve
from transfer_core.__main__ import main
from transfer_core.config import TrainConfig
from transfer_core.runners.memory_budget import OverBudget, budget_bytes, check_budget, needed_bytes
from transfer_core.settings import SettingError

pytestmark = pytest.mark.usefixtures("fresh_runner")  # each test opens the app with a runner of its own


BOMB = TrainConfig(train_per_class=5000, val_per_class=1000, image_size=512)  # every value inside its range


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
def loads(monkeypatch):
    """Every dataset the code under test loads, by name: a refusal must come before the first."""
    loaded, real = [], resolve.raw_dataset
    monkeypatch.setattr(resolve, "raw_dataset", lambda name, owner: loaded.append(name) or real(name, owner))
    return loaded


def test_the_budget_is_a_quarter_of_the_machine_or_the_setting(monkeypatch):
    assert 0 < budget_bytes() < 2**40
    monkeypatch.setenv("TRANSFER_LAB_MEMORY_BUDGET_MB", "512")
    assert budget_bytes() == 512 * 1024**2
    monkeypatch.setenv("TRANSFER_LAB_MEMORY_BUDGET_MB", "lots")
    with pytest.raises(SettingError, match="TRANSFER_LAB_MEMORY_BUDGET_MB='lots' must be a positive whole number"):
        budget_bytes()
    monkeypatch.delenv("TRANSFER_LAB_MEMORY_BUDGET_MB")  # before the page tests' runner is closed


def test_a_link_asking_for_47_gb_of_images_is_refused_with_the_sizes_to_lower(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MEMORY_BUDGET_MB", "4096")
    assert needed_bytes(BOMB, 10) > 47e9  # 60000 images of 512 px, and a training batch's activations
    with pytest.raises(OverBudget) as refused:
        check_budget(BOMB, 10)
    message = str(refused.value)
    assert "would need about 60.1 GB" in message and "this server allows a run 4.3 GB" in message
    assert "Lower the images per class, the image size or the batch size" in message


def test_the_default_lab_fits_a_small_servers_budget_and_a_batch_too_large_gets_one_that_fits(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MEMORY_BUDGET_MB", "1024")  # a quarter of a 4 GiB container
    check_budget(TrainConfig(), 10)
    check_budget(TrainConfig(frozen_stages=0), 10)  # full fine-tuning at 64 px
    with pytest.raises(OverBudget, match="64 at 224 px alone is over it; a batch of 3 and about 356 training"):
        check_budget(TrainConfig(image_size=224, frozen_stages=0), 10)
    check_budget(TrainConfig(image_size=224, frozen_stages=0, batch_size=3, train_per_class=200, val_per_class=100), 10)


def test_the_data_page_refuses_the_link_before_loading_anything(loads):
    before = peak_rss_mb()
    at = open_app("app_pages/data.py", BOMB)
    assert not at.exception
    assert any("would need about" in e.value and "images per class" in e.value for e in at.error)
    assert loads == [] and peak_rss_mb() - before < 300  # the server's memory did not grow by gigabytes


def test_the_runner_refuses_the_run_at_submit_and_queues_nothing(loads):
    from ui.session import get_runner

    runner = get_runner()
    with pytest.raises(OverBudget):
        runner.submit(BOMB, "someone")
    assert runner.list("someone") == [] and loads == []


def test_the_cli_refuses_it_with_exit_2(capsys, loads):
    args = ["train", "--train-per-class", "5000", "--val-per-class", "1000", "--image-size", "512"]
    assert main(args) == 2
    assert "would need about" in capsys.readouterr().err and loads == []


# --- a tab's identity --------------------------------------------------------------------------


def everything_shown(at) -> str:
    """Every element on the page, sidebar included, as Streamlit sends it (texts, labels, help, links,
    captions, table and chart data), except the component that hands the tab its own secret to keep."""
    found = []

    def walk(node) -> None:
        proto = str(getattr(node, "proto", None) or "")
        if "transfer_lab_tab_identity" not in proto:
            found.append(proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(found)


PAGES = ["home", "data", "backbone", "transfer", "train", "results", "features", "compare", "layers", "ledger",
         "my_data", "board"]  # fmt: skip


def test_no_page_shows_the_tabs_secret_its_owner_id_or_a_path_in_the_data_folder(tiny_config):
    from tests.archives import class_images, make_zip
    from tests.test_my_data_page import COLOURS, button
    from tests.waiting import wait_until_finished
    from transfer_core import settings
    from ui.session import get_runner, owner_id

    at = open_app("app_pages/my_data.py")
    secret, me = at.session_state["owner_proposal"], at.session_state["owner"]
    assert me == owner_id(secret) != secret  # paths and records use the derived id
    at.file_uploader[0].set_value(("colours.zip", make_zip(class_images(COLOURS, 8)), "application/zip")).run()
    button(at, "Keep as my dataset", "zip").click().run()
    button(at, "Save", "save_colours").click().run()
    assert any("Saved “colours”" in s.value for s in at.success)
    assert (settings.current().data_dir / "users" / me / "datasets" / "colours").is_dir()
    run_id = get_runner().submit(tiny_config.replace(dataset="mine:colours", train_per_class=6, val_per_class=2), me)
    wait_until_finished(get_runner(), run_id, timeout=120)
    at.session_state["active_run"] = run_id
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        shown = everything_shown(at)
        for hidden in (secret, me, str(settings.current().data_dir), str(settings.current().home)):
            assert hidden not in shown, (page, hidden)
        if page == "train":  # the app's own Markdown (an icon, a code span) is not escaped with the values
            assert any("**Active run:** :material/check_circle: done" in m.value for m in at.sidebar.markdown)
            assert f"**Run `{run_id}`: done**" in [m.value for m in at.markdown]


# --- memory all sessions share ----------------------------------------------------------------


def test_eight_tabs_cannot_each_fill_their_own_bound_the_least_recent_are_released_and_told(tmp_path):
    """Every tab is a session with its own 300 MB bound (the finding: 8 x 262 MB all held). Together
    they get the server's bound; past it the tabs seen least recently lose what they held only in
    memory, are told once, and a saved dataset loads again from disk."""
    from transfer_core.data import session_memory, user_data
    from transfer_core.data.registry import RawDataset
    from transfer_core.settings import UploadLimits

    limits = UploadLimits(server_memory_mb=10, min_per_class=1)
    big = RawDataset(np.zeros((2, 1024, 1024, 3), np.uint8), np.array([0, 1]), ["a", "b"])  # 6 MB
    user_data.keep_dataset("tab-1", "first", big, limits)
    user_data.save_dataset("tab-1", "first", limits)
    session_memory.seen("tab-1")
    user_data.add_webcam_class("tab-2", "cup")
    user_data.add_webcam_shot("tab-2", "cup", np.zeros((600, 800, 3), np.uint8), limits)  # 1.4 MB
    session_memory.seen("tab-2")
    user_data.keep_dataset("tab-3", "third", big, limits)  # 6 + 1.4 + 6 > 10: tab-1, seen first, is released
    assert session_memory.memory_held() <= limits.server_memory_bytes
    assert user_data.session_datasets("tab-1") == {} and user_data.webcam_shots("tab-2")["cup"]
    assert session_memory.released_since_last_told("tab-1") == ["first"]
    assert session_memory.released_since_last_told("tab-1") == []  # told once
    assert user_data.load_dataset("tab-1", "first").classes == ["a", "b"]  # the saved copy, from disk
    with pytest.raises(session_memory.StorageFull, match="as much of students' data in memory as it may"):
        user_data.keep_dataset("tab-3", "another", RawDataset(np.zeros((2, 1400, 1400, 3), np.uint8), np.array([0, 1]),
                               ["a", "b"]), limits)  # fmt: skip


def test_a_released_tab_sees_what_was_let_go_on_its_next_page():
    from transfer_core.data import session_memory
    from transfer_core.data.registry import RawDataset

    at = open_app("app_pages/my_data.py")
    me = at.session_state["owner"]
    session_memory.MEMORY.datasets[me] = {
        "desk": RawDataset(np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 1]), ["a", "b"])
    }
    session_memory._release(me)
    at.switch_page("app_pages/data.py").run()
    assert any("let go of data you held only in memory: desk" in w.value for w in at.warning)
    at.switch_page("app_pages/my_data.py").run()
    assert not any("let go of data" in w.value for w in at.warning)
