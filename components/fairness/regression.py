"""The fairness gate for a regression model (``task: regression``): per-group error gaps.

For each sensitive column the eval rows are grouped by its values (numeric columns with many
values in quartiles, as for classification) and each group gets its count, **MAE** (mean
absolute error) and **mean residual** (mean of prediction - label: its sign says whether the
model over- or under-predicts the group). The gaps are max - min over the groups with at least
``min_group_size`` rows:

* **MAE gap**: the model is more wrong for one group than for another;
* **mean residual gap**: it is biased up for one group and down for another (a model can have
  equal MAEs and still favour a group systematically).

Both are in the label's units, so their bounds (``max_mae_gap``, ``max_mean_residual_gap``) are
too; None reports a gap without enforcing it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from components.common import html as report_html
from components.fairness.logic import Gap, _clean, _spread, group_values


@dataclass(frozen=True)
class RegressionThresholds:
    """Gate bounds in label units (None: reported, not enforced)."""

    max_mae_gap: float | None = None
    max_mean_residual_gap: float | None = None
    min_group_size: int = 10


@dataclass
class RegressionColumnReport:
    """Per-group ``count``, ``mae``, ``mean_residual`` of one sensitive column and its gaps."""

    column: str
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_groups: list[str] = field(default_factory=list)
    mae_gap: Gap | None = None
    mean_residual_gap: Gap | None = None


@dataclass
class RegressionFairnessReport:
    """The verdict (``passed``, ``reasons``) and the numbers behind it."""

    passed: bool
    reasons: list[str]
    columns: list[RegressionColumnReport]
    thresholds: RegressionThresholds
    n_examples: int
    overall_mae: float
    task: str = "regression"

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def column_report(column: str, y_true: np.ndarray, y_pred: np.ndarray, groups: pd.Series,
                  min_group_size: int) -> RegressionColumnReport:
    """Per-group errors and the gaps for one sensitive column."""
    frame = pd.DataFrame({"group": groups.to_numpy(), "residual": y_pred - y_true})
    frame["abs"] = frame["residual"].abs()
    by_group = frame.groupby("group", sort=True).agg(count=("residual", "size"), mae=("abs", "mean"),
                                                     mean_residual=("residual", "mean"))
    by_group.index = by_group.index.astype(str)
    report = RegressionColumnReport(column=column)
    report.groups = {g: {"count": int(r["count"]), "mae": float(r["mae"]), "mean_residual": float(r["mean_residual"])}
                     for g, r in by_group.iterrows()}
    small = by_group["count"] < min_group_size
    report.skipped_groups = sorted(by_group.index[small])
    kept = by_group[~small]
    report.mae_gap = _spread(kept["mae"])
    report.mean_residual_gap = _spread(kept["mean_residual"])
    return report


def evaluate(y_true: Sequence[float], y_pred: Sequence[float], sensitive: pd.DataFrame,
             thresholds: RegressionThresholds = RegressionThresholds(),
             max_numeric_groups: int = 10) -> RegressionFairnessReport:
    """Computes the per-column error gaps and decides the gate.

    Raises:
        ValueError: Lengths differ or there is no row.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if len(y_true) != len(y_pred) or len(y_true) != len(sensitive):
        raise ValueError(f"length mismatch: {len(y_true)} labels, {len(y_pred)} predictions, {len(sensitive)} rows")
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate fairness on")
    columns, reasons = [], []
    checks = (("mae_gap", "MAE gap", thresholds.max_mae_gap, "max_mae_gap"),
              ("mean_residual_gap", "mean residual gap", thresholds.max_mean_residual_gap, "max_mean_residual_gap"))
    for col in sensitive.columns:
        groups = group_values(sensitive[col].reset_index(drop=True), max_numeric_groups)
        rep = column_report(col, y_true, y_pred, groups, thresholds.min_group_size)
        columns.append(rep)
        for attr, label, bound, key in checks:
            gap = getattr(rep, attr)
            if bound is not None and gap is not None and gap.value > bound:
                reasons.append(f"{col}: {gap.describe(label)} > {key} {bound}")
    return RegressionFairnessReport(not reasons, reasons, columns, thresholds, len(y_true),
                                    float(np.mean(np.abs(y_pred - y_true))))


def render_html(report: RegressionFairnessReport, model_name: str) -> str:
    """The fairness page of a regression model: verdict, gaps, per-group errors."""
    return report_html.render(
        "fairness_regression.html.j2",
        kind="fairness",
        title="Fairness gate",
        subject=f"{model_name} (regression)",
        verdict="PASSED" if report.passed else "FAILED: model not blessed",
        verdict_class="ok" if report.passed else "bad",
        page_title=f"Fairness: {model_name}",
        report=report,
    )
