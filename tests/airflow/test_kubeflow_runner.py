"""The kubeflow runner against a local STAND-IN of the KFP v2 REST API (kfp_standin.py).

The stand-in is not Kubeflow: it only answers the v2beta1 endpoints the runner calls, checks
their inputs the way KFP does (known pipeline version, declared parameters, bearer token) and
plays a run's states. A real cluster is covered in docs/airflow.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kfp_standin import KfpStandIn
from support import run_dag, xcom

SPEC = {
    "pipelineInfo": {"name": "penguins"},
    "root": {"inputDefinitions": {"parameters": {"data_uri": {"parameterType": "STRING"}}}, "dag": {"tasks": {}}},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.17.3",
}


@pytest.fixture()
def kfp(monkeypatch):
    server = KfpStandIn(token="s3cret").start()
    conn = {
        "conn_type": "http",
        "host": server.url,
        "password": "s3cret",
        "extra": {"poll_seconds": 0.05, "experiment": "mlops-airflow"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps(conn))
    yield server
    server.stop()


@pytest.fixture()
def kfp_config(tmp_path: Path, pipeline_config: str) -> str:
    """The pipeline config with kubeflow.package_path pointing at a compiled spec."""
    from lib.settings import resolve_repo_path

    package = tmp_path / "penguins_pipeline.yaml"
    package.write_text(yaml.safe_dump(SPEC))
    cfg = yaml.safe_load(resolve_repo_path(pipeline_config).read_text())
    cfg.setdefault("kubeflow", {})["package_path"] = str(package)
    suite = cfg["validation"]["expectation_suite"]
    cfg["validation"]["expectation_suite"] = str(resolve_repo_path(suite))
    path = tmp_path / "penguins-kfp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_kubeflow_run_succeeds_and_reuses_the_uploaded_version(dagbag, kfp, kfp_config, good_csv, webhook):
    conf = {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    dr, states = run_dag(dagbag.dags["training_pipeline"], conf)
    assert set(states.values()) == {"success"}, states

    (run,) = kfp.runs.values()
    assert run["runtime_config"]["parameters"] == {"data_uri": str(good_csv)}  # only declared params
    assert run["display_name"].startswith("penguins ")
    assert run["experiment_id"] in kfp.experiments
    report = xcom(dr, "report_outcome")
    assert report["status"] == "succeeded"
    assert report["links"]["KFP run"] == f"{kfp.url}/#/runs/details/{run['run_id']}"

    # A second run with the same compiled spec uploads nothing new.
    uploads_before = [c for c in kfp.calls if c[1].endswith(("/upload", "/upload_version"))]
    run_dag(dagbag.dags["training_pipeline"], conf)
    uploads_after = [c for c in kfp.calls if c[1].endswith(("/upload", "/upload_version"))]
    assert uploads_after == uploads_before and len(uploads_before) == 2
    assert len(kfp.runs) == 2 and len(kfp.experiments) == 1
    assert webhook == []


def test_failed_kubeflow_run_fails_the_task_with_message_and_link(dagbag, kfp, kfp_config, good_csv, webhook):
    kfp.final_state = "FAILED"
    kfp.final_error = "Trainer: container penguins-trainer was OOMKilled"
    dr, states = run_dag(
        dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    )
    assert states["submit_pipeline"] == "failed" and states["report_outcome"] == "upstream_failed"
    (run_id,) = kfp.runs
    (alert,) = webhook
    text = alert["json"]["text"]
    assert "Pipeline run for penguins failed" in text
    assert "OOMKilled" in text
    assert f"{kfp.url}/#/runs/details/{run_id}" in text


def test_client_reports_api_errors_with_status_and_message(kfp):
    from lib.runners import KfpRestClient, RunnerError

    client = KfpRestClient(kfp.url, token="wrong")
    with pytest.raises(RunnerError, match="HTTP 401: missing or wrong bearer token"):
        client.find_pipeline("penguins")


def test_missing_connection_is_a_clear_error(dagbag, kfp_config, good_csv, webhook, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_KFP_DEFAULT", raising=False)
    dr, states = run_dag(
        dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    )
    assert states["submit_pipeline"] == "failed"
    assert "connection 'kfp_default'" in webhook[0]["json"]["text"]
