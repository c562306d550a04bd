import pytest

from transfer_core.config import TrainConfig
from transfer_core.data import session_memory


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own data, runs and torch cache folders, no network, and no session datasets
    or webcam shots left in memory by an earlier test."""
    monkeypatch.setenv("TRANSFER_LAB_HOME", str(tmp_path / "lab"))
    monkeypatch.delenv("TRANSFER_LAB_DATA", raising=False)
    monkeypatch.delenv("TRANSFER_LAB_RUNS", raising=False)
    monkeypatch.setenv("TRANSFER_LAB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    # Page tests train in threads of the test process; the process runner has tests of its own, and the
    # browser tests' server uses it as a real server does.
    monkeypatch.setenv("TRANSFER_LAB_RUNNER", "threads")
    yield tmp_path
    session_memory.MEMORY.datasets.clear()
    session_memory.MEMORY.webcam.clear()
    session_memory.MEMORY.released.clear()


@pytest.fixture
def fresh_runner():
    """A runner of the app's own (the process-wide one pages share) on this test's run folder, closed after
    the test. Every test that opens the app takes it (page modules through `pytestmark`)."""
    from ui.session import get_runner

    get_runner.clear()
    yield
    get_runner().close()
    get_runner.clear()


@pytest.fixture
def small_lessons(monkeypatch):
    """Every lesson's experiment at tests/small_lessons.py's sizes (seconds a run) for this test."""
    from tests.small_lessons import shrink_every_lesson

    shrink_every_lesson(monkeypatch.setitem)


@pytest.fixture
def closing():
    """`closing(thing)` returns the thing and closes it when the test ends, passed or failed: runners, whose
    slot threads, worker processes or Ray tasks must not outlive the test."""
    things = []

    def register(thing):
        things.append(thing)
        return thing

    yield register
    for thing in reversed(things):
        thing.close()


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A run that takes about a second: digits at 32 px on the small CNN, on the CPU whatever the machine has
    (the tests that use it check the engine against CPU references; tests/test_gpu.py covers CUDA)."""
    return TrainConfig(
        backbone="small_cnn",
        weights="random",
        dataset="digits",
        train_per_class=20,
        val_per_class=10,
        strategy="copy",
        frozen_stages=0,
        epochs=2,
        batch_size=32,
        image_size=32,
        device="cpu",
    )
