"""LIME beside SHAP: a model that depends on one feature gets LIME attributions with the sign and
ordering that model implies, for classification and regression, and the two methods agree on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.explain import lime_logic, logic

FEATURES = ["signal", "noise", "color"]


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """``signal`` and ``noise`` standard normal, ``color`` one of three; independent."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "signal": rng.normal(size=n),
        "noise": rng.normal(size=n),
        "color": rng.choice(["red", "green", "blue"], size=n),
    })


def proba(frame: pd.DataFrame) -> np.ndarray:
    """P(pos) rises with ``signal`` only."""
    p = 1 / (1 + np.exp(-3 * frame["signal"].to_numpy(dtype=float)))
    return np.stack([1 - p, p], axis=1)


def value(frame: pd.DataFrame) -> np.ndarray:
    """A regression on ``signal`` only: 10 + 4 * signal, as [N, 1]."""
    return (10 + 4 * frame["signal"].to_numpy(dtype=float)).reshape(-1, 1)


def _clear_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Examples far enough from the median that the model's answer is clear (top/bottom quartile)."""
    return pd.concat([df[df["signal"] > 1.0].head(6), df[df["signal"] < -1.0].head(6)]).reset_index(drop=True)


def test_classification_sign_and_ordering_follow_the_one_feature_the_model_uses():
    df = synthetic(600, 0)
    sample = _clear_rows(df.iloc[300:])
    expl = lime_logic.explain(proba, df.iloc[:300], sample, FEATURES, ["neg", "pos"], num_samples=1500, seed=1)
    assert expl.ranking()[0][0] == "signal"
    assert expl.global_importance["signal"] > 5 * max(expl.global_importance["noise"], expl.global_importance["color"])
    for row, ex in zip(sample.itertuples(), expl.examples):
        attr = ex["attributions"]
        # The predicted class is explained: a high signal predicts "pos" and being in the top
        # quartile raises P(pos); a low signal predicts "neg", and being in the bottom quartile
        # raises P(neg). Either way signal's weight is positive and the largest.
        assert ex["predicted_class"] == ("pos" if row.signal > 0 else "neg")
        assert attr["signal"] > 0.2
        assert abs(attr["signal"]) == max(abs(v) for v in attr.values())
        assert abs(attr["noise"]) < 0.05 and abs(attr["color"]) < 0.05


def test_regression_sign_follows_the_slope():
    df = synthetic(600, 2)
    sample = _clear_rows(df.iloc[300:])
    expl = lime_logic.explain(value, df.iloc[:300], sample, FEATURES, ["predicted_value"], num_samples=1500,
                              seed=1, regression=True)
    assert expl.ranking()[0][0] == "signal"
    for row, ex in zip(sample.itertuples(), expl.examples):
        attr = ex["attributions"]
        # Top quartile: above the average prediction (positive); bottom quartile: below it.
        assert np.sign(attr["signal"]) == np.sign(row.signal)
        assert abs(attr["signal"]) > 2.0
        assert abs(attr["noise"]) < 0.1 * abs(attr["signal"]) and abs(attr["color"]) < 0.1 * abs(attr["signal"])


def test_same_seed_same_attributions():
    df = synthetic(200, 3)
    a = lime_logic.explain(proba, df.iloc[:100], df.iloc[100:104], FEATURES, ["neg", "pos"], num_samples=500, seed=7)
    b = lime_logic.explain(proba, df.iloc[:100], df.iloc[100:104], FEATURES, ["neg", "pos"], num_samples=500, seed=7)
    assert [e["attributions"] for e in a.examples] == [e["attributions"] for e in b.examples]


def test_agreement_with_shap_on_a_one_feature_model():
    df = synthetic(600, 4)
    sample = _clear_rows(df.iloc[300:])
    shap_expl = logic.explain(proba, df.iloc[:25], sample, FEATURES, ["neg", "pos"])
    lime_expl = lime_logic.explain(proba, df.iloc[:300], sample, FEATURES, ["neg", "pos"], num_samples=1500, seed=1)
    agree = lime_logic.agreement(shap_expl, lime_expl)
    assert len(agree["per_example"]) == len(sample)
    assert all(r["shap_top"][0] == r["lime_top"][0] == "signal" for r in agree["per_example"])
    # SHAP gives noise and color exactly 0 (ties), so only "signal first" can be compared; the
    # global importances rank signal first on both sides.
    assert agree["global_spearman"] is not None and agree["global_spearman"] > 0
    assert agree["mean_top_overlap"] >= 1 / 3


def test_spearman_is_none_without_a_ranking():
    assert lime_logic._spearman([1, 1, 1], [3, 2, 1]) is None
    assert lime_logic._spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_report_puts_both_methods_side_by_side(tmp_path):
    import json

    df = synthetic(400, 5)
    sample = _clear_rows(df.iloc[200:])
    shap_expl = logic.explain(proba, df.iloc[:25], sample, FEATURES, ["neg", "pos"])
    lime_expl = lime_logic.explain(proba, df.iloc[:200], sample, FEATURES, ["neg", "pos"], num_samples=500, seed=1)
    agree = lime_logic.agreement(shap_expl, lime_expl)
    logic.write_outputs(shap_expl, str(tmp_path), "synthetic", others={"lime": lime_expl}, agreement=agree)
    data = json.loads((tmp_path / "attributions.json").read_text())
    assert data["methods"] == ["shap", "lime"] and data["ranking"][0] == "signal"  # SHAP stays at the top level
    assert data["by_method"]["lime"]["ranking"][0] == "signal"
    assert data["agreement"]["top_k"] == 3 and len(data["agreement"]["per_example"]) == len(sample)
    page = (tmp_path / "index.html").read_text()
    assert 'id="comparison"' in page and "SHAP and LIME side by side" in page
    assert 'id="global-comparison"' in page and "mean |LIME|" in page and 'id="example-comparison"' in page


def test_shap_only_report_has_no_comparison(tmp_path):
    import json

    df = synthetic(100, 6)
    expl = logic.explain(proba, df.iloc[:10], df.iloc[50:55], FEATURES, ["neg", "pos"])
    logic.write_outputs(expl, str(tmp_path), "synthetic")
    assert json.loads((tmp_path / "attributions.json").read_text())["methods"] == ["shap"]
    assert 'id="comparison"' not in (tmp_path / "index.html").read_text()
