"""Online drift of the served traffic: the last ``window_size`` instances vs the training baseline.

Optional (``mlops serve --baseline URI`` or ``--config C``, whose ``data.uri`` is the baseline).
Request handlers append instances to a ring buffer (cheap); a background thread recomputes the
per-feature scores with ``components/drift/logic.py`` each time ``window_size`` new instances
have arrived and exports them as ``mlops_serving_drift_score{feature, metric}`` next to
``mlops_serving_drift_threshold``; the ``MlopsServingDrift`` alert compares the two. Every
window is counted (``mlops_serving_drift_windows_total{result="drift"|"no_drift"|"error"}``),
but the log only says when the state changes: a warning when features start drifting (naming
them), an info line when they stop, so constant drifted traffic logs once, not once a window.
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
        on_error: Called with the exception when a window's computation fails.
    """

    def __init__(
        self,
        baseline: pd.DataFrame,
        features: Mapping[str, str],
        settings: drift.DriftSettings,
        label: str | None = None,
        on_report=None,
        on_error=None,
    ):
        if settings.window_size <= 0:
            raise ValueError("the serving drift monitor needs monitoring.window_size > 0")
        self.baseline = baseline
        self.features = dict(features)
        self.settings = settings
        self.label = label
        self.on_report = on_report
        self.on_error = on_error
        self._rows: collections.deque = collections.deque(maxlen=settings.window_size)
        self._new = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: drift.DriftReport | None = None
        self.reports = 0
        self.drifting: frozenset[str] = frozenset()  # features drifting in the last window
        self._failing = False

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
        self._log_state_change(report)
        return report

    def _log_state_change(self, report: drift.DriftReport) -> None:
        now = frozenset(report.drifted_features)
        before, self.drifting = self.drifting, now
        started, stopped = sorted(now - before), sorted(before - now)
        scores = report.scores
        if started:
            log.warning("serving drift: %s now above the threshold %.3g (%s); drifting: %s",
                        ", ".join(started), self.settings.threshold,
                        ", ".join(f"{k}={scores[k]:.3g}" for k in started if scores.get(k) is not None),
                        ", ".join(sorted(now)))
        if stopped:
            log.info("serving drift: %s back at or below the threshold %.3g; drifting: %s",
                     ", ".join(stopped), self.settings.threshold, ", ".join(sorted(now)) or "none")

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
                except Exception as exc:
                    if not self._failing:  # once per run of failures, like the drift state
                        log.exception("drift computation failed (logged once until it succeeds again)")
                    self._failing = True
                    if self.on_error:
                        self.on_error(exc)
                else:
                    if self._failing:
                        log.info("drift computation works again")
                    self._failing = False

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
