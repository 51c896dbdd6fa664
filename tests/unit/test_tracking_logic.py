"""pipelines.tracking.logic and .index: what a run logs to MLflow, under which names, and the
run's index page. Pure functions on report files laid out as the components write them; the
MLflow side (a real `mlflow server`) is tested in tests/e2e/test_tracking.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_config
from pipelines.tracking import logic
from pipelines.tracking.index import render

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "pipelines" / "configs" / "penguins.yaml"


def test_the_environment_wins_over_the_config_and_relative_stores_are_repo_relative():
    root = "/repo"
    assert logic.tracking_uri(None, {}, root) == "sqlite:////repo/runs/mlflow/mlflow.db"
    assert logic.tracking_uri("http://mlflow.team:5000", {}, root) == "http://mlflow.team:5000"
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5999"}
    assert logic.tracking_uri("http://mlflow.team:5000", env, root) == "http://127.0.0.1:5999"
    assert logic.tracking_uri("sqlite:///runs/x.db", {}, root) == "sqlite:////repo/runs/x.db"
    assert logic.tracking_uri("sqlite:////abs/x.db", {}, root) == "sqlite:////abs/x.db"
    assert logic.tracking_uri("/tmp/store", {}, root) == "sqlite:////tmp/store/mlflow.db"
    assert logic.artifact_location("sqlite:////tmp/store/mlflow.db", "penguins") == "/tmp/store/artifacts/penguins"
    assert logic.artifact_location("http://h:1", "penguins") is None
    assert logic.ui_base(None, "http://h:1/") == "http://h:1"
    assert logic.ui_base(None, "sqlite:////x/mlflow.db") == "http://127.0.0.1:5000"
    assert logic.ui_base("https://ui.team/", "http://h:1") == "https://ui.team"


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("tracking.alias", "latest", "tracking.alias"),
        ("tracking.alias", "v3", "tracking.alias"),
        ("tracking.uri", "ftp://host/x", "tracking.uri"),
        ("tracking.uri", "", "tracking.uri"),
        ("tracking.ui_url", "127.0.0.1:5000", "tracking.ui_url"),
        ("tracking.timeout_seconds", 0, "tracking.timeout_seconds"),
    ],
)
def test_bad_tracking_keys_are_rejected_at_load_naming_the_key(key, value, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(CONFIG, {key: value})


def test_params_are_the_flattened_config_plus_data_and_code():
    cfg = load_config(CONFIG)
    params = logic.run_params(cfg.to_dict(), "package://palmerpenguins/data/penguins.csv", "abc", "1234567890ab", "img:1")
    assert params["model.hidden_units"] == "[16, 8]"
    assert params["model.learning_rate"] == "0.01"
    assert params["evaluation.thresholds.0.metric"] == "sparse_categorical_accuracy"
    assert params["push.model_name"] == "penguins"
    assert params["features.4.name"] == "island"
    assert params["run.data_fingerprint"] == "abc" and params["run.code_version"] == "1234567890ab"
    assert params["run.image"] == "img:1"
    assert all(len(v) <= logic.MAX_PARAM_CHARS for v in params.values())


def _reports(root: Path) -> Path:
    """A reports folder as a blessed run with every extra leaves it."""
    rd = root / "reports"
    (rd / "evaluation").mkdir(parents=True)
    (rd / "evaluation" / "metrics.json").write_text(json.dumps({
        "blessed": True,
        "overall": {"sparse_categorical_accuracy": 0.93, "example_count": 84.0},
        "slices": {"Overall": {"sparse_categorical_accuracy": 0.93},
                   "island=Biscoe": {"sparse_categorical_accuracy": 0.9},
                   "sex=female": {"sparse_categorical_accuracy": float("nan")}},
        "diffs": {"sparse_categorical_accuracy": -0.05},
        "failures": [],
    }).replace("NaN", "null"))
    (rd / "fairness").mkdir()
    (rd / "fairness" / "result.json").write_text(json.dumps({
        "passed": True, "columns": [{"column": "island", "accuracy_gap": {"value": 0.12, "cls": None}, "recall_gap": None}],
    }))
    (rd / "drift").mkdir()
    (rd / "drift" / "drift.json").write_text(json.dumps({
        "drifted": False, "max_score": 0.05, "baseline_uri": "/x/examples",
        "features": [{"name": "bill_length_mm", "score": 0.05}, {"name": "sex", "score": None}],
    }))
    (rd / "compress").mkdir()
    (rd / "compress" / "report.json").write_text(json.dumps({
        "saved_model": {"size_bytes": 90000}, "variants": [{"name": "float16", "size_bytes": 4000, "accuracy": 0.92}],
    }))
    return rd


def test_metrics_cover_slices_thresholds_fairness_drift_compression_and_seconds(tmp_path):
    cfg = load_config(CONFIG)
    summary = {"status": "succeeded", "seconds": 61.5, "data": {"rows_read": 344, "rows_dropped": 11},
               "components": {"Trainer": {"seconds": 7.25, "state": "executed"}, "DataIngest": {"seconds": 3.0}}}
    metrics = logic.run_metrics(summary, _reports(tmp_path), cfg.to_dict())
    assert metrics["eval.sparse_categorical_accuracy"] == 0.93 and metrics["eval.blessed"] == 1.0
    assert metrics["slice.island_Biscoe.sparse_categorical_accuracy"] == 0.9
    assert "slice.sex_female.sparse_categorical_accuracy" not in metrics  # NaN/None is not a number
    assert metrics["threshold.sparse_categorical_accuracy.passed"] == 1.0  # 0.93 >= 0.85
    # candidate - serving = -0.05 < -0.02: the change threshold failed
    assert metrics["change_threshold.sparse_categorical_accuracy.passed"] == 0.0
    assert metrics["change_threshold.sparse_categorical_accuracy.diff"] == -0.05
    assert metrics["fairness.passed"] == 1.0 and metrics["fairness.island.accuracy_gap"] == 0.12
    assert metrics["drift.bill_length_mm"] == 0.05 and "drift.sex" not in metrics and metrics["drift.drifted"] == 0.0
    assert metrics["compress.float16.size_bytes"] == 4000 and metrics["compress.saved_model.size_bytes"] == 90000
    assert metrics["seconds.Trainer"] == 7.25 and metrics["seconds.total"] == 61.5
    assert metrics["data.rows_dropped"] == 11
    assert all(logic.safe_name(k) == k for k in metrics)


def test_a_failed_bound_logs_zero():
    out = logic.threshold_metrics({"overall": {"sparse_categorical_accuracy": 0.5}},
                                  [{"metric": "accuracy", "lower_bound": 0.85, "upper_bound": None}], None)
    assert out == {"threshold.accuracy.passed": 0.0}


def test_tags_say_status_gate_verdict_reason_and_mlmd_ids():
    summary = {"status": "gate_failed", "run_id": "20261206T1-abc", "reason": "Column sex: 3 values not in the domain",
               "gate": {"passed": False, "failures": [{"column": "sex"}]},
               "components": {"DataGate": {"seconds": 1.0, "state": "failed", "execution_id": 12}}}
    tags = logic.run_tags(summary, "penguins", "local")
    assert tags["mlops.status"] == "gate_failed" and tags["mlops.gate"] == "failed"
    assert tags["mlops.gate_failures"] == "1" and tags["mlops.reason"].startswith("Column sex")
    assert tags["mlops.mlmd.execution.DataGate"] == "12" and tags["mlops.run_id"] == "20261206T1-abc"
    assert tags["mlflow.runName"] == "20261206T1-abc"
    blessed = logic.run_tags({"status": "succeeded", "run_id": "r", "gate": {"passed": True},
                              "pushed": {"version": 3, "path": "runs/models/penguins/3"}}, "penguins", "local")
    assert blessed["mlops.gate"] == "passed" and blessed["mlops.blessed"] == "true"
    assert blessed["mlops.pushed_version"] == "3"
    not_blessed = logic.run_tags({"status": "not_blessed", "run_id": "r", "gate": {"passed": True}}, "penguins", "local")
    assert not_blessed["mlops.blessed"] == "false"


def test_manifest_tags_flatten_the_manifest_without_per_slice_metrics():
    tags = logic.manifest_tags({"version": 2, "model_fingerprint": "f" * 64, "metrics": {
        "overall": {"accuracy": 0.9}, "slices": {"island=Biscoe": {"accuracy": 0.8}}, "classes": ["a", "b"]},
        "mlmd": {"model_artifact_id": 5}})
    assert tags["manifest.version"] == "2" and tags["manifest.model_fingerprint"] == "f" * 64
    assert tags["manifest.metrics.overall.accuracy"] == "0.9" and tags["manifest.mlmd.model_artifact_id"] == "5"
    assert not any("slices" in k for k in tags)


def test_summary_lines_name_the_run_the_version_or_why_not():
    ok = {"uri": "sqlite:///runs/mlflow/mlflow.db", "experiment": "penguins", "run_id": "abc", "run_url": "http://u/r",
          "registry": {"updated": True, "model": "penguins", "version": 4, "alias": "production", "push_version": 4,
                       "registered": [4], "url": "http://u/m"}}
    lines = logic.summary_lines(ok)
    assert "run abc" in lines[0] and "penguins version 4 is @production" in lines[1] and "http://u/m" in lines[1]
    down = {"run_id": None, "error": "the MLflow server at http://h:1 did not answer",
            "registry": {"updated": False, "reason": "The model registry was not updated: ..."}}
    lines = logic.summary_lines(down)
    assert lines[0].startswith("mlflow:  not logged") and "not updated" in lines[1]
    assert logic.summary_lines({"enabled": False}) == []


def test_index_page_links_every_report_the_verdict_and_mlflow(tmp_path):
    rd = _reports(tmp_path)
    summary = {
        "status": "not_blessed", "run_id": "r1", "reason": "accuracy 0.5 < 0.85", "seconds": 12.0,
        "metrics": {"sparse_categorical_accuracy": 0.5, "example_count": 84.0},
        "reports": {"evaluation": str(rd / "evaluation" / "index.html"), "fairness": str(rd / "fairness" / "index.html")},
        "tracking": {"run_id": "abc", "run_url": "http://127.0.0.1:5000/#/experiments/1/runs/abc", "experiment": "penguins",
                     "registry": {"updated": True, "model": "penguins", "version": 1, "alias": "production",
                                  "url": "http://127.0.0.1:5000/#/models/penguins/versions/1", "model_uri": "models:/penguins@production"}},
    }
    html = render(summary, "penguins", str(rd))
    assert "not blessed: nothing pushed" in html and "accuracy 0.5 &lt; 0.85" in html
    assert 'href="evaluation/index.html"' in html and 'href="fairness/index.html"' in html
    assert 'href="../run.json"' in html
    assert "http://127.0.0.1:5000/#/experiments/1/runs/abc" in html and "penguins version 1" in html
    assert "0.5000" in html and ">84<" in html
