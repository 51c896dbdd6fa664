"""Stopping what a task waits on when the task is killed (SIGTERM), for the local and remote runners."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


class TaskKilled(Exception):
    """The task process received SIGTERM (Airflow's kill); raised where the task was waiting."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`TaskKilled` in the waiting code (once).

    Airflow 3's task runner answers SIGTERM only with ``task.on_kill()`` (a no-op for a
    ``@task``) and kills the process later, so the wait would never learn it should stop its
    container or remote run. The handler calls the previous one first (Airflow's stays in
    charge) and restores it on exit. Outside the main thread (where signals cannot be handled)
    it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    fired = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal fired
        if callable(previous):
            previous(signum, frame)
        if not fired:
            fired = True
            raise TaskKilled("the task received SIGTERM")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
