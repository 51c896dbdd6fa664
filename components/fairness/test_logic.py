"""Fairness logic: gaps, the binary view for multiclass, and the gate on biased vs fair models."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from components.fairness import logic

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def population(n: int, seed: int) -> pd.DataFrame:
    """Two equally qualified groups: ``label = score > 0`` in both."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"score": rng.normal(size=n), "group": rng.choice(["a", "b"], size=n)})
    df["label"] = (df["score"] > 0).astype(int)
    return df


def test_biased_predictions_fail_with_the_gap_in_the_reason():
    df = population(2000, 0)
    rng = np.random.default_rng(1)
    pred = df["label"].to_numpy().copy()
    in_b = (df["group"] == "b").to_numpy()
    pred[in_b & (rng.random(len(df)) < 0.8)] = 0  # group b is mostly denied
    th = logic.Thresholds(max_accuracy_gap=0.1, max_demographic_parity_difference=0.1, max_equalized_odds_difference=0.1)
    report = logic.evaluate(df["label"], pred, df[["group"]], th)
    assert not report.passed
    text = " | ".join(report.reasons)
    assert "group: accuracy gap" in text and "demographic parity difference" in text and "equalized odds" in text
    col = report.columns[0]
    assert col.accuracy_gap.high_group == "a" and col.accuracy_gap.low_group == "b"
    assert col.demographic_parity_difference.value > 0.3
    assert f"{col.accuracy_gap.value:.3f}" in text


def test_fair_predictions_pass():
    df = population(2000, 2)
    rng = np.random.default_rng(3)
    pred = df["label"].to_numpy().copy()
    flip = rng.random(len(df)) < 0.1  # the same error rate for everyone
    pred[flip] = 1 - pred[flip]
    th = logic.Thresholds(max_accuracy_gap=0.1, max_demographic_parity_difference=0.1, max_equalized_odds_difference=0.1)
    report = logic.evaluate(df["label"], pred, df[["group"]], th)
    assert report.passed, report.reasons
    assert report.columns[0].accuracy_gap.value < 0.05


def test_binary_metrics_match_fairlearn():
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    df = population(600, 4)
    rng = np.random.default_rng(5)
    pred = np.where(rng.random(len(df)) < 0.25, 1 - df["label"], df["label"])
    pred = np.where((df["group"] == "b") & (rng.random(len(df)) < 0.2), 1, pred)
    col = logic.evaluate(df["label"], pred, df[["group"]], logic.Thresholds(min_group_size=1)).columns[0]
    sf = df["group"]
    assert col.demographic_parity_difference.value == pytest.approx(demographic_parity_difference(df["label"], pred, sensitive_features=sf))
    assert col.equalized_odds_difference.value == pytest.approx(equalized_odds_difference(df["label"], pred, sensitive_features=sf))


def test_multiclass_reports_the_worst_class_and_ignores_undefined_rates():
    # Island-like data: group "t" only ever has class "A" (no true B/C there, so no TPR for B/C).
    y_true = ["A"] * 20 + ["A"] * 10 + ["B"] * 10 + ["C"] * 10
    y_pred = ["A"] * 20 + ["A"] * 10 + ["B"] * 5 + ["C"] * 5 + ["C"] * 10
    groups = pd.DataFrame({"island": ["t"] * 20 + ["d"] * 30})
    report = logic.evaluate(y_true, y_pred, groups, logic.Thresholds(max_accuracy_gap=0.5, min_group_size=5))
    col = report.columns[0]
    # TPR of A is 1.0 in both groups; B and C only exist in "d", so no recall gap from them.
    assert col.recall_gap.value == pytest.approx(0.0)
    assert col.accuracy_gap.value == pytest.approx(1.0 - 25 / 30)
    assert col.demographic_parity_difference.cls in {"A", "C"}
    assert report.passed


def test_small_groups_are_skipped_and_numeric_columns_binned():
    df = population(400, 6)
    df.loc[:2, "group"] = "tiny"
    pred = df["label"].to_numpy().copy()
    pred[:3] = 1 - pred[:3]  # the tiny group is always wrong, but it has 3 rows
    report = logic.evaluate(df["label"], pred, df[["group", "score"]], logic.Thresholds(max_accuracy_gap=0.1, min_group_size=10))
    group_col, score_col = report.columns
    assert group_col.skipped_groups == ["tiny"]
    assert report.passed, report.reasons
    assert len(score_col.groups) == 4  # quartiles


def test_none_thresholds_are_reported_not_enforced(tmp_path):
    df = population(500, 7)
    pred = np.where(df["group"] == "b", 0, df["label"])
    report = logic.evaluate(df["label"], pred, df[["group"]], logic.Thresholds(max_accuracy_gap=None))
    assert report.passed and report.columns[0].demographic_parity_difference.value > 0.2
    paths = logic.write_outputs(report, str(tmp_path), "m")
    data = json.loads(open(paths["json"]).read())
    assert data["passed"] is True and data["columns"][0]["column"] == "group"
    assert "PASSED" in open(paths["html"]).read()


@pytest.mark.parametrize("biased", [True, False])
def test_real_small_model_biased_training_data_is_blocked(biased):
    """Acceptance: a tf_keras model trained on historically biased labels fails the gate; the same
    model trained on fair labels passes. Both are evaluated against the true labels."""
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    train, evalset = population(1500, 8), population(600, 9)
    train_label = train["label"].to_numpy().copy()
    if biased:  # group b was mostly denied in the historical data, whatever the score
        rng = np.random.default_rng(10)
        train_label[(train["group"] == "b").to_numpy() & (rng.random(len(train)) < 0.85)] = 0

    def x(frame: pd.DataFrame) -> np.ndarray:
        return np.stack([frame["score"], (frame["group"] == "b").astype(float)], axis=1).astype(np.float32)

    model = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(x(train), train_label, epochs=12, batch_size=64, verbose=0)
    pred = model.predict(x(evalset), verbose=0).argmax(axis=1)
    th = logic.Thresholds(max_accuracy_gap=0.1, max_demographic_parity_difference=0.15)
    report = logic.evaluate(evalset["label"], pred, evalset[["group"]], th)
    if biased:
        assert not report.passed
        assert any(r.startswith("group: accuracy gap") for r in report.reasons), report.reasons
        assert report.columns[0].accuracy_gap.low_group == "b"
    else:
        assert report.passed, report.reasons


def test_thresholds_from_config_carry_every_bound():
    from types import SimpleNamespace

    cfg = SimpleNamespace(max_accuracy_gap=0.3, max_demographic_parity_difference=None,
                          max_equalized_odds_difference=0.4, max_recall_gap=0.2, min_group_size=7, enabled=True)
    assert logic.Thresholds.from_config(cfg) == logic.Thresholds(0.3, None, 0.4, 0.2, 7)


def test_mitigation_before_and_after_and_the_hint_are_in_the_report(tmp_path):
    df = population(2000, 2)
    rng = np.random.default_rng(3)
    biased = df["label"].to_numpy().copy()
    in_b = (df["group"] == "b").to_numpy()
    biased[in_b & (rng.random(len(df)) < 0.8)] = 0
    th = logic.Thresholds(max_accuracy_gap=None, max_demographic_parity_difference=0.1)
    before = logic.evaluate(df["label"], biased, df[["group"]], th)
    after = logic.evaluate(df["label"], df["label"], df[["group"]], th)
    result = logic.mitigation_result("reweighing", before, after)
    b_gap = before.columns[0].demographic_parity_difference.value
    a_gap = after.columns[0].demographic_parity_difference.value
    assert result["before"]["gaps"]["group"]["demographic_parity_difference"] == pytest.approx(b_gap)
    assert result["after"]["gaps"]["group"]["demographic_parity_difference"] == pytest.approx(a_gap)
    assert result["before"]["passed"] is False and result["after"]["passed"] is True
    assert f"group demographic parity difference {b_gap:.3f} -> {a_gap:.3f}" in result["summary"]
    after.mitigation = result
    logic.write_outputs(after, str(tmp_path / "after"), "m")
    page = (tmp_path / "after" / "index.html").read_text()
    assert 'id="mitigation-table"' in page and f"{b_gap:.3f}" in page and 'id="hint"' not in page
    before.hint = logic.MITIGATION_HINT
    logic.write_outputs(before, str(tmp_path / "before"), "m")
    assert "fairness.mitigation: reweighing" in (tmp_path / "before" / "index.html").read_text()
    assert json.loads((tmp_path / "before" / "result.json").read_text())["hint"] == logic.MITIGATION_HINT
