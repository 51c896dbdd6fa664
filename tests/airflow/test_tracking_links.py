"""The MLflow run and registered version that `mlops run` records in run.json (pipelines/tracking)
reach the DAG's outcome and the alert message, first among the links."""

from __future__ import annotations

import json


def _run_dir(tmp_path, status: str, registry: dict) -> object:
    out = tmp_path / "run"
    (out / "reports" / "evaluation").mkdir(parents=True)
    (out / "reports" / "index.html").write_text("<html>")
    (out / "run.json").write_text(json.dumps({
        "status": status, "reason": "The candidate model was not blessed" if status != "succeeded" else None,
        "reports": {f"r{i}": str(out / "reports" / "evaluation" / f"{i}.html") for i in range(12)},
        "tracking": {"run_id": "abc", "run_url": "http://mlflow:5000/#/experiments/1/runs/abc", "registry": registry},
    }))
    return out


def test_outcome_and_alert_link_the_mlflow_run_and_version_first(tmp_path):
    from components.alerting.message import build_alert
    from mlops_airflow.runners.outcome import outcome_alert, outcome_from_run_dir

    registry = {"updated": True, "model": "penguins", "version": 3, "alias": "production",
                "url": "http://mlflow:5000/#/models/penguins/versions/3"}
    outcome = outcome_from_run_dir(_run_dir(tmp_path, "not_blessed", registry), 4, [])
    names = list(outcome.links)
    assert names[:2] == ["MLflow run", "MLflow model penguins v3 (@production)"]
    assert outcome.links["MLflow run"].endswith("/runs/abc") and "run index" in outcome.links
    assert outcome.tracking["registry"]["version"] == 3
    message = build_alert(**outcome_alert(outcome, "penguins", "data.csv"))
    text = message.text()
    assert "http://mlflow:5000/#/experiments/1/runs/abc" in text
    assert "http://mlflow:5000/#/models/penguins/versions/3" in text


def test_a_registry_that_was_not_updated_gives_no_version_link(tmp_path):
    from mlops_airflow.runners.outcome import outcome_from_run_dir

    registry = {"updated": False, "model": "penguins", "reason": "The model registry was not updated: down."}
    outcome = outcome_from_run_dir(_run_dir(tmp_path, "succeeded", registry), 0, [])
    assert [n for n in outcome.links if n.startswith("MLflow")] == ["MLflow run"]
    assert outcome.tracking["registry"]["updated"] is False
