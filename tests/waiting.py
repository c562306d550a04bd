"""Waiting for something that happens in another thread, with a deadline that fails the test instead of hanging CI."""

import time


def wait_for(condition, timeout: float = 10.0, what: str = "condition"):
    """Poll `condition()` until it returns something true (and return that), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


def wait_until_finished(runner, run_id: str, timeout: float = 120.0):
    """The run's final snapshot, once it has finished; fails the test after `timeout` seconds."""
    wait_for(lambda: runner.snapshot(run_id).finished, timeout, f"run {run_id} finishing")
    return runner.snapshot(run_id)
