"""One config model: the DAGs load the pipeline YAML with ``pipelines.config``, as ``mlops run`` does.

* A config that uses the DAG-side keys (``runner``, ``vertex.*``, ``kubeflow.experiment``,
  ``kubeflow.package_path``, ``monitoring.*``) loads, and the DAGs use the typed values.
* An unknown or mistyped key fails the DAG at its first task, without a retry, with the
  ``ConfigError`` of ``pipelines.config.load_config`` word for word (the message ``mlops run
  --config <the same path>`` prints; tests/unit/test_config.py checks the image side).

The layout docs/airflow.md tells MWAA / Cloud Composer users to ship is tested as shipped in
test_managed_bundle.py.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from support import golden_spec_path, run_dag, xcom

# The same mistake as in tests/unit/test_config.py::test_dag_side_key_typos_are_rejected.
TYPO = "unknown key vertex.'projet'; allowed keys here: anonymous_credentials, api_endpoint, enable_caching, location,"

DAG_SIDE_KEYS = {
    "runner": "dry-run",
    "kubeflow": {
        "experiment": "mlops-from-config",
        "service_account": "pipeline-runner",
        "parameters": {"epochs": 3},
        "pipeline_root": "gs://cfg-root/kfp",
        "enable_caching": False,
    },
    "vertex": {
        "project": "proj-cfg",
        "region": "europe-west1",
        "pipeline_root": "gs://cfg-root/pipelines",
        "service_account": "cfg@proj-cfg.iam.gserviceaccount.com",
        "api_endpoint": "http://127.0.0.1:9",
        "poll_seconds": 2,
        "anonymous_credentials": True,
        "timeout_seconds": 600,
        "retry_initial_seconds": 0.5,
        "retry_max_seconds": 2,
        "retry_budget_seconds": 10,
        "parameters": {"epochs": 3},
        "enable_caching": False,
    },
    "monitoring": {"snapshots_uri": "runs/snapshots/penguins/", "lookback_days": 3, "realert_after_hours": 6},
}


def _merge(into: dict, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@pytest.fixture()
def repo_config_dir():
    """A folder inside the repository (gitignored runs/) so configs are named repo-relative, as
    the DAGs hand them to ``mlops run``."""
    d = REPO_ROOT / os.environ["MLOPS_AIRFLOW_RUNS_DIR"] / "configs" / uuid.uuid4().hex[:8]
    d.mkdir(parents=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _write(directory: Path, pipeline_config: str, changes: dict, name: str = "penguins.yaml") -> Path:
    from mlops_airflow.settings import resolve_repo_path

    cfg = yaml.safe_load(resolve_repo_path(pipeline_config).read_text())
    _merge(cfg, copy.deepcopy(changes))
    cfg["kubeflow"]["package_path"] = str(golden_spec_path())
    path = directory / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _cli_error(path: Path, monkeypatch) -> str:
    """What ``mlops run --config <repo-relative path>`` reports: ``pipelines.cli`` calls
    ``load_config(args.config)`` from the repository root."""
    from pipelines.config import ConfigError, load_config

    monkeypatch.chdir(REPO_ROOT)
    with pytest.raises(ConfigError) as err:
        load_config(path.relative_to(REPO_ROOT).as_posix())
    return str(err.value)


def test_dag_side_keys_are_declared_typed_and_used(dagbag, pipeline_config, good_csv, repo_config_dir, webhook, fake_docker):
    from mlops_airflow.pipeline_config import load_pipeline_config

    path = _write(repo_config_dir, pipeline_config, DAG_SIDE_KEYS)
    cfg = load_pipeline_config(path)
    assert cfg.source_path == path.relative_to(REPO_ROOT).as_posix()
    assert cfg.runner == "dry-run" and cfg.kubeflow.experiment == "mlops-from-config"
    assert cfg.kubeflow.package_path == str(golden_spec_path())
    assert cfg.vertex.location_or_region == "europe-west1" and cfg.vertex.poll_seconds == 2.0
    assert dict(cfg.vertex.parameters) == {"epochs": 3} and cfg.monitoring.lookback_days == 3

    # runner=auto, no Variable mlops_runner: the config's `runner` key decides.
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": str(path), "data_uri": str(good_csv), "runner": "auto"})
    assert set(states.values()) == {"success"}, states
    assert xcom(dr, "resolve_run")["runner"] == "dry-run"
    assert xcom(dr, "resolve_run")["config"] == cfg.source_path
    assert webhook == [] and fake_docker() == []


def test_vertex_and_kubeflow_requests_take_the_configs_typed_values(airflow_db, pipeline_config, good_csv, repo_config_dir, monkeypatch):
    from mlops_airflow.runners import get_runner
    from mlops_airflow.runners.interface import RunRequest

    path = _write(repo_config_dir, pipeline_config, DAG_SIDE_KEYS)
    request = RunRequest.from_plan(
        {"config": path.relative_to(REPO_ROOT).as_posix(), "run_id": "manual__2026-01-01T00:00:00+00:00",
         "data_uri": str(good_csv), "dataset": "penguins"}
    )
    vertex, kubeflow = get_runner("vertex"), get_runner("kubeflow")

    vx = vertex.client_request(request)
    assert vx["pipeline_root"] == "gs://cfg-root/pipelines" and vx["service_account"] == "cfg@proj-cfg.iam.gserviceaccount.com"
    assert vx["poll_s"] == 2.0 and vx["timeout_s"] == 600.0
    assert vx["retry"] == {"initial_s": 0.5, "max_s": 2.0, "budget_s": 10.0}
    assert vx["vertex"]["project"] == "proj-cfg" and vx["vertex"]["location"] == "europe-west1"
    assert vx["vertex"]["api_endpoint"] == "http://127.0.0.1:9" and vx["vertex"]["anonymous_credentials"] is True
    # The golden spec declares no `epochs`; the cache parameters are computed for the data.
    assert set(vx["parameters"]) == {"data_uri", "data_fingerprint", "serving_version"}
    assert vx["parameters"]["data_uri"] == str(good_csv) and vx["enable_caching"] is False

    # Variables (per deployment) still win over the config.
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_LOCATION", "us-central1")
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_ANONYMOUS_CREDENTIALS", "false")
    vx = vertex.client_request(request)
    assert vx["vertex"]["location"] == "us-central1" and vx["vertex"]["anonymous_credentials"] is False

    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9"}))
    kf = kubeflow.client_request(request)
    assert kf["package"] == str(golden_spec_path())
    assert kf["experiment"] == "mlops-from-config" and kf["service_account"] == "pipeline-runner"
    assert kf["pipeline_root"] == "gs://cfg-root/kfp" and kf["enable_caching"] is False


@pytest.mark.parametrize("dag_id, first_task", [("training_pipeline", "resolve_run"), ("model_monitoring", "compute_drift")])
def test_a_mistyped_key_fails_the_dag_at_once_with_the_loaders_message(
    dagbag, pipeline_config, good_csv, repo_config_dir, webhook, fake_docker, monkeypatch, dag_id, first_task
):
    from mlops_airflow.pipeline_config import InvalidPipelineConfig, load_pipeline_config
    from pipelines.config import ConfigError

    path = _write(repo_config_dir, pipeline_config, {"vertex": {"projet": "proj-1"}})
    expected = _cli_error(path, monkeypatch)
    assert TYPO in expected and expected.startswith(path.relative_to(REPO_ROOT).as_posix() + ": ")

    with pytest.raises(ConfigError) as err:  # the DAGs' loader: the same error, word for word
        load_pipeline_config(str(path))
    assert str(err.value) == expected and isinstance(err.value, InvalidPipelineConfig)

    conf = {"config": str(path), "data_uri": str(good_csv)} if dag_id == "training_pipeline" else {
        "config": str(path), "current_uri": str(good_csv)}
    dr, states = run_dag(dagbag.dags[dag_id], conf)
    assert states[first_task] == "failed", states  # not up_for_retry: model_monitoring has retries=1
    assert all(s == "upstream_failed" for t, s in states.items() if t != first_task), states
    (alert,) = webhook  # one alert: no retry
    assert f"{first_task}: InvalidPipelineConfig: {expected}" in alert["json"]["text"]
    assert fake_docker() == []
