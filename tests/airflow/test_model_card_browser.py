"""Browser test: a model card (components/model_card) opened in Chromium from disk, as a person
signing off a version opens ``<destination>/<model>/<version>/model_card/index.html``.

The card is built from a push manifest, the config's ``model_card`` settings and a fairness
result by the same functions the pusher calls; with ``MLOPS_MODEL_CARD=<path to a pushed
index.html>`` the test opens that real card instead (e.g. after `make demo`). The page is
self-contained (inline stylesheet, no network), so it must render from a file:// URL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from support import RESULTS, chromium_page

pytestmark = pytest.mark.browser

MANIFEST = {
    "model_name": "penguins", "version": 4, "pushed_at": "2026-12-07T15:00:00+00:00", "pipeline": "penguins",
    "data_uri": "package://palmerpenguins/data/penguins.csv", "data_fingerprint": "sha256:abc", "code_version": "5ce2af7",
    "model_fingerprint": "f00d", "run_id": "20261207T150000",
    "metrics": {"overall": {"sparse_categorical_accuracy": 0.988, "example_count": 83.0},
                "slices": {"island=Biscoe": {"sparse_categorical_accuracy": 0.97}},
                "classes": ["Adelie", "Gentoo", "Chinstrap"]},
    "explanation": {"method": "shap.KernelExplainer", "top_features": ["flipper_length_mm", "bill_length_mm", "island"]},
    "tflite_variant": "dynamic_range",
}
SETTINGS = {
    "owner": "penguin team", "contact": "penguins@example.org", "intended_use": "species from measurements",
    "out_of_scope_use": "TODO: uses this model was not built or checked for", "task": "classification",
    "label": "species", "features": [{"name": "flipper_length_mm", "type": "float", "missing": "drop"}],
    "thresholds": [{"metric": "sparse_categorical_accuracy", "lower_bound": 0.85}], "sensitive_columns": ["island"],
    "mitigation": "none",
}
FAIRNESS = {"passed": True, "reasons": [], "thresholds": {"max_accuracy_gap": 0.25},
            "columns": [{"column": "island", "groups": {"Biscoe": {"count": 40, "accuracy": 0.97},
                                                        "Dream": {"count": 30, "accuracy": 1.0}},
                         "accuracy_gap": {"value": 0.03, "cls": None, "high_group": "Dream", "low_group": "Biscoe"}}]}


def _card(tmp_path: Path) -> Path:
    real = os.environ.get("MLOPS_MODEL_CARD")
    if real:
        return Path(real)
    sys.path.insert(0, str(REPO_ROOT))
    from components.model_card import logic

    files = logic.files(logic.build_card(MANIFEST, SETTINGS, data={"rows_read": 344, "rows_dropped": 11},
                                         fairness=FAIRNESS, image="mlops-pipelines:bf081cb1d9b7"))
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path / "model_card" / "index.html"


def test_model_card_opens_from_disk_with_every_section(tmp_path):
    card = _card(tmp_path)
    with chromium_page("model_card_failure.png", 30_000) as page:
        page.goto(card.resolve().as_uri())
        assert page.title().startswith("Model card: penguins")
        headings = page.locator("h2").all_inner_texts()
        for section in ("Model details", "Intended use", "Training data", "Evaluation", "Gates passed", "Fairness",
                        "Explanations", "Compression", "Limitations and trade-offs"):
            assert section in headings, headings
        assert page.locator("#performance tr").count() >= 2  # a header and at least one metric
        assert page.locator("#gates td.good").count() >= 2
        if not os.environ.get("MLOPS_MODEL_CARD"):
            # A placeholder left by `mlops init` is called out at the top.
            assert "model_card.out_of_scope_use" in page.locator("#todo").inner_text()
            assert "penguins@example.org" in page.locator("#details").inner_text()
        page.locator("a", has_text="model_card.json").click()  # the JSON sits beside the page
        page.wait_for_load_state()
        assert '"schema_version": "0.0.2"' in page.content() or "schema_version" in page.content()
        page.go_back()
        page.screenshot(path=str(RESULTS / "model_card.png"), full_page=True)
