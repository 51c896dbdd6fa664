"""The online drift monitor: every window is counted in /metrics, the log speaks on a change of state.

Windows are computed synchronously (``compute_now``) with the app's callbacks wired, so the counts
are exact; no TensorFlow and no server thread needed.
"""

import logging

import numpy as np
import pandas as pd
from prometheus_client import generate_latest

import serving.monitor as monitor_module
from components.drift.logic import DriftSettings
from serving.app import create_app
from serving.monitor import DriftMonitor
from tests.serving.helpers import metric, metric_samples, wait_for
from tests.serving.test_swap_semantics import FakeSource

WINDOW = 100


def _samples(app):
    return metric_samples(generate_latest(app.state.metrics.registry).decode())


def _window(monitor, values):
    monitor.observe([{"x": float(v), "colour": "red" if i % 2 else "blue"} for i, v in enumerate(values)],
                    [{"y": 0.0}] * len(values))
    return monitor.compute_now()


def test_drift_warns_once_per_state_change_and_counts_every_window(caplog):
    rng = np.random.default_rng(7)
    baseline = pd.DataFrame({"x": rng.normal(0, 1, 2000), "colour": ["red", "blue"] * 1000})
    monitor = DriftMonitor(baseline, {"x": "float", "colour": "categorical"},
                           DriftSettings(threshold=0.2, window_size=WINDOW))
    app = create_app(FakeSource(), drift_monitor=monitor)  # wires the metrics callbacks; starts nothing

    caplog.set_level(logging.INFO, logger="serving.monitor")
    shifted = [_window(monitor, rng.normal(5, 1, WINDOW)) for _ in range(25)]  # constant drifted traffic
    assert all(r.drifted_features == ["x"] for r in shifted)
    normal = [_window(monitor, rng.normal(0, 1, WINDOW)) for _ in range(5)]
    assert not any(r.drifted for r in normal)
    again = [_window(monitor, rng.normal(5, 1, WINDOW)) for _ in range(5)]
    assert all(r.drifted for r in again)

    warnings = [r for r in caplog.records if r.name == "serving.monitor" and r.levelno == logging.WARNING]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]  # drift started twice, not 30 times
    assert "x now above the threshold 0.2" in warnings[0].getMessage()
    cleared = [r for r in caplog.records if r.name == "serving.monitor" and "back at or below" in r.getMessage()]
    assert len(cleared) == 1 and cleared[0].levelno == logging.INFO

    samples = _samples(app)
    assert metric(samples, "mlops_serving_drift_windows_total", result="drift") == 30
    assert metric(samples, "mlops_serving_drift_windows_total", result="no_drift") == 5
    assert metric(samples, "mlops_serving_drift_windows_total", result="error") == 0
    assert metric(samples, "mlops_serving_drift_score", feature="x") > 0.2


def test_a_failing_window_is_counted_and_logged_once(caplog, monkeypatch):
    baseline = pd.DataFrame({"x": np.linspace(0, 1, 500)})
    monitor = DriftMonitor(baseline, {"x": "float"}, DriftSettings(threshold=0.2, window_size=10))
    app = create_app(FakeSource(), drift_monitor=monitor)
    calls = []

    def boom(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("scores exploded")

    caplog.set_level(logging.INFO, logger="serving.monitor")
    monkeypatch.setattr(monitor_module.drift, "compute_drift", boom)
    try:
        monitor.start()
        for _ in range(3):
            n = len(calls)
            monitor.observe([{"x": 0.5}] * 10, [{}] * 10)
            wait_for(lambda: len(calls) > n, 10, what="a drift computation")
    finally:
        monitor.stop()
    assert metric(_samples(app), "mlops_serving_drift_windows_total", result="error") == 3
    errors = [r for r in caplog.records if r.name == "serving.monitor" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
