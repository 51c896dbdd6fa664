"""The join of predictions with ground truth, windows and safe commit offsets (pure logic)."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring import events
from monitoring.events import EventError
from monitoring.join import StreamJoiner

T0 = 1_800_000_000.0


def _ts(seconds: float) -> str:
    return dt.datetime.fromtimestamp(T0 + seconds, dt.timezone.utc).isoformat()


def pred(rid: str, at: float = 0.0, cls: str = "Adelie") -> dict:
    return events.prediction(rid, 0, "penguins", 1, _ts(at), {"island": "Biscoe"}, {"predicted_class": cls}, 2.0)


def label(rid: str, at: float = 1.0, value: str = "Adelie") -> dict:
    return events.ground_truth(rid, value, timestamp=_ts(at))


def test_count_window_closes_when_every_prediction_is_joined_in_either_order():
    j = StreamJoiner("penguins", "count", window_records=3, lateness_s=60)
    assert j.add_label(label("a"), "gt", 0, 0) == "waiting"  # a label may come first
    for i, rid in enumerate("abc"):
        assert j.add_prediction(pred(rid), "p", 0, i) == "ok"
    assert j.add_label(label("b"), "gt", 0, 1) == "joined"
    assert j.close_ready(T0 + 5, caught_up=True) == []  # c still waits for its label
    assert j.add_label(label("c"), "gt", 0, 2) == "joined"
    [w] = j.close_ready(T0 + 5, caught_up=True)
    assert w.window_id == "penguins-p0-o0" and [p.label is not None for p in w.predictions] == [True] * 3


def test_lateness_expires_unlabelled_predictions_only_when_caught_up_and_rejects_late_labels():
    j = StreamJoiner("penguins", "count", window_records=2, lateness_s=10)
    j.add_prediction(pred("a"), "p", 0, 0)
    j.add_prediction(pred("b"), "p", 0, 1)
    j.add_label(label("a", at=3), "gt", 0, 0)
    assert j.add_label(label("b", at=11), "gt", 0, 1) == "late"  # 11 s after its prediction > 10
    assert j.close_ready(T0 + 100, caught_up=False) == []  # a label in time may still be unread
    [w] = j.close_ready(T0 + 100, caught_up=True)
    assert [p.label is not None for p in w.predictions] == [True, False]
    assert j.counts["late_labels"] == 1 and j.counts["expired"] == 1


def test_commit_offsets_stop_below_what_an_open_window_still_holds():
    j = StreamJoiner("penguins", "count", window_records=2, lateness_s=60)
    for i, rid in enumerate("abcd"):
        j.add_prediction(pred(rid), "p", 0, i)
    j.add_label(label("a"), "gt", 0, 0)
    j.add_label(label("b"), "gt", 0, 1)
    j.add_label(label("d"), "gt", 0, 2)  # joined to the open window o2
    j.add_label(label("z"), "gt", 0, 3)  # waiting
    [w] = j.close_ready(T0 + 1, caught_up=True)
    assert w.window_id == "penguins-p0-o0"
    offsets = j.commit_offsets({("p", 0): 4, ("gt", 0): 4})
    assert offsets == {("p", 0): 2, ("gt", 0): 2}


def test_replayed_records_of_a_written_window_are_skipped_never_counted_twice():
    written = {"penguins-p0-o0"}
    j = StreamJoiner("penguins", "count", window_records=2, lateness_s=60, is_written=written.__contains__)
    assert j.add_prediction(pred("a"), "p", 0, 0) == "skipped"
    assert j.add_prediction(pred("c"), "p", 0, 2) == "ok"


def test_time_windows_by_prediction_time():
    j = StreamJoiner("penguins", "time", window_seconds=60, lateness_s=5)
    j.add_prediction(pred("a", at=1), "p", 0, 0)
    j.add_prediction(pred("b", at=61), "p", 0, 1)
    j.add_label(label("a", at=2), "gt", 0, 0)
    j.add_label(label("b", at=62), "gt", 0, 1)
    closed = j.close_ready(T0 + 70, caught_up=True)  # T0 is a multiple of 60: [T0, T0+60) is over
    assert [w.window_id for w in closed] == [f"penguins-t{int(T0)}"]
    assert [p.event["request_id"] for p in closed[0].predictions] == ["a"]


@pytest.mark.parametrize("raw, reason", [
    (b"not json", "not JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"schema": "mlops.ground_truth", "schema_version": 2}', "schema_version 2"),
    (b'{"schema": "mlops.prediction", "schema_version": 1}', "on a topic of"),
    (b'{"schema": "mlops.ground_truth", "schema_version": 1, "request_id": "a", "timestamp": "x", "label": 1}',
     "not ISO 8601"),
    (b'{"schema": "mlops.ground_truth", "schema_version": 1, "request_id": "a", "timestamp": "2026-01-01T00:00:00Z"}',
     "missing key 'label'"),
    (b'{"schema": "mlops.ground_truth", "schema_version": 1, "request_id": "a", "timestamp": "2026-01-01T00:00:00Z", '
     b'"label": 1, "lable": 2}', "unknown key"),
])
def test_malformed_records_are_refused_with_a_reason(raw, reason):
    with pytest.raises(EventError, match=reason):
        events.parse(raw, events.GROUND_TRUTH)
