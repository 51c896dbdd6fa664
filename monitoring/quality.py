"""Served-quality metrics of one window: pure functions over labels and predictions.

Classification: accuracy; precision and recall of the positive class for two classes (the
config's ``evaluation.positive_class``), else macro averages over the classes seen in labels or
predictions; per class precision, recall and support. Regression: MAE and RMSE. Latency: p50,
p90, p99 and max of the server's per-request latency. A metric with nothing to compute on is
None (no labelled rows, no predicted positives), never 0.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def label_text(value: Any) -> str:
    """Labels and predicted classes compared as text (a True/False label is served as "1"/"0")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def classification(y_true: Sequence[Any], y_pred: Sequence[Any], positive_class: str | None = None) -> dict[str, Any]:
    """Accuracy, precision, recall (positive class or macro) and per-class figures."""
    t = [label_text(v) for v in y_true]
    p = [label_text(v) for v in y_pred]
    n = len(t)
    out: dict[str, Any] = {"labelled": n, "accuracy": _ratio(sum(a == b for a, b in zip(t, p)), n)}
    classes = sorted(set(t) | set(p))
    per_class = {}
    for c in classes:
        tp = sum(1 for a, b in zip(t, p) if a == c and b == c)
        predicted = sum(1 for b in p if b == c)
        support = sum(1 for a in t if a == c)
        per_class[c] = {"precision": _ratio(tp, predicted), "recall": _ratio(tp, support), "support": support}
    out["per_class"] = per_class
    if positive_class is not None and len(classes) <= 2:
        pos = per_class.get(label_text(positive_class), {"precision": None, "recall": None})
        out["precision"], out["recall"], out["average"] = pos["precision"], pos["recall"], f"positive class {positive_class}"
    else:
        precisions = [v["precision"] for v in per_class.values() if v["precision"] is not None]
        recalls = [v["recall"] for v in per_class.values() if v["recall"] is not None]
        out["precision"] = float(np.mean(precisions)) if precisions else None
        out["recall"] = float(np.mean(recalls)) if recalls else None
        out["average"] = "macro"
    return out


def regression(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, Any]:
    """MAE and RMSE (None without labelled rows)."""
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if not len(t):
        return {"labelled": 0, "mae": None, "rmse": None}
    err = p - t
    return {"labelled": int(len(t)), "mae": float(np.mean(np.abs(err))), "rmse": float(math.sqrt(np.mean(err ** 2)))}


def latency(values_ms: Sequence[float | None]) -> dict[str, Any]:
    """p50/p90/p99/max (linear interpolation) of the latencies that were reported."""
    v = np.asarray([x for x in values_ms if x is not None], dtype=float)
    if not len(v):
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
    p50, p90, p99 = np.percentile(v, [50, 90, 99])
    return {"count": int(len(v)), "p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(v.max())}


#: Threshold keys of ``monitoring`` → (metric, direction): a window breaks ``min_*`` below it,
#: ``max_*`` above it.
THRESHOLDS = {
    "min_accuracy": ("accuracy", "min"),
    "min_precision": ("precision", "min"),
    "min_recall": ("recall", "min"),
    "max_mae": ("mae", "max"),
    "max_rmse": ("rmse", "max"),
}


def breaches(metrics: dict[str, Any], thresholds: dict[str, float | None], min_labelled: int) -> list[dict[str, Any]]:
    """The quality thresholds a window's metrics break (none when too few rows are labelled)."""
    if metrics.get("labelled", 0) < max(1, min_labelled):
        return []
    out = []
    for key, bound in thresholds.items():
        if bound is None or key not in THRESHOLDS:
            continue
        metric, direction = THRESHOLDS[key]
        value = metrics.get(metric)
        if value is None:
            continue
        if (direction == "min" and value < bound) or (direction == "max" and value > bound):
            out.append({"kind": "quality", "metric": metric, "value": value, "threshold": bound,
                        "rule": f"{metric} {'<' if direction == 'min' else '>'} {key} {bound:g}"})
    return out
