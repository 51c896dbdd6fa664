"""Predictions joined with ground truth by ``(request_id, instance)`` within a lateness, in windows.

Pure logic (no Kafka): the monitor feeds it records with their partition and offset and asks
which windows are complete and which offsets are safe to commit.

Rules (``docs/monitoring.md``):

* A label joins its prediction when ``label.timestamp - prediction.timestamp <= lateness``; a
  later one is a *late label* (counted, not used). Whichever of the two arrives first waits.
* A prediction is *resolved* when it is joined, or expired: the wall clock is past
  ``prediction.timestamp + lateness`` while the consumer has caught up with every partition (so
  any label in time would have been read). A waiting label expires the same way (*orphan*).
* Windows are deterministic functions of the records, so a replay after a restart assigns every
  record to the window it had before: ``count`` windows are ``window_records`` consecutive
  offsets of one predictions partition (id ``<model>-p<partition>-o<first offset>``; a dead
  letter among them takes its offset, so a window may hold fewer predictions); ``time``
  windows are ``window_seconds`` of prediction time (id ``<model>-t<start, epoch seconds>``).
  A count window closes when all its predictions are in and resolved, a time window when the
  clock is past its end plus the lateness (caught up) and all of it is resolved.
* ``is_written(window_id)`` says which windows already have a result (the report folder is the
  ledger): a prediction of such a window is skipped, never counted twice.
* :meth:`StreamJoiner.commit_offsets`: per partition, the lowest offset still held (a
  prediction of an open window, a label waiting or joined to one), else the next offset to read.
  Committing that after each window's result is written loses nothing and, with ``is_written``,
  counts nothing twice.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from monitoring import events


@dataclass
class Labelled:
    """A ground-truth record waiting for (or joined to) its prediction."""

    event: dict[str, Any]
    ts: float
    topic: str
    partition: int
    offset: int


@dataclass
class Prediction:
    """A prediction record in an open window."""

    event: dict[str, Any]
    ts: float
    topic: str
    partition: int
    offset: int
    window_id: str
    label: Labelled | None = None
    expired: bool = False

    @property
    def resolved(self) -> bool:
        return self.label is not None or self.expired


@dataclass
class Window:
    """An open (then closed) window: its predictions in arrival order."""

    window_id: str
    kind: str
    start: float | int
    size: float | int
    partition: int | None = None
    predictions: list[Prediction] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """The ``window`` object of the result event."""
        out: dict[str, Any] = {"id": self.window_id, "kind": self.kind, "predictions": len(self.predictions),
                               "labelled": sum(1 for p in self.predictions if p.label is not None)}
        if self.kind == "count":
            out.update(partition=self.partition, first_offset=self.start, last_offset=self.start + self.size - 1)
        else:
            out.update(start=dt.datetime.fromtimestamp(self.start, dt.timezone.utc).isoformat(),
                       end=dt.datetime.fromtimestamp(self.start + self.size, dt.timezone.utc).isoformat())
        times = [p.ts for p in self.predictions]
        if times:
            out["first_prediction_at"] = dt.datetime.fromtimestamp(min(times), dt.timezone.utc).isoformat()
            out["last_prediction_at"] = dt.datetime.fromtimestamp(max(times), dt.timezone.utc).isoformat()
        return out


class StreamJoiner:
    """The join state of one monitor.

    Args:
        model: Model name (part of window ids).
        window: ``count`` or ``time``.
        window_records / window_seconds: Window size.
        lateness_s: How much later than its prediction a label may be.
        is_written: Whether a window's result already exists (skip its records on replay).
    """

    def __init__(self, model: str, window: str = "count", window_records: int = 1000, window_seconds: float = 3600.0,
                 lateness_s: float = 3600.0, is_written: Callable[[str], bool] = lambda wid: False):
        if window not in ("count", "time"):
            raise ValueError(f"window must be count or time, got {window!r}")
        self.model, self.window, self.lateness = model, window, float(lateness_s)
        self.window_records, self.window_seconds = int(window_records), float(window_seconds)
        self.is_written = is_written
        self.windows: dict[str, Window] = {}
        self.predictions: dict[tuple[str, int], Prediction] = {}
        self.waiting: dict[tuple[str, int], Labelled] = {}
        self.closed: set[str] = set()
        self.last_offset: dict[int, int] = {}  # predictions partition -> highest offset read (any record)
        self.counts: dict[str, int] = {k: 0 for k in (
            "predictions", "labels", "joined", "skipped", "late_predictions", "late_labels", "duplicate_predictions",
            "duplicate_labels", "expired", "orphan_labels")}

    # -- windows ------------------------------------------------------------------------------

    def window_of(self, ts: float, partition: int, offset: int) -> Window:
        if self.window == "count":
            start = (offset // self.window_records) * self.window_records
            wid = f"{self.model}-p{partition}-o{start}"
            return self.windows.get(wid) or Window(wid, "count", start, self.window_records, partition)
        start = math.floor(ts / self.window_seconds) * self.window_seconds
        wid = f"{self.model}-t{int(start)}"
        return self.windows.get(wid) or Window(wid, "time", start, self.window_seconds)

    # -- records --------------------------------------------------------------------------------

    def note_prediction_offset(self, partition: int, offset: int) -> None:
        """Every record read from the predictions topic, valid or not: a count window spans
        offsets, so a dead letter inside it still moves it towards its end."""
        self.last_offset[partition] = max(self.last_offset.get(partition, -1), offset)

    def add_prediction(self, event: dict[str, Any], topic: str, partition: int, offset: int) -> str:
        """Adds a validated prediction; returns ``ok``, ``skipped`` (its window has a result),
        ``late`` (its window closed in this run) or ``duplicate`` (same key already held)."""
        ts = events.parse_time(event["timestamp"])
        self.note_prediction_offset(partition, offset)
        window = self.window_of(ts, partition, offset)
        if window.window_id in self.closed:
            self.counts["late_predictions"] += 1
            return "late"
        if window.window_id not in self.windows and self.is_written(window.window_id):
            self.counts["skipped"] += 1
            return "skipped"
        key = events.join_key(event)
        if key in self.predictions:
            self.counts["duplicate_predictions"] += 1
            return "duplicate"
        self.windows[window.window_id] = window
        pred = Prediction(event, ts, topic, partition, offset, window.window_id)
        window.predictions.append(pred)
        self.predictions[key] = pred
        self.counts["predictions"] += 1
        label = self.waiting.pop(key, None)
        if label is not None:
            self._join(pred, label)
        return "ok"

    def add_label(self, event: dict[str, Any], topic: str, partition: int, offset: int) -> str:
        """Adds a validated ground-truth record; returns ``joined``, ``waiting``, ``late`` or ``duplicate``."""
        ts = events.parse_time(event["timestamp"])
        key = events.join_key(event)
        self.counts["labels"] += 1
        label = Labelled(event, ts, topic, partition, offset)
        pred = self.predictions.get(key)
        if pred is not None:
            if pred.label is not None:
                self.counts["duplicate_labels"] += 1
                return "duplicate"
            return "joined" if self._join(pred, label) else "late"
        if key in self.waiting:
            self.counts["duplicate_labels"] += 1
            return "duplicate"
        self.waiting[key] = label
        return "waiting"

    def _join(self, pred: Prediction, label: Labelled) -> bool:
        if pred.expired or label.ts - pred.ts > self.lateness:
            self.counts["late_labels"] += 1
            return False
        pred.label = label
        self.counts["joined"] += 1
        return True

    # -- closing -------------------------------------------------------------------------------

    def close_ready(self, now: float, caught_up: bool) -> list[Window]:
        """Expires what is past its lateness (only when ``caught_up``) and returns the windows
        that are complete, oldest first; they leave the state (commit after writing them)."""
        if caught_up:
            for pred in self.predictions.values():
                if not pred.resolved and now >= pred.ts + self.lateness:
                    pred.expired = True
                    self.counts["expired"] += 1
            for key in [k for k, lab in self.waiting.items() if now >= lab.ts + self.lateness]:
                del self.waiting[key]
                self.counts["orphan_labels"] += 1
        ready = []
        for window in self.windows.values():
            if not all(p.resolved for p in window.predictions):
                continue
            if window.kind == "count" and self.last_offset.get(window.partition, -1) < window.start + window.size - 1:
                continue  # offsets of this window are still unread
            if window.kind == "time" and not (caught_up and now >= window.start + window.size + self.lateness):
                continue
            ready.append(window)
        ready.sort(key=lambda w: (w.start, w.window_id))
        for window in ready:
            del self.windows[window.window_id]
            self.closed.add(window.window_id)
            for pred in window.predictions:
                self.predictions.pop(events.join_key(pred.event), None)
        return ready

    def commit_offsets(self, positions: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Per ``(topic, partition)`` read so far: the offset to commit (see the module doc)."""
        held: dict[tuple[str, int], int] = {}

        def hold(topic: str, partition: int, offset: int) -> None:
            tp = (topic, partition)
            held[tp] = min(held.get(tp, offset), offset)

        for pred in self.predictions.values():
            hold(pred.topic, pred.partition, pred.offset)
            if pred.label is not None:
                hold(pred.label.topic, pred.label.partition, pred.label.offset)
        for label in self.waiting.values():
            hold(label.topic, label.partition, label.offset)
        return {tp: min(pos, held.get(tp, pos)) for tp, pos in positions.items()}

    def reset(self) -> None:
        """Forgets every open window (a rebalance: the consumer re-reads from committed offsets)."""
        self.windows.clear()
        self.predictions.clear()
        self.waiting.clear()
        self.last_offset.clear()
