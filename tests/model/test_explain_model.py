"""SHAP attributions of the real exported penguins model (raw features, serving_default)."""

import json

import numpy as np
import pytest

from components.explain import logic


@pytest.fixture(scope="module")
def explanation(served, eval_frame, train_frame):
    return logic.explain(
        served.predict_proba,
        train_frame.sample(20, random_state=0),
        eval_frame.sample(20, random_state=0),
        served.feature_names,
        served.class_names,
    )


def test_every_raw_feature_is_explained_in_probability_units(explanation, served):
    assert set(explanation.global_importance) == set(served.feature_names)
    assert explanation.class_names == served.class_names
    assert all(np.isfinite(v) and 0 <= v <= 1 for v in explanation.global_importance.values())
    for ex in explanation.examples:  # efficiency: sum of attributions = p(predicted) - base value
        total = sum(ex["attributions"].values())
        assert total == pytest.approx(ex["probability"] - explanation.base_values[ex["predicted_class"]], abs=1e-4)


def test_morphology_matters_more_than_sex(explanation):
    """Species is told apart by bill and flipper measurements; sex alone says nothing about it."""
    ranking = [name for name, _ in explanation.ranking()]
    assert ranking[0] in {"bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island"}, ranking
    imp = explanation.global_importance
    assert imp["sex"] < max(imp["bill_length_mm"], imp["flipper_length_mm"]), imp


def test_report_files(explanation, tmp_path):
    paths = logic.write_outputs(explanation, str(tmp_path), "penguins")
    data = json.loads(open(paths["json"]).read())
    assert data["ranking"] and len(data["examples"]) == 20
    assert "penguins" in open(paths["html"]).read()
