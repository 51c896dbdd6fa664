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

import html
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

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
    esc = html.escape
    verdict = "PASSED" if report.passed else "FAILED: model not blessed"
    color = "#1a7f37" if report.passed else "#cf222e"
    reasons = "".join(f"<li>{esc(r)}</li>" for r in report.reasons) or "<li>none</li>"
    t = report.thresholds

    def cell(g: Gap | None, limit: float | None) -> str:
        if g is None:
            return "<td>n/a</td>"
        style = " style='color:#cf222e;font-weight:bold'" if limit is not None and g.value > limit else ""
        return f"<td{style} title='{esc(g.describe(''))}'>{g.value:.4g}</td>"

    def bound(v: float | None) -> str:
        return "not enforced" if v is None else f"&le; {v}"

    gap_rows = "".join(f"<tr><td>{esc(c.column)}</td>{cell(c.mae_gap, t.max_mae_gap)}"
                       f"{cell(c.mean_residual_gap, t.max_mean_residual_gap)}"
                       f"<td>{esc(', '.join(c.skipped_groups)) or '-'}</td></tr>" for c in report.columns)
    sections = "".join(
        f"<h3>{esc(c.column)}</h3><table><tr><th>group</th><th>count</th><th>MAE</th><th>mean residual</th></tr>"
        + "".join(f"<tr><td>{esc(g)}</td><td>{m['count']}</td><td>{m['mae']:.4g}</td><td>{m['mean_residual']:+.4g}</td></tr>"
                  for g, m in c.groups.items()) + "</table>"
        for c in report.columns)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Fairness: {esc(model_name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head>
<body><h1>Fairness gate: {esc(model_name)} (regression)</h1>
<p style="font-size:1.4em;color:{color}"><b>{verdict}</b></p>
<h2>Reasons</h2><ul>{reasons}</ul>
<p>{report.n_examples} eval examples, overall MAE {report.overall_mae:.4g}. Residual = prediction - label (in the
label's units). Groups under {t.min_group_size} rows are left out of the gaps.</p>
<h2>Gaps per sensitive column</h2>
<table><tr><th>column</th><th>MAE gap ({bound(t.max_mae_gap)})</th><th>mean residual gap ({bound(t.max_mean_residual_gap)})</th>
<th>skipped groups</th></tr>{gap_rows}</table>
<h2>Per-group errors</h2>{sections}
</body></html>"""
