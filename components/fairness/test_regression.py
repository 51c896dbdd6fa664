"""Regression fairness: per-group MAE and mean residual, their gaps, and the gate."""

import numpy as np
import pandas as pd

from components.fairness import logic, regression


def _data():
    # group a: exact; group b: every prediction 3 too high (biased up); group c: 2 rows (too small)
    y = np.arange(24, dtype=float)
    pred = y.copy()
    pred[10:22] += 3.0
    pred[22:] -= 50.0
    groups = pd.DataFrame({"region": ["a"] * 10 + ["b"] * 12 + ["c"] * 2})
    return y, pred, groups


def test_gaps_are_per_group_errors_in_label_units():
    y, pred, groups = _data()
    report = regression.evaluate(y, pred, groups, regression.RegressionThresholds(min_group_size=5))
    col = report.columns[0]
    assert col.groups["b"] == {"count": 12, "mae": 3.0, "mean_residual": 3.0}
    assert col.skipped_groups == ["c"]  # its -50 is left out of the gaps
    assert col.mae_gap.value == 3.0 and (col.mae_gap.high_group, col.mae_gap.low_group) == ("b", "a")
    assert col.mean_residual_gap.value == 3.0
    assert report.passed  # no bound set: reported, not enforced


def test_gate_fails_on_a_bound_and_names_the_groups(tmp_path):
    y, pred, groups = _data()
    report = regression.evaluate(y, pred, groups, regression.RegressionThresholds(max_mae_gap=2.5, min_group_size=5))
    assert not report.passed
    assert report.reasons == ["region: MAE gap 3.000 (b: 3.000 vs a: 0.000) > max_mae_gap 2.5"]
    assert regression.evaluate(y, pred, groups, regression.RegressionThresholds(max_mae_gap=3.5, min_group_size=5)).passed
    paths = logic.write_outputs(report, str(tmp_path), "m", render=regression.render_html)
    assert "MAE gap" in open(paths["html"]).read()
    assert '"task": "regression"' in open(paths["json"]).read()
