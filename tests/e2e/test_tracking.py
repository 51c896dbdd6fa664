"""`mlops run` feeds a real `mlflow server` (127.0.0.1, started here): the run, the registry, a
server that is down.

The runs reuse the session's trained pipeline (tests/conftest.py): they rerun its config in its
output dir, so ingest, Transform and the Trainer come from the cache. Everything is read back
through the MLflow Python client over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.versioned_pusher import logic as push_logic
from tests import mlflow_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with mlflow_server.running(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server, registry_uri=server)


def _mlops_run(trained_pipeline, tracking_uri: str, *args: str, output_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--config", str(trained_pipeline["config_path"]),
         "--output-dir", str(output_dir or trained_pipeline["output_dir"]), *args],
        capture_output=True, text=True, timeout=900, env=env,
    )


def _run_of(client, run_json: dict):
    tracking = run_json["tracking"]
    assert tracking["logged"] is True, tracking
    run = client.get_run(tracking["run_id"])
    assert run.data.tags["mlops.run_id"] == run_json["run_id"]
    return run


@pytest.fixture(scope="module")
def blessed(trained_pipeline, server, client):
    """The trained config again, through the CLI, with the server named by MLFLOW_TRACKING_URI."""
    proc = _mlops_run(trained_pipeline, server)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_json = json.loads((trained_pipeline["output_dir"] / "run.json").read_text())
    return {"proc": proc, "run_json": run_json, "run": _run_of(client, run_json)}


def test_a_blessed_run_is_an_mlflow_run_and_registered_version_1_is_production(blessed, client, trained_pipeline):
    run_json, run = blessed["run_json"], blessed["run"]
    assert run_json["status"] == "succeeded" and run_json["pushed"]["version"] == 1
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.name == "penguins" and run.info.status == "FINISHED"
    # params: the resolved config, flattened, plus data and code
    params = run.data.params
    assert params["model.epochs"] == "10" and params["model.hidden_units"] == "[16, 8]"
    assert params["push.destination"] == str(trained_pipeline["destination"])
    assert params["run.data_uri"] == "package://palmerpenguins/data/penguins.csv"
    assert params["run.data_fingerprint"] and params["run.code_version"] and params["run.image"].startswith("mlops-pipelines:")
    # metrics: overall, per slice, thresholds, fairness, compression, seconds
    metrics = run.data.metrics
    manifest = push_logic.read_manifest(str(trained_pipeline["destination"]), "penguins", 1)
    accuracy = manifest["metrics"]["overall"]["sparse_categorical_accuracy"]
    assert metrics["eval.sparse_categorical_accuracy"] == pytest.approx(accuracy)
    assert metrics["threshold.sparse_categorical_accuracy.passed"] == 1.0 and metrics["eval.blessed"] == 1.0
    assert "slice.island_Biscoe.sparse_categorical_accuracy" in metrics
    assert metrics["fairness.passed"] == 1.0 and "fairness.island.accuracy_gap" in metrics
    assert metrics["compress.saved_model.size_bytes"] > 0
    assert "seconds.Trainer" in metrics and metrics["data.rows_dropped"] == 11
    # tags: status, gate verdict, MLMD execution ids
    tags = run.data.tags
    assert tags["mlops.status"] == "succeeded" and tags["mlops.gate"] == "passed" and tags["mlops.blessed"] == "true"
    assert tags["mlops.mlmd.execution.Trainer"] == str(run_json["components"]["Trainer"]["execution_id"])
    # artifacts: run.json and the reports, with the run index
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"run.json", "reports"} <= names
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"reports/index.html", "reports/evaluation", "reports/fairness"} <= reports
    logged = json.loads(Path(client.download_artifacts(run.info.run_id, "run.json")).read_text())
    assert logged["run_id"] == run_json["run_id"] and logged["tracking"]["run_id"] == run.info.run_id
    # registry: version 1 mirrors push 1, alias production
    mv = client.get_model_version_by_alias("penguins", "production")
    assert mv.version == "1" and mv.run_id == run.info.run_id
    assert mv.tags["mlops.push_version"] == "1"
    assert mv.tags["manifest.model_fingerprint"] == manifest["model_fingerprint"]
    assert mv.tags["mlops.push_uri"] == str(trained_pipeline["destination"] / "penguins" / "1")
    # A server cannot read the pusher's disk: the version's source is a copy in the run's artifacts.
    assert mv.source.startswith("runs:/") or mv.source.startswith("models:/")
    assert {a.path for a in client.list_artifacts(run.info.run_id, "pushed_model/v1")} >= {"pushed_model/v1/saved_model.pb"}
    # the version links its model card: the pushed one, and a copy among the run's artifacts
    card_uri = str(trained_pipeline["destination"] / "penguins" / "1" / "model_card" / "index.html")
    assert mv.tags["mlops.model_card"] == card_uri and f"model card: {card_uri}" in mv.description
    assert mv.tags["mlops.model_card_artifact"] == f"runs:/{run.info.run_id}/model_card/v1/index.html"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "model_card/v1")} == {
        "model_card/v1/index.html", "model_card/v1/model_card.json"}
    assert run_json["tracking"]["registry"] == {**run_json["tracking"]["registry"], "updated": True, "version": 1,
                                                 "alias": "production", "push_version": 1}
    # the CLI says where the run and the version are; the index page links them
    out = blessed["proc"].stdout
    assert f"run {run.info.run_id}" in out and "registry: penguins version 1 is @production" in out
    index = (trained_pipeline["output_dir"] / "reports" / "index.html").read_text()
    assert run_json["tracking"]["run_url"] in index and "penguins version 1" in index
    # the rerun hits the cache: the Pusher found version 1 identical, so nothing new was pushed
    assert run_json["pushed"]["created"] is False and "identical model already serving" in index


def test_a_not_blessed_run_is_logged_with_its_reason_and_moves_no_alias(blessed, client, trained_pipeline, server):
    before = client.get_model_version_by_alias("penguins", "production")
    versions_before = len(client.search_model_versions("name = 'penguins'"))
    proc = _mlops_run(trained_pipeline, server, "--set",
                      "evaluation.thresholds=[{metric: example_count, lower_bound: 100000}]")
    assert proc.returncode == 4, proc.stderr[-3000:]
    run_json = json.loads((trained_pipeline["output_dir"] / "run.json").read_text())
    assert run_json["status"] == "not_blessed"
    run = _run_of(client, run_json)
    assert run.data.tags["mlops.status"] == "not_blessed" and run.data.tags["mlops.blessed"] == "false"
    assert run.data.tags["mlops.reason"].startswith("The candidate model was not blessed")
    assert run.data.metrics["threshold.example_count.passed"] == 0.0
    after = client.get_model_version_by_alias("penguins", "production")
    assert after.version == before.version
    assert len(client.search_model_versions("name = 'penguins'")) == versions_before
    assert run_json["tracking"]["registry"]["alias_moved"] is False
    assert "not blessed" in (trained_pipeline["output_dir"] / "reports" / "index.html").read_text()


def test_a_server_that_is_down_leaves_the_push_intact_and_the_next_run_registers_it(trained_pipeline, server, client, tmp_path):
    """A new model name pushes version 1 while the server is down: the run succeeds, run.json and
    the CLI say the registry was not updated. The next run (server up) registers that version."""
    dest = tmp_path / "models"
    args = ("--set", "push.model_name=penguins-retry", "--push-destination", str(dest))
    down = _mlops_run(trained_pipeline, mlflow_server.closed_port_url(), *args)
    assert down.returncode == 0, down.stderr[-3000:]
    assert push_logic.complete_versions(str(dest), "penguins-retry") == [1]
    manifest = push_logic.read_manifest(str(dest), "penguins-retry", 1)
    assert manifest["blessed"] is True and (dest / "penguins-retry" / "1" / "saved_model" / "saved_model.pb").is_file()
    run_json = json.loads((trained_pipeline["output_dir"] / "run.json").read_text())
    assert run_json["status"] == "succeeded" and run_json["pushed"]["version"] == 1
    assert run_json["tracking"]["logged"] is False and "did not answer" in run_json["tracking"]["error"]
    registry = run_json["tracking"]["registry"]
    assert registry["updated"] is False and registry["reason"].startswith("The model registry was not updated")
    assert "registry: The model registry was not updated" in down.stdout
    fingerprint = push_logic.dir_fingerprint(dest / "penguins-retry" / "1")

    up = _mlops_run(trained_pipeline, server, *args)
    assert up.returncode == 0, up.stderr[-3000:]
    run_json = json.loads((trained_pipeline["output_dir"] / "run.json").read_text())
    registry = run_json["tracking"]["registry"]
    assert registry["updated"] is True and registry["registered"] == [1] and registry["version"] == 1
    mv = client.get_model_version_by_alias("penguins-retry", "production")
    assert mv.tags["mlops.push_version"] == "1" and mv.tags["manifest.run_id"] == manifest["run_id"]
    assert push_logic.dir_fingerprint(dest / "penguins-retry" / "1") == fingerprint  # the push is untouched
    assert "newly registered: 1" in up.stdout


def test_mlops_serve_names_the_model_by_registry_alias(blessed, server, penguins_df, trained_pipeline):
    """`mlops serve --model models:/penguins@production` serves the pushed version the alias names,
    loaded from the push destination the registered version mirrors."""
    import httpx

    from tests.serving.helpers import instances_from_df, serve_process

    with serve_process("--model", "models:/penguins@production", "--poll-seconds", "1", "--log-level", "warning",
                       version=1, timeout=180, env={"MLFLOW_TRACKING_URI": server}) as served:
        assert served.ready["version"] == 1
        r = httpx.post(f"{served.url}/v1/models/penguins:predict", json={"instances": instances_from_df(penguins_df, 3)})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 3
    # leaving the block sent SIGTERM
    assert served.returncode == 0, served.stderr[-3000:]
    assert "models:/penguins@production (push 1 under" in served.stderr


def test_an_unknown_alias_is_a_usage_error(server):
    env = {**os.environ, "MLFLOW_TRACKING_URI": server}
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "serve", "--model", "models:/nope@production", "--port", "0"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "models:/nope@production" in proc.stderr and "cannot read the registry" in proc.stderr


def test_in_a_compiled_pipeline_the_pusher_logs_the_run(trained_pipeline, server, client, monkeypatch):
    """Kubeflow/Vertex: no `mlops run` around the pipeline, so the VersionedPusher's task calls
    record_push with its inputs' artifacts; here with the session run's artifacts, the server
    named by the task environment."""
    from pipelines.pipeline import REPO_ROOT
    from pipelines.tracking.client import record_push

    arts = trained_pipeline["artifacts"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "penguins-kubeflow")
    dest = str(trained_pipeline["destination"])
    out = record_push(
        pipeline_name="penguins", model_name="penguins", destination=dest, blessed=True,
        pushed={"version": 1, "path": f"{dest}/penguins/1", "created": False},
        report_uris={"evaluation": arts[("EvaluationReport", "report")], "fairness": arts[("FairnessGate", "result")],
                     "compress": arts[("ModelCompression", "compressed")]},
        params={"run.data_uri": "package://palmerpenguins/data/penguins.csv", "run.code_version": "abc"},
        mlmd_ids={"model": 3, "blessing": 4, "examples": 1}, repo_root=REPO_ROOT,
    )
    assert out["logged"] is True and out["registry"]["updated"] is True and out["registry"]["version"] >= 1, out
    run = client.get_run(out["run_id"])
    assert client.get_experiment(run.info.experiment_id).name == "penguins-kubeflow"
    assert run.data.tags["mlops.runner"] == "kubeflow" and run.data.tags["mlops.mlmd.artifact.model"] == "3"
    assert run.data.metrics["eval.blessed"] == 1.0 and "fairness.island.accuracy_gap" in run.data.metrics
    assert run.data.metrics["compress.saved_model.size_bytes"] > 0
    assert run.data.params["run.code_version"] == "abc"
    assert {"reports/evaluation", "reports/fairness", "reports/compress"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert record_push(pipeline_name="penguins", model_name="penguins", destination=dest, blessed=True, pushed=None,
                       report_uris={}, params={}, mlmd_ids={}, repo_root=REPO_ROOT) is None  # nothing named: nothing logged
