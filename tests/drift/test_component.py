"""The TFX adapter's logic on real Examples artifacts of the shared pipeline run."""

import json
import os

import pytest

from components.drift.component import DriftCheck, skew_report, write_report
from components.drift.logic import DriftSettings


@pytest.fixture(scope="module")
def examples_uri(trained_pipeline):
    return trained_pipeline["artifacts"][("DataIngest", "examples")]  # the shared run's own Examples


@pytest.fixture(scope="module")
def features(trained_pipeline) -> dict[str, str]:
    """The shared run's features, name -> type (DriftCheck's ``features_json``, decoded)."""
    return {f.name: f.type for f in trained_pipeline["config"].features}


def _drift_check():
    """The function DriftCheck's executor calls."""
    return DriftCheck.EXECUTOR_SPEC.executor_class._FUNCTION


def _examples(uri: str, split_names: str | None = None):
    """An Examples artifact at ``uri``."""
    from tfx.types import standard_artifacts

    examples = standard_artifacts.Examples()
    examples.uri = uri
    if split_names is not None:
        examples.split_names = split_names
    return examples


def _drift_result(path):
    """A DriftResult output artifact at ``path``."""
    from components.drift.component import DriftResult

    out = DriftResult()
    out.uri = str(path)
    return out


def test_train_vs_eval_split_is_not_skewed(examples_uri, features, trained_pipeline, tmp_path):
    cfg = trained_pipeline["config"]
    report = skew_report(examples_uri, examples_uri, features, DriftSettings.from_monitoring(cfg.monitoring, window_size=0),
                         baseline_splits="train", current_splits="eval")
    assert set(report.scores) == set(features)
    assert not report.drifted, report.summary_lines()
    write_report(report, str(tmp_path))
    assert json.loads((tmp_path / "drift.json").read_text())["drifted"] is False
    assert (tmp_path / "drift.html").read_text().startswith("<!doctype html>")


def test_component_declares_its_interface():
    spec = DriftCheck.SPEC_CLASS
    assert {"baseline_examples", "current_examples"} <= set(spec.INPUTS)
    assert {"drift", "drifted", "max_score"} <= set(spec.OUTPUTS)
    assert {"features_json", "threshold", "numeric_metric", "categorical_metric", "fail_on_drift",
            "serving_models", "model_name"} <= set(spec.PARAMETERS)
    assert spec.INPUTS["baseline_examples"].optional and not spec.INPUTS["current_examples"].optional


def test_component_function_on_real_artifacts(examples_uri, features, tmp_path):
    """The decorated function itself, with real Examples artifacts (what the executor calls)."""
    from components.drift.component import DriftDetected

    fn = _drift_check()
    examples = _examples(examples_uri, '["train", "eval"]')
    out = _drift_result(tmp_path / "artifact")
    (tmp_path / "artifact").mkdir()
    features = json.dumps(features)
    result = fn(baseline_examples=examples, current_examples=examples, drift=out, features_json=features,
                current_splits="eval", report_dir=str(tmp_path / "report"))
    assert result["drifted"] == 0 and 0 < result["max_score"] < 0.2
    assert out.get_int_custom_property("drifted") == 0
    assert (tmp_path / "artifact" / "drift.json").is_file() and (tmp_path / "report" / "drift.html").is_file()
    with pytest.raises(DriftDetected, match="drift in"):
        fn(baseline_examples=examples, current_examples=examples, drift=out, features_json=features,
           current_splits="eval", threshold=1e-9, fail_on_drift=1)


def test_baseline_is_the_serving_models_training_data(examples_uri, features, trained_pipeline, tmp_path):
    """Without baseline_examples the push manifest of the newest version names the baseline; with
    nothing pushed yet the step reports that and flags nothing."""
    from components.drift.component import serving_baseline

    dest = str(trained_pipeline["destination"])
    baseline, what = serving_baseline(dest, "penguins")
    assert what == "training data of penguins version 1 (now serving)"
    assert os.path.isdir(os.path.join(baseline, "Split-train"))
    assert serving_baseline(str(tmp_path / "nothing-pushed"), "penguins") is None

    fn = _drift_check()
    current = _examples(examples_uri)
    features = json.dumps(features)
    out = _drift_result(tmp_path / "a")
    result = fn(current_examples=current, drift=out, features_json=features, serving_models=dest, model_name="penguins",
                current_splits="eval")
    assert result["drifted"] == 0
    assert json.loads((tmp_path / "a" / "drift.json").read_text())["baseline_uri"].startswith(baseline)

    # The pipeline's comparison (both splits) of the very Examples the serving model trained on
    # (an unchanged rerun): no drift possible, and nothing is read to say so.
    out.uri = str(tmp_path / "same")
    result = fn(current_examples=current, drift=out, features_json=features, serving_models=dest, model_name="penguins",
                current_splits="train,eval")
    assert result == {"drifted": 0, "max_score": 0.0}
    assert "this run's data itself" in json.loads((tmp_path / "same" / "drift.json").read_text())["reason"]

    out.uri = str(tmp_path / "b")
    result = fn(current_examples=current, drift=out, features_json=features, serving_models=str(tmp_path / "none"),
                model_name="penguins")
    assert result == {"drifted": 0, "max_score": 0.0}
    body = json.loads((tmp_path / "b" / "drift.json").read_text())
    assert body["baseline_uri"] is None and "no version of penguins" in body["reason"]
    assert "nothing to compare" in (tmp_path / "b" / "drift.html").read_text()
    with pytest.raises(ValueError, match="needs baseline_examples, or serving_models and model_name"):
        fn(current_examples=current, drift=out, features_json=features)


def test_a_serving_baseline_that_is_gone_is_reported_not_fatal(examples_uri, features, tmp_path):
    """The manifest names Examples of an old run whose folder was deleted: "not checked", no failure."""
    version = tmp_path / "models" / "penguins" / "3"
    version.mkdir(parents=True)
    (version / "manifest.json").write_text(json.dumps({"examples_uri": str(tmp_path / "deleted-run" / "examples")}))
    fn = _drift_check()
    current = _examples(examples_uri)
    out = _drift_result(tmp_path / "out")
    features = json.dumps(features)
    result = fn(current_examples=current, drift=out, features_json=features, serving_models=str(tmp_path / "models"),
                model_name="penguins", fail_on_drift=1)
    assert result == {"drifted": 0, "max_score": 0.0}
    reason = json.loads((tmp_path / "out" / "drift.json").read_text())["reason"]
    assert "deleted-run" in reason and "cannot be read" in reason


def test_a_hold_lists_one_gate_failure_per_drifted_feature():
    import pandas as pd

    from components.drift.component import DriftDetected, hold_failures
    from components.drift.logic import compute_drift

    base = pd.DataFrame({"island": ["Biscoe", "Dream", "Torgersen"] * 40, "mass": [3500.0, 4000.0, 4500.0] * 40})
    cur = pd.DataFrame({"island": ["Dream"] * 120, "mass": [3500.0, 4000.0, 4500.0] * 40})
    report = compute_drift(base, cur, {"island": "categorical", "mass": "float"}, DriftSettings(window_size=0))
    failures = hold_failures(report)
    assert [f["column"] for f in failures] == ["island"]
    assert failures[0]["source"] == "drift_check" and failures[0]["check"] == "drift (JS)"
    assert DriftDetected("held", failures).failures == failures
    assert DriftDetected("held").failures[0]["observed"] == "held"


def test_current_data_missing_a_feature_is_not_checked_not_a_crash(examples_uri, features, tmp_path):
    """The data gate reports a missing column (exit 3); the drift step must not fail first."""
    fn = _drift_check()
    examples = _examples(examples_uri, '["train", "eval"]')
    out = _drift_result(tmp_path / "artifact")
    features = dict(features)
    features["wing_span_mm"] = "float"  # configured, absent from the Examples
    result = fn(baseline_examples=examples, current_examples=examples, drift=out, features_json=json.dumps(features),
                current_splits="eval", fail_on_drift=1)
    assert result == {"drifted": 0, "max_score": 0.0}
    report = json.loads((tmp_path / "artifact" / "drift.json").read_text())
    assert "wing_span_mm" in report["reason"] and "not scored" in report["reason"]
