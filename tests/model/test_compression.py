"""TFLite variants of the real exported penguins model: each loads, stays within the configured
accuracy budget of the SavedModel on the eval split, is smaller; the best one ships."""

import json

import numpy as np
import pytest

from components.compress import logic


@pytest.fixture(scope="module")
def compressed(penguins_run, train_frame, eval_frame, tmp_path_factory):
    cfg = penguins_run["config"]
    out = tmp_path_factory.mktemp("compress")
    report = logic.compress(str(penguins_run["saved_model"]), train_frame, eval_frame, cfg.label, str(out),
                            variants=cfg.compress.variants, accuracy_budget=cfg.compress.accuracy_budget,
                            latency_runs=20)
    return report, out


def test_each_quantized_variant_loads_is_within_budget_and_smaller(compressed, penguins_run):
    report, _ = compressed
    cfg = penguins_run["config"]
    assert report.preprocessing_max_abs_diff < 1e-4
    for name in cfg.compress.variants:
        row = report.row(name)
        assert not row.error, row.error
        assert row.within_budget, (name, row.accuracy, report.saved_model["accuracy"])
        assert report.saved_model["accuracy"] - row.accuracy <= cfg.compress.accuracy_budget
        assert row.smaller_than_saved_model, (row.size_bytes, report.saved_model["size_bytes"])
        assert row.latency_ms > 0
    for name in ("pruned", "distilled"):
        assert not report.row(name).error, report.row(name).error


def test_best_variant_reproduces_the_saved_model_from_raw_rows(compressed, served, eval_frame):
    report, out = compressed
    assert report.best
    best = out / "best"
    spec = json.loads((best / "preprocessing.json").read_text())
    assert (best / "labels.txt").read_text().split() == served.class_names
    lite = logic.TFLiteModel((best / "model.tflite").read_bytes())
    proba = lite.predict(logic.preprocess(eval_frame, spec))
    agree = float((proba.argmax(1) == served.predict_proba(eval_frame[served.feature_names]).argmax(1)).mean())
    assert agree >= 0.95
    assert json.loads((best / "variant.json").read_text())["name"] == report.best
    assert "(chosen)" in (out / "index.html").read_text()


def test_the_pusher_ships_it_beside_the_saved_model(compressed, penguins_run, tmp_path):
    from components.versioned_pusher.logic import push

    _, out = compressed
    result = push(str(penguins_run["saved_model"]), str(tmp_path), "penguins", {"blessed": True},
                  extra_dirs={"tflite": str(out / "best")})
    version_dir = tmp_path / "penguins" / str(result.version)
    assert (version_dir / "tflite" / "model.tflite").is_file()
    assert (version_dir / "tflite" / "preprocessing.json").is_file()
    assert "tflite" in result.manifest["files"]
