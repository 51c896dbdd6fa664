"""One progress line per component of a local run, from the executions MLMD records.

LocalDagRunner offers no callback (TFX 1.21's ``run_with_ir`` launches the nodes one after
another and only logs), but every launch registers an MLMD execution when the component starts
and records its final state: ``COMPLETE``, ``CACHED`` or ``FAILED``. A background thread polls
the run's SQLite store through a read-only connection and prints::

    [3/15] StatisticsGen ...
    [3/15] StatisticsGen done in 4.2s
    [4/15] ImportSchemaGen done in 0.1s (cached)
    [9/15] Trainer FAILED after 12.0s

(Parsing TFX's log lines broke: TFT lowers absl's verbosity mid-run.)
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from pipelines.local import mlmd


class Progress:
    """Watches one run's executions in MLMD and prints a line as each component starts and ends.

    Use as a context manager around the run. On exit it reads MLMD a last time, so every line
    is printed before the run's summary; a component whose execution never got a final state
    (the run was interrupted) is reported failed after the time it was seen running.

    Args:
        metadata_path: The run's SQLite MLMD file (it may not exist yet).
        run_id: The run's id (its ``pipeline_run`` context in MLMD).
        total: The number of components in the pipeline, for ``[i/total]``.
        emit_line: Prints one line.
        interval_s: Seconds between two reads of MLMD.
    """

    def __init__(self, metadata_path: str, run_id: str, total: int, emit_line: Callable[[str], None],
                 interval_s: float = 0.5):
        self.metadata_path = metadata_path
        self.run_id = run_id
        self.total = total
        self.emit_line = emit_line
        self.interval_s = interval_s
        #: Per component id: ``seconds``, ``state`` and ``execution_id`` (``run.json``'s ``components``).
        self.components: dict[str, dict[str, Any]] = {}
        #: The error of the last read of MLMD, None when it succeeded.
        self.error: Exception | None = None
        self._reader: mlmd.RunReader | None = None
        self._index: dict[int, int] = {}  # execution id -> its line number [i/total]
        self._seen_at: dict[int, float] = {}  # execution id -> when it was first seen (monotonic)
        self._ended: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="mlops-progress", daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join()
        now = time.monotonic()
        for execution_id, index in self._index.items():
            if execution_id not in self._ended:
                node = next(n for n, c in self.components.items() if c["execution_id"] == execution_id)
                secs = now - self._seen_at[execution_id]
                self.components[node]["seconds"] = round(secs, 2)
                self.emit_line(f"[{index}/{self.total}] {node} FAILED after {secs:.1f}s")

    def _watch(self) -> None:
        # The last read happens after the stop request, in this thread: one thread per connection.
        while not self._stop.wait(self.interval_s):
            self.poll()
        self.poll()

    def poll(self) -> None:
        """Reads the run's executions once and prints what changed since the last read.

        A failed read (no store yet, or a writer holding the database longer than MLMD's retries)
        is kept in ``error`` and retried on the next call.
        """
        if self._reader is None and not os.path.exists(self.metadata_path):
            return  # no component has started yet
        try:
            if self._reader is None:
                self._reader = mlmd.RunReader(mlmd.open_store(self.metadata_path, read_only=True), self.run_id)
            executions = self._reader.components()
        except Exception as exc:  # noqa: BLE001 - MLMD's errors have no common base; retried
            self.error = exc
            return
        self.error = None
        for ex in executions:
            if ex.execution_id not in self._index:
                self._index[ex.execution_id] = len(self._index) + 1
                self._seen_at[ex.execution_id] = time.monotonic()
                self.emit_line(f"[{self._index[ex.execution_id]}/{self.total}] {ex.node_id} ...")
            self.components[ex.node_id] = {"seconds": ex.seconds, "state": ex.state, "execution_id": ex.execution_id}
            if ex.finished and ex.execution_id not in self._ended:
                self._ended.add(ex.execution_id)
                self.emit_line(f"[{self._index[ex.execution_id]}/{self.total}] {ex.node_id} {_ending(ex)}")


def _ending(ex: mlmd.ComponentExecution) -> str:
    if ex.state == "executed":
        return f"done in {ex.seconds:.1f}s"
    if ex.state == "cached":
        return f"done in {ex.seconds:.1f}s (cached)"
    return f"FAILED after {ex.seconds:.1f}s"
