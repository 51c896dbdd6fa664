"""Online drift of the served traffic: the last ``window_size`` instances vs the training baseline.

Optional (``mlops serve --baseline URI`` or ``--config C``, whose ``data.uri`` is the baseline).
Request handlers append instances to a ring buffer (cheap); a background thread recomputes the
per-feature scores with ``components/drift/logic.py`` each time ``window_size`` new instances
have arrived and exports them as ``mlops_serving_drift_score{feature, metric}`` next to
``mlops_serving_drift_threshold``; the ``MlopsServingDrift`` alert compares the two.
The offline check (``mlops drift`` over the prediction logs, the ``model_monitoring`` DAG) uses
the same logic and thresholds.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Any, Mapping

import pandas as pd

from components.drift import logic as drift

log = logging.getLogger(__name__)


class DriftMonitor:
    """Ring buffer of recent instances plus a recompute thread.

    Args:
        baseline: The training data.
        features: ``{name: float|int|categorical}``; features the model does not take are skipped.
        settings: Metric choices, threshold and window size (``window_size`` > 0).
        label: Baseline label column, to compare with ``predicted_class``.
        on_report: Called with each new :class:`~components.drift.logic.DriftReport`.
    """

    def __init__(
        self,
        baseline: pd.DataFrame,
        features: Mapping[str, str],
        settings: drift.DriftSettings,
        label: str | None = None,
        on_report=None,
    ):
        if settings.window_size <= 0:
            raise ValueError("the serving drift monitor needs monitoring.window_size > 0")
        self.baseline = baseline
        self.features = dict(features)
        self.settings = settings
        self.label = label
        self.on_report = on_report
        self._rows: collections.deque = collections.deque(maxlen=settings.window_size)
        self._new = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: drift.DriftReport | None = None
        self.reports = 0

    def observe(self, rows: list[Mapping[str, Any]], predictions: list[Mapping[str, Any]]) -> None:
        with self._lock:
            for inp, out in zip(rows, predictions):
                row = {k: inp.get(k) for k in self.features}
                if isinstance(out, Mapping) and drift.PREDICTION_COLUMN in out:
                    row[drift.PREDICTION_COLUMN] = out[drift.PREDICTION_COLUMN]
                self._rows.append(row)
            self._new += len(rows)
            if self._new >= self.settings.window_size:
                self._wake.set()

    def compute_now(self) -> drift.DriftReport | None:
        with self._lock:
            if not self._rows:
                return None
            window = pd.DataFrame(list(self._rows))
            self._new = 0
        report = drift.compute_drift(self.baseline, window, self.features, self.settings, label=self.label)
        self.last_report = report
        self.reports += 1
        if self.on_report:
            self.on_report(report)
        if report.drifted:
            log.warning("serving drift: %s above %.3g", ", ".join(report.drifted_features), self.settings.threshold)
        return report

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="drift-monitor", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            if self._stop.is_set():
                return
            if self._wake.is_set():
                self._wake.clear()
                try:
                    self.compute_now()
                except Exception:
                    log.exception("drift computation failed")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
