"""One closed window → its result: quality overall and per slice, input and prediction drift,
latency, verdict; written as ``window.json`` + ``index.html`` (+ the drift page) and sent as an
``mlops.monitoring_result`` event.

Input drift is the existing logic (``components.drift.logic.compute_drift``) against the serving
model's training data, every prediction of the window compared (not only the labelled ones);
prediction drift is the predicted-class distribution against the training labels
(``predicted_class``; for regression ``predicted_value`` against the label's values).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components.common import html as report_html
from components.drift import logic as drift
from monitoring import events, quality
from monitoring.join import Window

WINDOW_JSON = "window.json"
WINDOW_HTML = "index.html"
DRIFT_HTML = "drift.html"


@dataclass(frozen=True)
class MonitorSpec:
    """What the monitor judges a window by (from the pipeline config; ``monitoring.cli`` builds it).

    Attributes:
        model: Model name.
        task: ``classification`` or ``regression``.
        label: The label column of the baseline.
        features: ``{name: float|int|categorical}``.
        slices: Input columns whose values get their own quality metrics.
        positive_class: Two-class precision/recall are this class's.
        thresholds: ``monitoring.min_accuracy`` ... ``max_rmse`` (None: not judged).
        min_labeled: Quality is judged only with at least this many labelled predictions.
        drift_settings: Metrics and threshold of the drift check (``window_size`` 0: all rows).
        baseline: The serving model's training data (None: no drift computed).
        baseline_uri: Where it came from (shown in the report).
        config_path: The config (in the result event, so the DAG retrains that config).
    """

    model: str
    task: str
    label: str
    features: dict[str, str]
    slices: tuple[str, ...] = ()
    positive_class: str | None = None
    thresholds: dict[str, float | None] = field(default_factory=dict)
    min_labeled: int = 30
    drift_settings: drift.DriftSettings = drift.DriftSettings(window_size=0)
    baseline: pd.DataFrame | None = None
    baseline_uri: str = ""
    config_path: str = ""

    @property
    def output_key(self) -> str:
        return "predicted_value" if self.task == "regression" else "predicted_class"


def window_frame(window: Window, spec: MonitorSpec) -> pd.DataFrame:
    """One row per prediction: inputs, the prediction, the label (None when not joined), latency."""
    rows = []
    for p in window.predictions:
        row = dict(p.event["inputs"])
        row[spec.output_key] = p.event["outputs"].get(spec.output_key)
        row["_label"] = p.label.event["label"] if p.label is not None else None
        row["_latency_ms"] = p.event.get("latency_ms")
        row["_version"] = p.event["version"]
        rows.append(row)
    return pd.DataFrame(rows)


def _quality(frame: pd.DataFrame, spec: MonitorSpec) -> dict[str, Any]:
    labelled = frame[frame["_label"].notna()] if len(frame) else frame
    if spec.task == "regression":
        return quality.regression(pd.to_numeric(labelled["_label"], errors="coerce").tolist() if len(labelled) else [],
                                  pd.to_numeric(labelled[spec.output_key], errors="coerce").tolist() if len(labelled) else [])
    if not len(labelled):
        return quality.classification([], [], spec.positive_class)
    return quality.classification(labelled["_label"].tolist(), labelled[spec.output_key].tolist(), spec.positive_class)


def _drift(frame: pd.DataFrame, spec: MonitorSpec) -> drift.DriftReport | None:
    if spec.baseline is None or not len(frame):
        return None
    features = {k: v for k, v in spec.features.items() if k in frame.columns}
    current = frame.drop(columns=["_label", "_latency_ms", "_version"])
    if spec.task == "regression":
        report = drift.compute_drift(spec.baseline, current, features, spec.drift_settings, label=None,
                                     baseline_uri=spec.baseline_uri, current_uri="stream")
        if spec.label in spec.baseline.columns:
            report.features.append(drift.numeric_drift(spec.output_key, spec.baseline[spec.label], current[spec.output_key],
                                                       spec.drift_settings))
        return report
    return drift.compute_drift(spec.baseline, current, features, spec.drift_settings, label=spec.label,
                               baseline_uri=spec.baseline_uri, current_uri="stream")


def compute(window: Window, spec: MonitorSpec) -> tuple[dict[str, Any], drift.DriftReport | None]:
    """The result event of a closed window, and its drift report (for the HTML page)."""
    frame = window_frame(window, spec)
    metrics = _quality(frame, spec)
    slices: dict[str, Any] = {}
    for column in spec.slices:
        if column not in frame.columns:
            continue
        for value, part in frame.groupby(frame[column].astype(str), sort=True):
            slices[f"{column}={value}"] = {"predictions": int(len(part)), **_quality(part, spec)}
    report = _drift(frame, spec)
    breaches = quality.breaches(metrics, spec.thresholds, spec.min_labeled)
    if report is not None and report.drifted:
        breaches.append({"kind": "drift", "features": report.drifted_features, "max_score": report.max_score,
                         "threshold": spec.drift_settings.threshold,
                         "rule": "a feature drifts iff score > drift_threshold"})
    drift_summary = None
    if report is not None:
        drift_summary = {"drifted": report.drifted, "drifted_features": report.drifted_features,
                         "threshold": spec.drift_settings.threshold,
                         "scores": {f.name: {"metric": f.metric, "score": f.score, "status": f.status, "kind": f.kind}
                                    for f in report.features}}
    info = window.describe()
    info["versions"] = sorted({int(v) for v in frame["_version"]}) if len(frame) else []
    event = {
        "schema": events.RESULT, "schema_version": events.SCHEMA_VERSION, "window_id": window.window_id,
        "model": spec.model, "config": spec.config_path, "window": info, "metrics": metrics, "slices": slices,
        "drift": drift_summary or {}, "latency_ms": quality.latency(frame["_latency_ms"].tolist() if len(frame) else []),
        "verdict": "breach" if breaches else "ok", "breaches": breaches, "created_at": events.now_iso(),
    }
    return event, report


def _atomic_write(path: Path, data: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(data)
    os.replace(tmp, path)


def report_paths(report_dir: str | Path, window_id: str) -> dict[str, str]:
    """Where a window's ``window.json`` and page go (the result event names them)."""
    folder = Path(report_dir) / window_id
    return {"json": str(folder / WINDOW_JSON), "html": str(folder / WINDOW_HTML)}


def write_reports(report_dir: str | Path, event: dict[str, Any], report: drift.DriftReport | None) -> dict[str, str]:
    """Writes ``<report_dir>/<window id>/{index.html, drift.html, window.json}``; ``window.json``
    last (through a rename): it is the ledger that says the window has a result."""
    folder = Path(report_dir) / event["window_id"]
    folder.mkdir(parents=True, exist_ok=True)
    paths = report_paths(report_dir, event["window_id"])
    if report is not None:
        _atomic_write(folder / DRIFT_HTML, report.to_html(model_name=event["model"]))
        paths["drift_html"] = str(folder / DRIFT_HTML)
    event["reports"] = paths
    _atomic_write(folder / WINDOW_HTML, render_html(event))
    _atomic_write(folder / WINDOW_JSON, json.dumps(event, indent=2, sort_keys=True, default=str))
    return paths


def is_written(report_dir: str | Path, window_id: str) -> bool:
    """Whether a window's result exists (its ``window.json``)."""
    return (Path(report_dir) / window_id / WINDOW_JSON).is_file()


def render_html(event: dict[str, Any]) -> str:
    """The window's page, in the style of the other reports (``components/common/html``)."""
    bad = event["verdict"] == "breach"
    rules = "; ".join(b["rule"] + (f" ({', '.join(b['features'])})" if b.get("features") else "") for b in event["breaches"])
    return report_html.render(
        "stream_window.html.j2", kind="monitoring", title="Served model, one window", subject=event["model"],
        verdict="Threshold broken" if bad else "Within thresholds", verdict_class="bad" if bad else "ok",
        detail=rules or "quality and drift within the configured thresholds.", event=event,
        metric_names=[m for m in ("accuracy", "precision", "recall", "mae", "rmse") if m in event["metrics"]],
    )
