"""Prediction logging: batched, non-blocking JSONL to a local folder, ``s3://`` or ``gs://``.

Request handlers call :meth:`PredictionLogger.log`, which only puts records on a bounded queue
(never blocks, never raises). A background thread writes them in batches, one object per batch:

    <log_dir>/<model>/date=YYYY-MM-DD/<UTC time>-<writer id>-<seq>.jsonl

One JSON object per line and instance::

    {"timestamp": "2026-01-31T12:00:00.123456+00:00", "request_id": "...", "model": "penguins",
     "version": 3, "inputs": {"bill_length_mm": 39.1, ...},
     "outputs": {"predicted_class": "Adelie", "probabilities": [...], "classes": [...]}}

``request_id`` is the ``X-Request-Id`` of the response (or the client's own), so labels that
arrive later can be joined to predictions. ``components/drift`` reads these files directly
(``mlops drift --current <log_dir>/<model>/``).

Every object is written whole (locally through a temp file and a rename; S3/GCS objects appear
atomically), so a reader never sees half a batch. When the queue is full (the store is slower
than the traffic) records are dropped and counted rather than slowing requests down. A batch
that cannot be written is retried a few times, then dropped and counted. :meth:`close` flushes
what is queued (the server calls it on shutdown).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from typing import Any, Callable, Iterable, Mapping

from components.common import storage

log = logging.getLogger(__name__)
_STOP = object()


class PredictionLogger:
    """Background JSONL writer with a bounded queue.

    Args:
        log_dir: Local folder, ``s3://bucket/prefix`` or ``gs://bucket/prefix``.
        model_name: Subfolder per model.
        batch_size: Write when this many records are queued ...
        flush_seconds: ... or when the oldest unwritten record is this old.
        max_queue: Records queued at most; beyond that they are dropped (counted).
        on_written / on_dropped: Callbacks with a record count (metrics).
        retries: Attempts per batch before it is dropped.
    """

    def __init__(
        self,
        log_dir: str,
        model_name: str,
        batch_size: int = 500,
        flush_seconds: float = 5.0,
        max_queue: int = 20_000,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
        retries: int = 3,
    ):
        self.log_dir = log_dir.rstrip("/") if "://" in log_dir else str(log_dir)
        self.model_name = model_name
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.retries = max(1, retries)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, max_queue))
        self._on_written = on_written or (lambda n: None)
        self._on_dropped = on_dropped or (lambda n: None)
        self._writer_id = f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.files: list[str] = []

    def set_callbacks(self, on_written: Callable[[int], None], on_dropped: Callable[[int], None]) -> None:
        """Where written/dropped record counts go (the server's metrics)."""
        self._on_written, self._on_dropped = on_written, on_dropped

    @property
    def prefix(self) -> str:
        return storage.join(self.log_dir, self.model_name)

    def start(self) -> "PredictionLogger":
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"prediction-log-{self.model_name}", daemon=True)
                self._thread.start()
        return self

    def queued(self) -> int:
        return self._queue.qsize()

    def log(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Queues records without blocking; returns how many were dropped (queue full or closed)."""
        dropped = 0
        closed = self._thread is None
        for rec in records:
            if closed:
                dropped += 1
                continue
            try:
                self._queue.put_nowait(rec)
            except queue.Full:
                dropped += 1
        if dropped:
            self.dropped += dropped
            self._on_dropped(dropped)
        return dropped

    def close(self, timeout: float = 30.0) -> None:
        """Writes everything queued, then stops the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        stop_worker(self._queue, thread, _STOP, timeout)
        if thread.is_alive():
            log.error("prediction log writer did not finish within %.0fs; %d records may be lost", timeout, self.queued())

    def _run(self) -> None:
        batch: list[Mapping[str, Any]] = []
        first_at = 0.0
        while True:
            wait = self.flush_seconds - (time.monotonic() - first_at) if batch else self.flush_seconds
            try:
                item = self._queue.get(timeout=max(0.01, wait))
            except queue.Empty:
                item = None
            if item is _STOP:
                # Drain whatever arrived before the marker, then flush and exit.
                while True:
                    try:
                        extra = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if extra is not _STOP:
                        batch.append(extra)
                self._flush(batch)
                return
            if item is not None:
                if not batch:
                    first_at = time.monotonic()
                batch.append(item)
            if batch and (len(batch) >= self.batch_size or time.monotonic() - first_at >= self.flush_seconds):
                self._flush(batch)
                batch = []

    def _flush(self, batch: list[Mapping[str, Any]]) -> None:
        for start in range(0, len(batch), self.batch_size):
            self._write(batch[start:start + self.batch_size])

    def _write(self, batch: list[Mapping[str, Any]]) -> None:
        if not batch:
            return
        now = dt.datetime.now(dt.timezone.utc)
        self._seq += 1
        uri = storage.join(
            self.prefix, f"date={now:%Y-%m-%d}", f"{now:%Y%m%dT%H%M%S%fZ}-{self._writer_id}-{self._seq:06d}.jsonl"
        )
        data = "".join(json.dumps(rec, separators=(",", ":"), default=str) + "\n" for rec in batch).encode()
        for attempt in range(1, self.retries + 1):
            try:
                storage.write_bytes(uri, data)
                self.written += len(batch)
                self.files.append(uri)
                self._on_written(len(batch))
                return
            except Exception as exc:  # a broken store must not kill the writer
                log.warning("prediction log write %s failed (attempt %d/%d): %s", uri, attempt, self.retries, exc)
                time.sleep(min(2.0, 0.2 * attempt))
        self.dropped += len(batch)
        self._on_dropped(len(batch))
        log.error("dropped %d prediction log records: %s could not be written", len(batch), uri)


def stop_worker(q: queue.Queue, thread: threading.Thread, marker: object, timeout: float) -> float:
    """Puts ``marker`` on ``q`` (waiting for room while the worker drains a full queue) and joins
    ``thread``, all within ``timeout``; returns the deadline (``time.monotonic()`` clock)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            q.put(marker, timeout=0.1)
            break
        except queue.Full:
            if time.monotonic() > deadline:
                break
    thread.join(max(0.0, deadline - time.monotonic()))
    return deadline


def make_records(
    model: str, version: int, rows: list[Mapping[str, Any]], predictions: list[Mapping[str, Any]], request_id: str
) -> list[dict[str, Any]]:
    """One log record per instance."""
    ts = dt.datetime.now(dt.timezone.utc).isoformat()
    return [
        {"timestamp": ts, "request_id": request_id, "model": model, "version": version, "inputs": dict(inp), "outputs": out}
        for inp, out in zip(rows, predictions)
    ]
