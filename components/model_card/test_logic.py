"""Model card: Model Card Toolkit's field layout filled from a manifest, config settings and the
explain / fairness outputs; the HTML page shows each section and the placeholders left."""

import json

from components.model_card import logic

MANIFEST = {
    "model_name": "penguins", "version": 3, "pushed_at": "2026-12-07T15:00:00+00:00", "blessed": True,
    "pipeline": "penguins", "data_uri": "package://palmerpenguins/data/penguins.csv", "data_fingerprint": "abc123",
    "code_version": "deadbeef", "run_id": "run-1", "model_fingerprint": "f00d",
    "metrics": {"overall": {"sparse_categorical_accuracy": 0.97, "example_count": 99.0},
                "slices": {"island=Torgersen": {"sparse_categorical_accuracy": 1.0}},
                "classes": ["Adelie", "Gentoo", "Chinstrap"]},
    "explanation": {"method": "shap", "top_features": ["flipper_length_mm", "bill_length_mm"]},
    "fairness": {"passed": True, "reasons": [], "thresholds": {}},
    "tflite_variant": "dynamic_range",
}
SETTINGS = {
    "owner": "ml team", "contact": "ml@example.com", "intended_use": "sorting penguins",
    "out_of_scope_use": "other birds", "limitations": "three islands only", "users": "",
    "task": "classification", "label": "species",
    "features": [{"name": "bill_length_mm", "type": "float", "missing": "drop"},
                 {"name": "sex", "type": "categorical", "missing": "impute"}],
    "thresholds": [{"metric": "sparse_categorical_accuracy", "lower_bound": 0.85, "upper_bound": None}],
    "change_threshold": {"metric": "sparse_categorical_accuracy", "absolute": -0.02},
    "sensitive_columns": ["island"], "mitigation": "none",
}
FAIRNESS = {
    "passed": True, "reasons": [], "thresholds": {"max_accuracy_gap": 0.25},
    "columns": [{"column": "island", "groups": {"Biscoe": {"count": 40, "accuracy": 0.95},
                                                 "Dream": {"count": 35, "accuracy": 1.0}},
                 "accuracy_gap": {"value": 0.05, "cls": None, "high_group": "Dream", "low_group": "Biscoe"}}],
}


def test_card_follows_model_card_toolkit_layout():
    card = logic.build_card(MANIFEST, SETTINGS, data={"rows_read": 344, "rows_dropped": 11}, fairness=FAIRNESS,
                            image="mlops-pipelines:abc")
    assert set(card) == {"schema_version", "model_details", "model_parameters", "quantitative_analysis",
                         "considerations", "mlops"}
    d = card["model_details"]
    assert d["name"] == "penguins" and d["version"] == {"name": "3", "date": "2026-12-07T15:00:00+00:00", "diff": "f00d"}
    assert d["owners"] == [{"name": "ml team", "contact": "ml@example.com"}]
    data = card["model_parameters"]["data"][0]
    assert data["link"] == MANIFEST["data_uri"] and data["fingerprint"] == "abc123" and "344 rows read" in data["description"]
    assert data["sensitive"]["sensitive_data"] == ["island"]
    inputs = {e["key"]: e["value"] for e in card["model_parameters"]["input_format_map"]}
    assert inputs == {"bill_length_mm": "float", "sex": "categorical (may be missing: imputed)"}
    perf = {(m["slice"], m["type"]): m for m in card["quantitative_analysis"]["performance_metrics"]}
    assert perf[("", "sparse_categorical_accuracy")]["value"] == "0.9700"
    assert perf[("", "sparse_categorical_accuracy")]["threshold"] == ">= 0.85"
    assert perf[("island=Torgersen", "sparse_categorical_accuracy")]["threshold"] == ">= 0.85"
    assert perf[("", "example_count")] == {"type": "example_count", "value": "99", "slice": "", "threshold": ""}
    c = card["considerations"]
    assert c["use_cases"] == [{"description": "sorting penguins"}] and c["out_of_scope_uses"] == [{"description": "other birds"}]
    assert c["users"] == []  # blank text is left out, not an empty entry
    m = card["mlops"]
    assert m["image"] == "mlops-pipelines:abc" and m["code_version"] == "deadbeef"
    assert m["explanation"]["top_features"] == ["flipper_length_mm", "bill_length_mm"]
    assert m["compression"] == {"tflite_variant": "dynamic_range"}
    assert [g["name"] for g in m["gates"]] == ["data gate (TFDV + Great Expectations)", "evaluation thresholds",
                                               "change threshold against the serving model", "fairness gate"]
    assert m["fairness"]["groups"] == [{"column": "island", "group": "Biscoe", "count": 40, "accuracy": 0.95},
                                       {"column": "island", "group": "Dream", "count": 35, "accuracy": 1.0}]
    assert m["fairness"]["gaps"][0]["between"] == ["Dream", "Biscoe"]
    json.dumps(card)  # JSON-ready


def test_card_without_optional_steps_says_they_were_off():
    bare = {k: v for k, v in MANIFEST.items() if k not in ("explanation", "fairness", "tflite_variant")}
    card = logic.build_card(bare, {**SETTINGS, "sensitive_columns": []})
    assert card["mlops"]["fairness"] is None and card["mlops"]["compression"] is None
    page = logic.render_html(card)
    assert "fairness gate is off" in page and "Compression is off" in page and "No attributions" in page


def test_page_shows_every_section_and_the_placeholders_left():
    todo = {**SETTINGS, "owner": "TODO: team or person", "contact": "", "intended_use": "TODO: what for"}
    card = logic.build_card(MANIFEST, todo, fairness=FAIRNESS)
    assert logic.placeholders(card) == ["model_card.owner", "model_card.contact", "model_card.intended_use"]
    page = logic.render_html(card)
    assert 'id="todo"' in page and "model_card.owner, model_card.contact, model_card.intended_use" in page
    for section in ("Model details", "Intended use", "Training data", "Evaluation", "Gates passed", "Fairness",
                    "Explanations", "Compression", "Limitations"):
        assert f"<h2>{section}" in page
    assert 'name="generator" content="mlops-pipelines report"' in page  # the shared report base
    filled = logic.render_html(logic.build_card(MANIFEST, SETTINGS, fairness=FAIRNESS))
    assert 'id="todo"' not in filled and "sorting penguins" in filled and "island" in filled


def test_fairness_reasons_become_limitations():
    failed = {**FAIRNESS, "passed": False, "reasons": ["island: accuracy gap 0.300 > max_accuracy_gap 0.25"]}
    card = logic.build_card(MANIFEST, SETTINGS, fairness=failed)
    assert {"description": "fairness: island: accuracy gap 0.300 > max_accuracy_gap 0.25"} in card["considerations"]["limitations"]


def test_files_are_the_card_folder():
    out = logic.files(logic.build_card(MANIFEST, SETTINGS))
    assert set(out) == {"model_card/model_card.json", "model_card/index.html"}
    assert json.loads(out["model_card/model_card.json"])["model_details"]["version"]["name"] == "3"
