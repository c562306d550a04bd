"""One loop for a run that trains somewhere else: in a worker process, or as a task on a Ray cluster.

The place a run trains in is a `Remote`: the loop asks it for the next message, asks it to stop when the
learner cancels, kills it when it does not stop within the grace period or grows past its memory bound,
and whatever ends the loop (a finished run, a store that refuses a write, a closed page, a bug) the
remote is stopped in a `finally`, so it can never keep training and speak later in another run's name.
Every message names its run; a message of another run is refused.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from transfer_core.messages import say
from transfer_core.runners.run_state import Job
from transfer_core.runners.runner import JobEnded
from transfer_core.train import Event

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Sent:
    """An event of one run, as it crosses from where the run trains to the server."""

    run_id: str
    event: Event


@dataclass(frozen=True)
class Ended:
    """A run's last message: its training has returned."""

    run_id: str


class Remote(Protocol):
    """Where one run trains, as the loop talks to it."""

    def next_message(self, timeout: float) -> Sent | Ended | None:
        """The next message, or None when none came within `timeout` seconds. Raises JobEnded when the
        place it trains in has gone (a dead worker, a lost Ray node), saying why."""

    def stop(self) -> None:
        """Ask the run to stop at its next batch."""

    def kill(self) -> None:
        """Stop the run now, whatever it is doing."""

    def memory_bytes(self) -> int:
        """What the run's process holds now (0 where it cannot be told)."""


def remote_events(
    job: Job,
    remote: Remote,
    grace_seconds: float,
    memory_bytes: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Event]:
    """`job`'s events as `remote` sends them, until its Ended. `memory_bytes`: the bound past which the
    run is failed (0: none)."""
    asked_to_stop, ended = None, False
    try:
        while True:
            if job.cancel.is_set() and asked_to_stop is None:
                remote.stop()  # the training loop checks before every batch
                asked_to_stop = clock()
            if asked_to_stop is not None and clock() - asked_to_stop > grace_seconds:
                raise JobEnded(
                    "cancelled",
                    say(
                        "remote.no_answer",
                        "stopped after {seconds:g} s without answering the stop",
                        seconds=grace_seconds,
                    ),
                )
            if memory_bytes and remote.memory_bytes() > memory_bytes:
                raise JobEnded("failed", too_much_memory(memory_bytes))
            message = remote.next_message(POLL_SECONDS)
            if message is None or message.run_id != job.run_id:
                continue  # nothing yet, or a word from a run that is over: never this run's
            if isinstance(message, Ended):
                ended = True
                return
            yield message.event
    finally:
        if not ended:
            remote.kill()


def too_much_memory(bound: int) -> str:
    sentence = (
        "the run needed more than {megabytes} MB of memory, this server's bound per run "
        "(TRANSFER_LAB_RUN_MEMORY_MB): choose fewer images per class or a smaller image size."
    )
    return say("remote.memory", sentence, megabytes=bound // 1024**2)
