"""Waiting for something that happens in another thread or process, with a deadline that fails the test
instead of hanging CI. Every wait in the tests goes through here."""

import time


def wait_for(condition, timeout: float = 10.0, what: str = "condition", interval: float = 0.02):
    """Poll `condition()` every `interval` seconds until it returns something true (and return that), or fail
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


def wait_until_finished(runner, run_id: str, timeout: float = 120.0):
    """The run's final snapshot, once it has finished; fails the test after `timeout` seconds."""
    wait_for(lambda: runner.snapshot(run_id).finished, timeout, f"run {run_id} finishing")
    return runner.snapshot(run_id)


def wait_until_all_finished(runner, run_ids, timeout: float = 300.0, owner: str | None = None) -> None:
    """Every one of the runs has finished (asked as `owner`, where given); fails after `timeout` seconds."""
    run_ids = list(run_ids)

    def all_finished() -> bool:
        return all(runner.snapshot(run_id, owner=owner).finished for run_id in run_ids)

    wait_for(all_finished, timeout, f"{len(run_ids)} runs finishing", interval=0.2)
