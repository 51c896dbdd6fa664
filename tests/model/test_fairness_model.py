"""The fairness gate on the real exported penguins model over its sensitive columns."""

import numpy as np

from components.common.model_io import label_strings
from components.fairness import logic


def _thresholds(cfg):
    return logic.Thresholds.from_config(cfg.fairness)


def test_the_trained_model_passes_with_the_configured_thresholds(penguins_run, served, eval_frame):
    cfg = penguins_run["config"]
    y_pred = served.predict_class(eval_frame[served.feature_names])
    report = logic.evaluate(label_strings(eval_frame[cfg.label]), y_pred, eval_frame[list(cfg.slices)],
                            _thresholds(cfg), served.class_names)
    assert [c.column for c in report.columns] == list(cfg.slices)
    assert report.passed, report.reasons
    island = report.columns[0]
    # Torgersen has only Adelie penguins: undefined per-class rates must not become gaps of 1.0.
    assert island.equalized_odds_difference is None or island.equalized_odds_difference.value < 0.5


def test_a_model_that_fails_one_group_is_blocked(penguins_run, served, eval_frame):
    """The same model, but every female penguin gets the same answer: the gate names the gap."""
    cfg = penguins_run["config"]
    y_pred = served.predict_class(eval_frame[served.feature_names]).copy()
    female = (eval_frame["sex"] == "female").to_numpy()
    y_pred[female] = served.class_names[0]
    report = logic.evaluate(label_strings(eval_frame[cfg.label]), y_pred, eval_frame[list(cfg.slices)],
                            _thresholds(cfg), served.class_names)
    assert not report.passed
    sex_reasons = [r for r in report.reasons if r.startswith("sex: accuracy gap")]
    assert sex_reasons and "female" in sex_reasons[0], report.reasons
    gap = next(c for c in report.columns if c.column == "sex").accuracy_gap
    assert gap.low_group == "female" and gap.value > cfg.fairness.max_accuracy_gap
    assert np.isclose(gap.value, gap.high - gap.low)
