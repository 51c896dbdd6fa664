"""Fairness metrics per sensitive column (fairlearn ``MetricFrame``) and the gate decision.

For each sensitive column the eval-split predictions are grouped by the column's values and we
report, per group: count, accuracy, and per class the selection rate, true-positive rate
(recall) and false-positive rate. From those:

* **accuracy gap**: max - min of the groups' accuracy (multiclass accuracy as is).
* **demographic parity difference**, **equalized odds difference**, **recall gap**: these are
  defined for a binary outcome. The binary view we use for a label with classes ``c_1..c_K`` is
  **one-vs-rest per class, then the max over classes**: for each class ``c`` the outcome is
  "predicted ``c``" / "is ``c``", we compute the metric exactly as fairlearn defines it for
  binary labels, and report the largest value together with the class it came from.

  - DPD_c = max - min over groups of P(pred = c | group)
  - EOD_c = max(TPR gap, FPR gap) over groups, one-vs-rest for ``c``
    (fairlearn's ``equalized_odds_difference`` with ``agg="worst_case"``)
  - recall gap_c = max - min over groups of TPR_c

  With two classes both one-vs-rest views give the same numbers as the usual binary metrics
  (positive class either way), so binary labels need no special case.

Deviations from calling fairlearn's one-liners directly, on purpose:

* A rate that is undefined for a group (a group without any true ``c`` has no TPR_c; one where
  every row is ``c`` has no FPR_c) is left out of that class's gap instead of counting as 0.
  fairlearn would score it 0 and report a gap of 1.0 whenever a group simply lacks a class
  (e.g. only Adélie penguins live on Torgersen), which measures the data, not the model.
* Groups with fewer than ``min_group_size`` eval rows are listed but left out of every gap:
  a 3-row group's accuracy is noise.
* A numeric sensitive column with more than ``max_numeric_groups`` distinct values is cut into
  quartile bins (``pd.qcut``).

The gate: a threshold that is None is reported but not enforced. ``max_accuracy_gap`` is
always enforced (``FairnessConfig`` gives it a default).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from components.common import gfile_io
from components.common import html as report_html

Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Thresholds:
    """Gate bounds (None: reported, not enforced). Mirrors ``pipelines.config.FairnessConfig``."""

    max_accuracy_gap: float | None = 0.2
    max_demographic_parity_difference: float | None = None
    max_equalized_odds_difference: float | None = None
    max_recall_gap: float | None = None
    min_group_size: int = 10

    @classmethod
    def from_config(cls, fairness_cfg: Any) -> "Thresholds":
        """Every bound of a ``FairnessConfig`` (or anything with the same attributes)."""
        return cls(**{f.name: getattr(fairness_cfg, f.name) for f in fields(cls)})


@dataclass
class Gap:
    """One gap: its value, the class it came from (one-vs-rest) and the two extreme groups."""

    value: float
    cls: str | None = None
    high_group: str | None = None
    low_group: str | None = None
    high: float | None = None
    low: float | None = None

    def describe(self, metric: str) -> str:
        cls = f" for class '{self.cls}' (one-vs-rest)" if self.cls is not None else ""
        if self.high_group is None:
            return f"{metric}{cls} {self.value:.3f}"
        return (
            f"{metric}{cls} {self.value:.3f} "
            f"({self.high_group}: {self.high:.3f} vs {self.low_group}: {self.low:.3f})"
        )


@dataclass
class ColumnReport:
    """Fairness of one sensitive column.

    Attributes:
        column: The sensitive column.
        groups: Group value -> metrics (``count``, ``accuracy``, ``selection_rate[c]``,
            ``recall[c]``, ``fpr[c]``).
        skipped_groups: Groups under ``min_group_size`` (left out of the gaps).
        accuracy_gap, demographic_parity_difference, equalized_odds_difference, recall_gap:
            None when fewer than two groups qualify.
    """

    column: str
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_groups: list[str] = field(default_factory=list)
    accuracy_gap: Gap | None = None
    demographic_parity_difference: Gap | None = None
    equalized_odds_difference: Gap | None = None
    recall_gap: Gap | None = None


@dataclass
class FairnessReport:
    """The gate's verdict and everything behind it."""

    passed: bool
    reasons: list[str]
    columns: list[ColumnReport]
    thresholds: Thresholds
    classes: list[str]
    n_examples: int
    overall_accuracy: float
    binary_view: str = "one-vs-rest per class, max over classes"
    # fairness.mitigation's before/after comparison (``mitigation_result``), when it ran.
    mitigation: dict[str, Any] | None = None
    # What to try when the gate failed without mitigation (``MITIGATION_HINT``).
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


#: Named in the gate's failure message when no mitigation was configured.
MITIGATION_HINT = ("to reduce the gaps, retrain with fairness.mitigation: reweighing (per-example weights that make "
                   "the sensitive groups and the label independent in training; Kamiran & Calders)")

_GAPS = (("accuracy_gap", "accuracy gap"), ("demographic_parity_difference", "demographic parity difference"),
         ("equalized_odds_difference", "equalized odds difference"), ("recall_gap", "recall gap"))


def _gaps(report: "FairnessReport") -> dict[str, dict[str, float | None]]:
    return {c.column: {attr: (getattr(c, attr).value if getattr(c, attr) is not None else None) for attr, _ in _GAPS}
            for c in report.columns}


def mitigation_result(method: str, before: "FairnessReport", after: "FairnessReport") -> dict[str, Any]:
    """Gaps and accuracy of the model trained without mitigation (``before``) and with it
    (``after``), judged on the same eval rows, and one sentence with the trade-off."""
    gb, ga = _gaps(before), _gaps(after)
    changes = []
    for col in ga:
        for attr, label in _GAPS:
            b, a = gb.get(col, {}).get(attr), ga[col][attr]
            if b is not None and a is not None and attr in ("demographic_parity_difference", "accuracy_gap"):
                changes.append(f"{col} {label} {b:.3f} -> {a:.3f}")
    summary = "; ".join(changes + [f"accuracy {before.overall_accuracy:.3f} -> {after.overall_accuracy:.3f}"])
    return {
        "method": method,
        "before": {"overall_accuracy": before.overall_accuracy, "gaps": gb, "passed": before.passed,
                   "reasons": before.reasons},
        "after": {"overall_accuracy": after.overall_accuracy, "gaps": ga, "passed": after.passed},
        "summary": f"{method}, on the same eval rows: {summary}",
    }


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _rate(num: np.ndarray, den: np.ndarray) -> float:
    d = float(den.sum())
    return float(num.sum()) / d if d > 0 else float("nan")


def _spread(values: pd.Series) -> Gap | None:
    """max - min over groups of a per-group Series, ignoring NaN; None under two values."""
    values = values.dropna()
    if len(values) < 2:
        return None
    hi, lo = values.idxmax(), values.idxmin()
    return Gap(float(values[hi] - values[lo]), None, str(hi), str(lo), float(values[hi]), float(values[lo]))


def _worst(gaps: dict[str, Gap | None]) -> Gap | None:
    found = [(cls, g) for cls, g in gaps.items() if g is not None]
    if not found:
        return None
    cls, gap = max(found, key=lambda cg: cg[1].value)
    gap.cls = cls
    return gap


def group_values(column: pd.Series, max_numeric_groups: int = 10) -> pd.Series:
    """Group labels for a sensitive column: values as strings; numeric with many values: quartiles."""
    if pd.api.types.is_numeric_dtype(column) and column.nunique() > max_numeric_groups:
        return pd.qcut(column, 4, duplicates="drop").astype(str)
    return column.astype(str)


def column_report(
    column: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: pd.Series,
    classes: Sequence[str],
    min_group_size: int,
) -> ColumnReport:
    """Per-group metrics (fairlearn ``MetricFrame``) and the gaps for one sensitive column."""
    from fairlearn.metrics import MetricFrame

    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    metrics: dict[str, Metric] = {
        "count": lambda t, p: float(len(t)),
        "accuracy": lambda t, p: float(np.mean(np.asarray(t) == np.asarray(p))) if len(t) else float("nan"),
    }
    for c in classes:
        metrics[f"selection_rate[{c}]"] = lambda t, p, c=c: _rate(np.asarray(p) == c, np.ones(len(p), bool))
        metrics[f"recall[{c}]"] = lambda t, p, c=c: _rate((np.asarray(p) == c) & (np.asarray(t) == c), np.asarray(t) == c)
        metrics[f"fpr[{c}]"] = lambda t, p, c=c: _rate((np.asarray(p) == c) & (np.asarray(t) != c), np.asarray(t) != c)
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=groups.to_numpy())
    by_group: pd.DataFrame = frame.by_group
    by_group.index = by_group.index.astype(str)
    report = ColumnReport(column=column)
    report.groups = {g: {k: _clean(float(v)) for k, v in row.items()} for g, row in by_group.iterrows()}
    for g in report.groups:
        report.groups[g]["count"] = int(report.groups[g]["count"])
    small = by_group["count"] < min_group_size
    report.skipped_groups = sorted(by_group.index[small])
    kept = by_group[~small]
    report.accuracy_gap = _spread(kept["accuracy"])
    report.demographic_parity_difference = _worst({c: _spread(kept[f"selection_rate[{c}]"]) for c in classes})
    report.recall_gap = _worst({c: _spread(kept[f"recall[{c}]"]) for c in classes})
    eo: dict[str, Gap | None] = {}
    for c in classes:
        tpr, fpr = _spread(kept[f"recall[{c}]"]), _spread(kept[f"fpr[{c}]"])
        both = [g for g in (tpr, fpr) if g is not None]
        eo[c] = max(both, key=lambda g: g.value) if both else None
    report.equalized_odds_difference = _worst(eo)
    return report


def evaluate(
    y_true: Sequence,
    y_pred: Sequence,
    sensitive: pd.DataFrame,
    thresholds: Thresholds = Thresholds(),
    classes: Sequence[str] | None = None,
    max_numeric_groups: int = 10,
) -> FairnessReport:
    """Computes the per-column reports and decides the gate.

    Args:
        y_true: True labels (compared as strings).
        y_pred: Predicted labels (compared as strings).
        sensitive: One column per sensitive feature, aligned with the labels.
        thresholds: Gate bounds.
        classes: Label classes; the sorted union of true and predicted labels when None.
        max_numeric_groups: Numeric sensitive columns with more distinct values are binned.

    Returns:
        The report; ``passed`` is False iff an enforced threshold is exceeded, and ``reasons``
        says which, by how much, between which groups.
    """
    y_true = np.asarray([str(v) for v in y_true], dtype=object)
    y_pred = np.asarray([str(v) for v in y_pred], dtype=object)
    if len(y_true) != len(y_pred) or len(y_true) != len(sensitive):
        raise ValueError(f"length mismatch: {len(y_true)} labels, {len(y_pred)} predictions, {len(sensitive)} rows")
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate fairness on")
    classes = [str(c) for c in classes] if classes is not None else sorted(set(y_true) | set(y_pred))
    columns, reasons = [], []
    checks = [
        ("accuracy_gap", "accuracy gap", thresholds.max_accuracy_gap, "max_accuracy_gap"),
        ("demographic_parity_difference", "demographic parity difference",
         thresholds.max_demographic_parity_difference, "max_demographic_parity_difference"),
        ("equalized_odds_difference", "equalized odds difference",
         thresholds.max_equalized_odds_difference, "max_equalized_odds_difference"),
        ("recall_gap", "recall gap", thresholds.max_recall_gap, "max_recall_gap"),
    ]
    for col in sensitive.columns:
        groups = group_values(sensitive[col].reset_index(drop=True), max_numeric_groups)
        rep = column_report(col, y_true, y_pred, groups, classes, thresholds.min_group_size)
        columns.append(rep)
        for attr, label, bound, key in checks:
            gap: Gap | None = getattr(rep, attr)
            if bound is not None and gap is not None and gap.value > bound:
                reasons.append(f"{col}: {gap.describe(label)} > {key} {bound}")
    return FairnessReport(
        passed=not reasons,
        reasons=reasons,
        columns=columns,
        thresholds=thresholds,
        classes=list(classes),
        n_examples=len(y_true),
        overall_accuracy=float(np.mean(y_true == y_pred)),
    )


def render_html(report: FairnessReport, model_name: str) -> str:
    """The fairness page: verdict and reasons, gap table, per-group metrics per column."""
    return report_html.render(
        "fairness.html.j2",
        kind="fairness",
        title="Fairness gate",
        subject=model_name,
        verdict="PASSED" if report.passed else "FAILED: model not blessed",
        verdict_class="ok" if report.passed else "bad",
        page_title=f"Fairness: {model_name}",
        report=report,
        gap_names=_GAPS,
        group_keys=["count", "accuracy"] + [f"{m}[{k}]" for k in report.classes for m in ("selection_rate", "recall", "fpr")],
    )


def write_outputs(
    report: Any, out_dir: str, model_name: str = "model", extra: dict[str, Any] | None = None,
    render: Callable[[Any, str], str] | None = None,
) -> dict[str, str]:
    """Writes ``result.json`` (passed, reasons, all numbers, plus ``extra`` fields such as
    ``dropped_rows``) and ``index.html`` into ``out_dir`` (local or gs://, created if missing).
    ``render`` makes the page (default :func:`render_html`; regression: its own)."""
    paths = {"json": gfile_io.join(out_dir, "result.json"), "html": gfile_io.join(out_dir, "index.html")}
    gfile_io.write_json(paths["json"], {**report.to_dict(), **(extra or {})})
    gfile_io.write_text(paths["html"], (render or render_html)(report, model_name))
    return paths
