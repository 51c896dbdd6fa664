"""The kubeflow runner: the real ``kfp.Client`` (kfp 2.17.3, .venv-pipeline-clients) against a
local STAND-IN of the KFP 2.17 API server (kfp_standin.py), uploading the real compiled spec
(tests/golden/penguins_pipeline.yaml).

The stand-in is not Kubeflow: it serves the v2beta1 endpoints kfp.Client calls and checks what
the OSS backend checks (schema 2.1.0 at upload; declared and typed run parameters at run create;
no resolver executors when it compiles the run; the driver's refusal of ``constantValue`` and
untyped component inputs as a failed run), then plays the run's states. Nothing runs on a
cluster here (docs/airflow.md, "kubeflow").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from kfp_standin import KfpStandIn
from support import attempt_lost_while_running, config_with, golden_spec_path, load_spec, mutated_spec, remote_request
from support import run_dag, run_killed_once_running, xcom

RUN_GET = r"^/apis/v2beta1/runs/[^/:]+$"


@pytest.fixture()
def kfp(monkeypatch, clients_python, no_external_network):
    server = KfpStandIn(token="s3cret").start()
    conn = {
        "conn_type": "http",
        "host": server.url,
        "password": "s3cret",
        "extra": {
            "poll_seconds": 0.05,
            "experiment": "mlops-airflow",
            "retry_initial_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "retry_budget_seconds": 20,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps(conn))
    monkeypatch.delenv("MLOPS_PIPELINE_CLIENTS_PYTHON", raising=False)
    yield server
    server.stop()


@pytest.fixture()
def kfp_config(tmp_path: Path, pipeline_config: str) -> str:
    return config_with(tmp_path, pipeline_config, str(golden_spec_path()))


def _uploads(kfp: KfpStandIn) -> list:
    return [c for c in kfp.calls if c[1].endswith(("/upload", "/upload_version"))]


def test_dag_uploads_the_compiled_spec_runs_it_on_the_validated_data_and_survives_a_503(
    dagbag, kfp, kfp_config, good_csv, webhook
):
    kfp.fail_next.append(("GET", RUN_GET, 503))  # one transient error while polling
    conf = {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    dr, states = run_dag(dagbag.dags["training_pipeline"], conf)
    assert set(states.values()) == {"success"}, states

    # The uploaded package is the real compiled spec, byte for byte as parsed.
    (version,) = [v for v in kfp.versions.values() if v["display_name"].startswith("penguins-")]
    assert version["_spec"] == load_spec(golden_spec_path())
    (run,) = kfp.runs.values()
    assert run["runtime_config"]["parameters"] == {"data_uri": str(good_csv)}  # the validated URI
    assert run["display_name"] == f"penguins {dr.run_id}"
    assert run["experiment_id"] in kfp.experiments
    assert [(m, status) for m, _, status in kfp.faults_served] == [("GET", 503)]
    assert run["state"] == "SUCCEEDED"
    report = xcom(dr, "report_outcome")
    assert report["status"] == "succeeded"
    assert report["links"]["KFP run"] == f"{kfp.url}/#/runs/details/{run['run_id']}"

    # A second DAG run with the same compiled spec reuses pipeline and version.
    uploads = _uploads(kfp)
    run_dag(dagbag.dags["training_pipeline"], conf)
    assert _uploads(kfp) == uploads and len(uploads) == 2
    assert len(kfp.runs) == 2 and len(kfp.experiments) == 1
    assert webhook == []


def test_failed_run_fails_the_task_with_the_runs_message_and_link(dagbag, kfp, kfp_config, good_csv, webhook):
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


def _resolver_executor(spec):  # a TFX Resolver node, as TFX compiles it without the 2.1 rework
    spec["deploymentSpec"]["executors"]["DataGate_executor"] = {
        "resolver": {"outputArtifactQueries": {"model": {"filter": 'schema_title="tfx.Model" AND state=LIVE'}}}
    }


def _constant_value(spec):  # the deprecated runtimeValue.constantValue (schema 2.0 style)
    for task in spec["root"]["dag"]["tasks"].values():
        for p in (task.get("inputs") or {}).get("parameters", {}).values():
            rv = p.get("runtimeValue")
            if rv and "constant" in rv and isinstance(rv["constant"], str):
                rv["constantValue"] = {"stringValue": rv.pop("constant")}
                return
    raise AssertionError("no string constant in the compiled spec")


def _untyped_component_input(spec):
    for comp in spec["components"].values():
        params = (comp.get("inputDefinitions") or {}).get("parameters") or {}
        for p in params.values():
            p["type"] = p.pop("parameterType")
            return
    raise AssertionError("no component input parameter")


@pytest.mark.parametrize(
    "change, expected, runs",
    [
        (lambda s: s.update(schemaVersion="2.0.0"), "KFP only supports schema version 2.1.0", 0),
        (_resolver_executor, "non-container and non-importer executor not implemented", 0),
        (_constant_value, "param runtime value spec of type *pipelinespec.ValueOrRuntimeParameter_ConstantValue", 1),
        (_untyped_component_input, "type mismatch: expect PARAMETER_TYPE_ENUM_UNSPECIFIED", 1),
    ],
    ids=["schema-2.0.0-refused-at-upload", "resolver-refused-at-run-create", "constantValue-fails-the-run", "untyped-input-fails-the-run"],
)
def test_specs_the_oss_backend_refuses_fail_the_task_with_its_message(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook, change, expected, runs
):
    config = config_with(tmp_path, pipeline_config, mutated_spec(tmp_path, change))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert len(kfp.runs) == runs
    assert expected in webhook[0]["json"]["text"]
    # A refused create (HTTP 400/500) is not retried.
    assert len([c for c in kfp.calls if c == ("POST", "/apis/v2beta1/runs")]) <= 1


def test_standin_refuses_undeclared_and_untyped_run_parameters_like_the_backend(kfp):
    """The stand-in itself (the runner never sends these: it picks declared parameters only)."""
    auth = {"Authorization": "Bearer s3cret"}
    with open(golden_spec_path(), "rb") as fh:
        p = requests.post(f"{kfp.url}/apis/v2beta1/pipelines/upload", params={"name": "penguins"}, files={"uploadfile": fh}, headers=auth).json()
    (vid,) = [v["pipeline_version_id"] for v in kfp.versions.values()]
    ref = {"pipeline_id": p["pipeline_id"], "pipeline_version_id": vid}

    def create(params):
        return requests.post(
            f"{kfp.url}/apis/v2beta1/runs",
            json={"display_name": "x", "pipeline_version_reference": ref, "runtime_config": {"parameters": params}},
            headers=auth,
        )

    r = create({"data_uri": "gs://b/p.csv", "config": "x.yaml"})
    assert r.status_code == 400 and "not required by pipeline: config" in r.json()["message"]
    r = create({"data_uri": 3})
    assert r.status_code == 400 and "requires type STRING" in r.json()["message"]
    kfp.versions[vid]["_spec"]["root"]["inputDefinitions"]["parameters"]["data_uri"].pop("parameterType")
    r = create({"data_uri": "gs://b/p.csv"})
    assert r.status_code == 400 and "has unspecified type" in r.json()["message"]
    assert create({"data_uri": "gs://b/p.csv"}).status_code == 400 and not kfp.runs


def test_a_task_retry_reattaches_to_its_run_instead_of_starting_another(airflow_db, kfp, kfp_config, good_csv):
    """Attempt 1's client dies (worker lost) while the run runs; attempt 2 re-attaches to it."""
    from mlops_airflow.runners import RunnerError, get_runner

    runner, request = get_runner("kubeflow"), remote_request(kfp_config, str(good_csv))
    error = attempt_lost_while_running(runner, request, kfp)
    assert isinstance(error, RunnerError) and "without an outcome" in str(error)
    (run_id,) = kfp.runs

    kfp.hold_running = False
    outcome = runner.run(request)
    assert outcome.status == "succeeded" and outcome.run_id == run_id
    assert list(kfp.runs) == [run_id] and kfp.terminated == []

    # A run that ended FAILED is not re-attached: the next attempt starts a new run.
    kfp.runs[run_id]["state"] = "FAILED"
    outcome = runner.run(request)
    assert outcome.status == "succeeded" and outcome.run_id != run_id and len(kfp.runs) == 2


def test_killing_the_task_cancels_the_remote_run(airflow_db, kfp, kfp_config, good_csv):
    """SIGTERM to the task process (what Airflow sends to kill a task) terminates the KFP run."""
    from mlops_airflow.runners import get_runner

    run_killed_once_running(get_runner("kubeflow"), remote_request(kfp_config, str(good_csv)), kfp)
    (run_id,) = kfp.runs
    assert kfp.terminated == [run_id]


def test_wrong_token_is_reported_with_the_http_status(dagbag, kfp, kfp_config, good_csv, webhook, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_KFP_DEFAULT"])
    conn["password"] = "wrong"
    conn["extra"]["namespace"] = "kubeflow-user"  # (without one kfp.Client first asks /healthz 5 times)
    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps(conn))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert "HTTP 401: Unauthenticated: missing or wrong bearer token" in webhook[0]["json"]["text"]


def test_spec_without_a_data_uri_parameter_is_refused_before_any_call(dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook):
    config = config_with(tmp_path, pipeline_config, mutated_spec(tmp_path, lambda s: s["root"].pop("inputDefinitions")))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert "declares no runtime parameter 'data_uri'" in webhook[0]["json"]["text"]
    assert kfp.calls == []


def test_missing_connection_is_a_clear_error(dagbag, kfp_config, good_csv, webhook, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_KFP_DEFAULT", raising=False)
    dr, states = run_dag(
        dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    )
    assert states["submit_pipeline"] == "failed"
    assert "connection 'kfp_default'" in webhook[0]["json"]["text"]


@pytest.mark.parametrize("root", ["minio://mlpipeline/v2/artifacts", "s3://bucket/root"])
def test_object_store_root_tf_cannot_open_is_refused_before_any_call(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook, root
):
    """OSS KFP's default MinIO root (or S3) would fail in the first TFX task: refused at submit."""
    config = config_with(tmp_path, pipeline_config, str(golden_spec_path()), kubeflow={"pipeline_root": root})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    text = webhook[0]["json"]["text"]
    assert root in text and "gs://" in text
    assert kfp.calls == []
