"""What page tests share: the app opened through Streamlit's AppTest, at a page and with a config in its
link, and a run launched from the Train page waited for. Tests that open the app take the `fresh_runner`
fixture (conftest.py), which gives each test its own runner and closes it afterwards."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.waiting import wait_until_all_finished
from transfer_core.config import TrainConfig

APP = str(Path(__file__).parents[1] / "app.py")
TINY = TrainConfig(
    backbone="small_cnn", weights="random", strategy="scratch", dataset="digits",
    train_per_class=20, val_per_class=10, image_size=32, epochs=2, batch_size=32,
)  # fmt: skip


def open_app(page: str | None = None, config: TrainConfig | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (config.to_query_dict() if config else {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_lesson(at: AppTest, key: str) -> AppTest:
    """Switch to a lesson page. Lessons are st.Page objects over functions at /learn_<key>, and AppTest's
    switch_page only knows page files: ask for the page by the hash Streamlit gives its url_path."""
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(f"learn_{key}")
    return at


def config_of(at: AppTest) -> TrainConfig:
    return TrainConfig.from_query({k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()})


def finish_active_run(at: AppTest, timeout: float = 90) -> None:
    """Wait for the run the Train page follows, then rerun the page: AppTest never fires the polling
    fragment's timer."""
    from ui.session import get_runner

    wait_until_all_finished(get_runner(), [at.session_state["active_run"]], timeout)
    at.run()


def trained(config: TrainConfig) -> AppTest:
    """The Train page after Launch, once its run has finished (the run is `session_state["active_run"]`)."""
    at = open_app("app_pages/train.py", config=config)
    next(b for b in at.button if b.label == "Launch").click().run()
    finish_active_run(at)
    return at
