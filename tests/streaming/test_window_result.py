"""A closed window's result for the other tasks: regression (MAE, RMSE, predicted_value drift,
max_* thresholds) and two classes (precision/recall of the positive class); pure logic."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from components.drift.logic import DriftSettings
from monitoring import events
from monitoring.join import StreamJoiner
from monitoring.window_result import MonitorSpec, compute, is_written, write_reports

T0 = 1_800_000_000.0


def _window(rows: list[tuple[dict, dict, object]]):
    """One closed count window of ``(inputs, outputs, label)`` records (label None: no ground truth)."""
    j = StreamJoiner("m", "count", window_records=len(rows), lateness_s=60)
    ts = dt.datetime.fromtimestamp(T0, dt.timezone.utc).isoformat()
    for i, (inputs, outputs, label) in enumerate(rows):
        j.add_prediction(events.prediction(f"r{i}", 0, "m", 1, ts, inputs, outputs, 2.0 + i), "p", 0, i)
        if label is not None:
            j.add_label(events.ground_truth(f"r{i}", label, timestamp=ts), "gt", 0, i)
    [window] = j.close_ready(T0 + 3600, caught_up=True)
    return window


def test_regression_window_reports_mae_rmse_and_breaks_max_mae():
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, 200)
    truth = 3 * x + rng.normal(0, 1, 200)
    pred = 3 * x + 2.0  # biased by +2
    rows = [({"x": float(a), "g": "a" if i % 2 else "b"}, {"predicted_value": float(p)}, float(t))
            for i, (a, p, t) in enumerate(zip(x, pred, truth))]
    baseline = pd.DataFrame({"x": rng.normal(10, 2, 500), "g": ["a", "b"] * 250})
    baseline["y"] = 3 * baseline["x"]
    spec = MonitorSpec(model="m", task="regression", label="y", features={"x": "float", "g": "categorical"},
                       slices=("g",), thresholds={"max_mae": 1.5, "max_rmse": None}, min_labeled=30,
                       drift_settings=DriftSettings(window_size=0), baseline=baseline)
    event, report = compute(_window(rows), spec)
    err = pred - truth
    assert event["metrics"]["mae"] == pytest.approx(np.mean(np.abs(err)))
    assert event["metrics"]["rmse"] == pytest.approx(math.sqrt(np.mean(err ** 2)))
    odd = np.arange(200) % 2 == 1
    assert event["slices"]["g=a"]["mae"] == pytest.approx(np.mean(np.abs(err[odd])))
    assert [b["metric"] for b in event["breaches"]] == ["mae"] and event["verdict"] == "breach"
    assert "predicted_value" in event["drift"]["scores"]  # prediction drift against the label's values
    assert event["latency_ms"]["max"] == pytest.approx(201.0)
    events.parse(events.dumps(event), events.RESULT)  # a valid result event


def test_two_classes_use_the_positive_class_and_too_few_labels_are_not_judged(tmp_path):
    # 10 labelled: truth 1 1 1 1 0 0 0 0 0 0, predicted 1 1 0 0 1 0 0 0 0 0 -> precision 2/3, recall 2/4
    truth = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pred = ["1", "1", "0", "0", "1", "0", "0", "0", "0", "0"]
    rows = [({"f": float(i)}, {"predicted_class": p}, t) for i, (p, t) in enumerate(zip(pred, truth))]
    rows += [({"f": 99.0}, {"predicted_class": "1"}, None)]  # no ground truth: a prediction, not labelled
    spec = MonitorSpec(model="m", task="classification", label="y", features={"f": "float"}, positive_class="1",
                       thresholds={"min_precision": 0.9}, min_labeled=11)
    event, report = compute(_window(rows), spec)
    m = event["metrics"]
    assert (m["labelled"], event["window"]["predictions"]) == (10, 11)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(0.5) and m["accuracy"] == 0.7
    assert event["breaches"] == [] and report is None  # 10 < min_labeled; no baseline, no drift
    paths = write_reports(tmp_path, event, report)
    assert is_written(tmp_path, event["window_id"]) and "precision" in open(paths["html"]).read()
