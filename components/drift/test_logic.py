"""Drift logic: known shifts are detected, resamples of the same data stay quiet, threshold rule."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from components.drift import logic
from components.drift.logic import DriftInputError, DriftSettings, compute_drift, is_drift

FEATURES = {
    "bill_length_mm": "float",
    "bill_depth_mm": "float",
    "flipper_length_mm": "float",
    "body_mass_g": "float",
    "island": "categorical",
    "sex": "categorical",
}
PENGUINS = DriftSettings(threshold=0.2, numeric_metric="psi", categorical_metric="js", window_size=0)


def test_identical_samples_score_zero():
    df = pd.DataFrame({"a": np.arange(100.0), "c": ["x", "y"] * 50})
    for nm in ("psi", "ks"):
        for cm in ("psi", "js"):
            r = compute_drift(df, df, {"a": "float", "c": "categorical"}, DriftSettings(numeric_metric=nm, categorical_metric=cm))
            assert r.scores == {"a": 0.0, "c": 0.0} and not r.drifted


def test_penguins_2009_vs_2007_is_detected(penguins_df):
    """The real shift between field seasons: flipper lengths grew ~6 mm from 2007 to 2009."""
    base = penguins_df[penguins_df.year == 2007]
    cur = penguins_df[penguins_df.year == 2009]
    report = compute_drift(base, cur, FEATURES, PENGUINS, label="species")
    assert report.drifted
    assert "flipper_length_mm" in report.drifted_features
    flipper = report.feature("flipper_length_mm")
    assert flipper.score > 0.3 and flipper.current_mean > flipper.baseline_mean
    assert not report.feature("sex").drifted


@pytest.mark.parametrize("seed", range(20))
def test_unshifted_resample_of_the_same_size_stays_quiet(penguins_df, seed):
    """A bootstrap resample of the 2007 rows, as many rows as 2009 has, must not alarm."""
    base = penguins_df[penguins_df.year == 2007]
    n = int((penguins_df.year == 2009).sum())
    cur = base.sample(n=n, replace=True, random_state=seed)
    report = compute_drift(base, cur, FEATURES, PENGUINS)
    assert not report.drifted, report.summary_lines()


@pytest.mark.parametrize("numeric_metric", ["psi", "ks"])
def test_shifted_numeric_feature_is_detected_and_only_it(penguins_df, numeric_metric):
    base = penguins_df.sample(frac=0.5, random_state=1)
    cur = penguins_df.drop(base.index).copy()
    settings = DriftSettings(numeric_metric=numeric_metric, window_size=0)
    assert not compute_drift(base, cur, FEATURES, settings).drifted
    cur["body_mass_g"] = cur["body_mass_g"] + 600.0  # ~0.75 standard deviations heavier
    report = compute_drift(base, cur, FEATURES, settings)
    assert report.drifted_features == ["body_mass_g"]
    if numeric_metric == "ks":
        assert report.feature("body_mass_g").p_value < 1e-6


def test_categorical_shift_with_js_and_psi(penguins_df):
    base = penguins_df
    cur = penguins_df[penguins_df.island == "Biscoe"]  # one island only
    for cm in ("js", "psi"):
        r = compute_drift(base, cur, {"island": "categorical"}, DriftSettings(categorical_metric=cm, window_size=0))
        assert r.drifted and r.feature("island").metric == cm


def test_threshold_boundary_equal_is_not_drift(penguins_df):
    """The rule is score > threshold: a score exactly at the threshold is not drift."""
    base = penguins_df[penguins_df.year == 2007]
    cur = penguins_df[penguins_df.year == 2009]
    score = compute_drift(base, cur, {"flipper_length_mm": "float"}, PENGUINS).feature("flipper_length_mm").score
    at = DriftSettings(threshold=score, window_size=0)
    below = DriftSettings(threshold=math.nextafter(score, 0.0), window_size=0)
    above = DriftSettings(threshold=math.nextafter(score, math.inf), window_size=0)
    assert not compute_drift(base, cur, {"flipper_length_mm": "float"}, at).drifted
    assert compute_drift(base, cur, {"flipper_length_mm": "float"}, below).drifted
    assert not compute_drift(base, cur, {"flipper_length_mm": "float"}, above).drifted
    assert is_drift(0.2000001, 0.2) and not is_drift(0.2, 0.2) and not is_drift(None, 0.2) and not is_drift(float("nan"), 0.2)


def test_window_uses_the_newest_rows():
    base = pd.DataFrame({"a": np.random.default_rng(0).normal(0, 1, 500)})
    old = np.random.default_rng(1).normal(0, 1, 300)
    new = np.random.default_rng(2).normal(3, 1, 100)
    cur = pd.DataFrame({"a": np.concatenate([old, new])})
    assert compute_drift(base, cur, {"a": "float"}, DriftSettings(window_size=100)).drifted
    assert compute_drift(base, cur.head(300), {"a": "float"}, DriftSettings(window_size=100)).drifted is False
    # with timestamps, "newest" follows the timestamp, not the row order
    stamped = cur.assign(timestamp=[f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}" for i in range(400)][::-1])
    assert not compute_drift(base, stamped, {"a": "float"}, DriftSettings(window_size=100)).drifted


def test_missing_values_are_counted_not_scored():
    base = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 25, "c": ["x", "y", None, "x"] * 25})
    cur = pd.DataFrame({"a": [1.0, None, "oops", 4.0] * 25, "c": [None] * 100})
    r = compute_drift(base, cur, {"a": "float", "c": "categorical"}, DriftSettings(window_size=0))
    a, c = r.feature("a"), r.feature("c")
    assert a.current_missing == 50 and a.current_count == 50 and a.score is not None
    assert c.status == "no_data" and c.score is None and not c.drifted and c.baseline_missing == 25


def test_missing_column_is_an_input_error():
    with pytest.raises(DriftInputError, match="current data .*no column 'b'"):
        compute_drift(pd.DataFrame({"a": [1.0], "b": [2.0]}), pd.DataFrame({"a": [1.0]}), {"a": "float", "b": "float"})


def test_predictions_compared_with_training_labels(penguins_df):
    base = penguins_df
    cur = penguins_df.assign(predicted_class="Gentoo")  # a model that only says Gentoo
    r = compute_drift(base, cur, {"island": "categorical"}, DriftSettings(window_size=0), label="species")
    pred = r.feature("predicted_class")
    assert pred.kind == "prediction" and pred.drifted
    same = compute_drift(base, penguins_df.assign(predicted_class=penguins_df.species), {"island": "categorical"},
                         DriftSettings(window_size=0), label="species")
    assert same.feature("predicted_class").score == 0.0


def test_scores_are_bounded_where_documented():
    a = pd.DataFrame({"c": ["x"] * 50, "n": np.zeros(50)})
    b = pd.DataFrame({"c": ["y"] * 50, "n": np.ones(50)})
    js = compute_drift(a, b, {"c": "categorical"}, DriftSettings(categorical_metric="js")).feature("c").score
    ks = compute_drift(a, b, {"n": "float"}, DriftSettings(numeric_metric="ks")).feature("n").score
    assert js == pytest.approx(1.0) and ks == pytest.approx(1.0)


def test_few_rows_get_fewer_bins():
    s = DriftSettings()
    assert s.bins_for(10_000, 200) == 10 and s.bins_for(110, 120) == 5 and s.bins_for(10, 10) == 2


def test_report_serialises_and_renders(penguins_df):
    r = compute_drift(penguins_df[penguins_df.year == 2007], penguins_df[penguins_df.year == 2009], FEATURES, PENGUINS,
                      baseline_uri="base.csv", current_uri="cur.csv")
    d = json.loads(r.to_json())
    assert d["drifted"] is True and d["threshold"] == 0.2 and "score > threshold" in d["rule"]
    assert {f["name"] for f in d["features"]} == set(FEATURES)
    page = r.to_html()
    assert page.count("data:image/png;base64,") == len(FEATURES)
    assert "flipper_length_mm" in page and "Drift detected" in page
    quiet = compute_drift(penguins_df, penguins_df, FEATURES, PENGUINS)
    assert "No drift" in quiet.to_html(plots=False) and "data:image/png" not in quiet.to_html(plots=False)
    assert any("flipper_length_mm" in line and "drift" in line for line in r.summary_lines())


def test_settings_from_config_and_validation(raw_config):
    from pipelines.config import config_from_dict

    cfg = config_from_dict(raw_config)
    s = DriftSettings.from_monitoring(cfg.monitoring, threshold=None, window_size=50)
    assert (s.threshold, s.numeric_metric, s.categorical_metric, s.window_size) == (0.2, "psi", "js", 50)
    with pytest.raises(DriftInputError, match="numeric_metric"):
        DriftSettings(numeric_metric="js")
    with pytest.raises(DriftInputError, match="threshold"):
        DriftSettings(threshold=0)


def test_prediction_log_records_flatten():
    recs = [
        {"timestamp": "t1", "version": 2, "inputs": {"a": 1.0, "c": "x"}, "outputs": {"predicted_class": "k", "probabilities": [1.0]}},
        {"a": 2.0, "c": "y"},
    ]
    df = logic.flatten_prediction_records(recs)
    assert df.loc[0, "predicted_class"] == "k" and df.loc[0, "model_version"] == 2 and df.loc[1, "a"] == 2.0
