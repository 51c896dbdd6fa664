"""``mlops monitor --stream`` on a real broker (Tansu): window results against a direct
computation on the same records, a kill and restart mid-window, malformed records."""

from __future__ import annotations

import json
import signal
import time

import pandas as pd
import pytest

from components.drift import logic as drift
from monitoring import events
from tests.kafka_broker import running_broker
from tests.serving.helpers import wait_for
from tests.streaming.helpers import (DEAD_LETTER, FEATURES, GROUND_TRUTH, PREDICTIONS, RESULTS, TOPICS, direct_accuracy,
                                     label_event, monitor_process, monitoring_config, penguin_rows, prediction_event,
                                     produce, written_windows)

SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def _wrong(species: str) -> str:
    return SPECIES[(SPECIES.index(species) + 1) % 3]


def _traffic(rows: list[dict], prefix: str, wrong_every: int = 5) -> tuple[list[str], list[bytes], list[bytes], list[tuple]]:
    """Prediction and label events; every ``wrong_every``-th prediction is wrong on purpose."""
    ids, preds, labels, pairs = [], [], [], []
    for i, row in enumerate(rows):
        rid = f"{prefix}-{i}"
        predicted = _wrong(row["species"]) if i % wrong_every == 0 else row["species"]
        ids.append(rid)
        preds.append(prediction_event(rid, row, predicted, latency_ms=1.0 + i % 10))
        labels.append(label_event(rid, row["species"]))
        pairs.append((row["species"], predicted, row))
    return ids, preds, labels, pairs


def test_window_quality_slices_and_drift_match_a_direct_computation(tmp_path):
    rows = penguin_rows(shift_g=600.0)[:300]
    ids, preds, labels, pairs = _traffic(rows, "q")
    config = monitoring_config(tmp_path, min_accuracy=0.9)
    reports = tmp_path / "reports"
    reports.mkdir()
    with running_broker(tmp_path, TOPICS) as broker:
        produce(broker.bootstrap, PREDICTIONS, preds, ids)
        produce(broker.bootstrap, GROUND_TRUTH, labels, ids)
        with monitor_process(config, broker.bootstrap, reports, "--window-records", "300", "--max-windows", "1") as proc:
            assert proc.wait(180) == 0
        results = broker.read_json(RESULTS)
    [(wid, window)] = written_windows(reports).items()
    assert wid == "penguins-p0-o0"
    assert [r["window_id"] for r in results] == [wid]
    assert events.parse(json.dumps(results[0]), events.RESULT)["verdict"] == "breach"
    m = window["metrics"]
    assert window["window"]["predictions"] == window["window"]["labelled"] == m["labelled"] == 300
    assert m["accuracy"] == pytest.approx(direct_accuracy([(a, b) for a, b, _ in pairs]))  # 0.8 < 0.9
    from sklearn.metrics import precision_score, recall_score

    truth, predicted = [a for a, _, _ in pairs], [b for _, b, _ in pairs]
    assert m["precision"] == pytest.approx(precision_score(truth, predicted, average="macro"))
    assert m["recall"] == pytest.approx(recall_score(truth, predicted, average="macro"))
    for island in ("Biscoe", "Dream", "Torgersen"):
        part = [(a, b) for a, b, r in pairs if r["island"] == island]
        assert window["slices"][f"island={island}"]["accuracy"] == pytest.approx(direct_accuracy(part))
    assert [b["metric"] for b in window["breaches"] if b["kind"] == "quality"] == ["accuracy"]
    # drift: the same logic on the same records, against the config's training data
    import palmerpenguins

    base = palmerpenguins.load_penguins()
    current = pd.DataFrame([{**{k: r[k] for k in FEATURES}, "predicted_class": b} for _, b, r in pairs])
    direct = drift.compute_drift(base, current, {f: ("categorical" if f in ("island", "sex") else "float") for f in FEATURES},
                                 drift.DriftSettings(threshold=0.2, numeric_metric="psi", categorical_metric="js", window_size=0),
                                 label="species")
    assert "body_mass_g" in window["drift"]["drifted_features"]
    assert window["drift"]["drifted_features"] == direct.drifted_features
    for f in direct.features:
        assert window["drift"]["scores"][f.name]["score"] == pytest.approx(f.score)
    assert window["latency_ms"]["p50"] == pytest.approx(pd.Series([1.0 + i % 10 for i in range(300)]).quantile(0.5))
    page = (reports / wid / "index.html").read_text()
    assert "mlops-pipelines report" in page and "accuracy" in page and (reports / wid / "drift.html").is_file()


def test_killed_mid_window_and_restarted_counts_every_record_once(tmp_path):
    rows = (penguin_rows() * 2)[:500]
    ids, preds, labels, pairs = _traffic(rows, "k", wrong_every=7)
    config = monitoring_config(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    with running_broker(tmp_path, TOPICS) as broker:
        produce(broker.bootstrap, PREDICTIONS, preds[:250], ids[:250])
        produce(broker.bootstrap, GROUND_TRUTH, labels[:250], ids[:250])
        with monitor_process(config, broker.bootstrap, reports, "--window-records", "100") as proc:
            wait_for(lambda: len(written_windows(reports)) >= 2, 180, 0.2, "two windows")
            time.sleep(2)  # it has read the open window's 50 predictions by now
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        assert sorted(written_windows(reports)) == ["penguins-p0-o0", "penguins-p0-o100"]
        produce(broker.bootstrap, PREDICTIONS, preds[250:], ids[250:])
        produce(broker.bootstrap, GROUND_TRUTH, labels[250:], ids[250:])
        with monitor_process(config, broker.bootstrap, reports, "--window-records", "100",
                             "--idle-timeout-seconds", "10") as proc:
            wait_for(lambda: len(written_windows(reports)) >= 5, 180, 0.2, "five windows")
        results = broker.read_json(RESULTS)
    windows = written_windows(reports)
    assert sorted(windows) == [f"penguins-p0-o{k}" for k in (0, 100, 200, 300, 400)]
    for k in range(5):
        w = windows[f"penguins-p0-o{k * 100}"]
        chunk = pairs[k * 100:(k + 1) * 100]
        assert w["window"]["predictions"] == w["metrics"]["labelled"] == 100
        assert w["metrics"]["accuracy"] == pytest.approx(direct_accuracy([(a, b) for a, b, _ in chunk]))
    assert sum(w["window"]["predictions"] for w in windows.values()) == 500  # none twice, none lost
    assert {r["window_id"] for r in results} == set(windows)


def test_malformed_records_go_to_the_dead_letter_topic_and_leave_results_alone(tmp_path):
    rows = penguin_rows()[:200]
    ids, preds, labels, pairs = _traffic(rows, "m")
    good = json.loads(preds[0])
    bad_preds = [b"not json at all", b"[1, 2]", json.dumps({**good, "schema_version": 9}).encode(),
                 json.dumps({k: v for k, v in good.items() if k != "inputs"}).encode(),
                 json.dumps({**good, "model": "another-model"}).encode()] * 10
    bad_labels = [b"\xff\xfe", json.dumps({"schema": "mlops.ground_truth", "schema_version": 1, "request_id": "x",
                                           "timestamp": "yesterday", "label": "Adelie"}).encode(),
                  json.dumps({"schema": "mlops.ground_truth", "schema_version": 1, "request_id": "x",
                              "timestamp": "2026-01-01T00:00:00+00:00"}).encode(), b"{}", b""] * 10
    mixed_preds = [v for pair in zip(preds[:50], bad_preds) for v in pair] + preds[50:]
    mixed_labels = [v for pair in zip(labels[:50], bad_labels) for v in pair] + labels[50:]
    config = monitoring_config(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    with running_broker(tmp_path, TOPICS) as broker:
        produce(broker.bootstrap, PREDICTIONS, mixed_preds)
        produce(broker.bootstrap, GROUND_TRUTH, mixed_labels)
        # count windows follow offsets: 250 records on the predictions topic = 200 good + 50 bad
        with monitor_process(config, broker.bootstrap, reports, "--window-records", "250", "--max-windows", "1",
                             "--lateness-seconds", "3") as proc:
            assert proc.wait(180) == 0
        dead = broker.read_json(DEAD_LETTER)
    assert len(dead) == 100
    assert {d["source_topic"] for d in dead} == {PREDICTIONS, GROUND_TRUTH}
    assert all(d["schema"] == events.DEAD_LETTER and d["reason"] for d in dead)
    assert any("not JSON" in d["reason"] for d in dead) and any("another-model" in d["reason"] for d in dead)
    [window] = written_windows(reports).values()
    assert window["window"]["predictions"] == window["metrics"]["labelled"] == 200
    assert window["metrics"]["accuracy"] == pytest.approx(direct_accuracy([(a, b) for a, b, _ in pairs]))


def test_time_windows_close_after_their_lateness_and_match_a_direct_computation(tmp_path):
    """Windows of 2 s of prediction time, labels allowed 1 s late: every prediction lands in the
    window of its timestamp; the unlabelled ones count as predictions without a label."""
    import math

    rows = penguin_rows()[:120]
    ids, preds, labels, pairs = _traffic(rows, "t")
    config = monitoring_config(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    with running_broker(tmp_path, TOPICS) as broker:
        produce(broker.bootstrap, PREDICTIONS, preds[:60], ids[:60])
        time.sleep(2.5)  # the second half falls in a later window
        second = [prediction_event(rid, row, b) for rid, (a, b, row) in zip(ids[60:], pairs[60:])]
        produce(broker.bootstrap, PREDICTIONS, second, ids[60:])
        produce(broker.bootstrap, GROUND_TRUTH, labels[:100], ids[:100])  # the last 20 never get one
        with monitor_process(config, broker.bootstrap, reports, "--window", "time", "--window-seconds", "2",
                             "--lateness-seconds", "1", "--idle-timeout-seconds", "8") as proc:
            assert proc.wait(180) == 0
        sent = [events.parse(m.value(), events.PREDICTION) for m in broker.read_all(PREDICTIONS)]
    by_window: dict[str, list] = {}
    for event, (label, predicted, _) in zip(sent, pairs):
        start = math.floor(events.parse_time(event["timestamp"]) / 2) * 2
        by_window.setdefault(f"penguins-t{start}", []).append((label, predicted, event["request_id"]))
    windows = written_windows(reports)
    assert sorted(windows) == sorted(by_window) and len(windows) >= 2
    for wid, members in by_window.items():
        labelled = [(a, b) for a, b, rid in members if int(rid.split("-")[1]) < 100]
        w = windows[wid]
        assert w["window"]["predictions"] == len(members) and w["metrics"]["labelled"] == len(labelled)
        assert w["metrics"]["accuracy"] == pytest.approx(direct_accuracy(labelled))
