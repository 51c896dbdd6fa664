"""One config model: the DAGs load the pipeline YAML with ``pipelines.config``, as ``mlops run`` does.

* A config that uses the DAG-side keys (``runner``, ``vertex.*``, ``kubeflow.experiment``,
  ``kubeflow.package_path``, ``monitoring.*``) loads, and the DAGs use the typed values.
* An unknown or mistyped key fails the DAG at its first task, without a retry, with the
  ``ConfigError`` of ``pipelines.config.load_config`` word for word (the message ``mlops run
  --config <the same path>`` prints; tests/unit/test_config.py checks the image side).
* The layout docs/airflow.md tells MWAA / Cloud Composer users to ship (``pipelines/config.py``
  inside the DAGs folder, no repository root on ``sys.path``) parses and loads the config.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import DAGS_DIR, REPO_ROOT
from support import golden_spec_path, run_dag, xcom

# The same mistake as in tests/unit/test_config.py::test_dag_side_key_typos_are_rejected.
TYPO = "unknown key vertex.'projet'; allowed keys here: anonymous_credentials, api_endpoint, location,"

DAG_SIDE_KEYS = {
    "runner": "dry-run",
    "kubeflow": {
        "experiment": "mlops-from-config",
        "service_account": "pipeline-runner",
        "parameters": {"epochs": 3},
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
    assert vx["parameters"] == {"data_uri": str(good_csv)}  # the golden spec declares no `epochs`

    # Variables (per deployment) still win over the config.
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_LOCATION", "us-central1")
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_ANONYMOUS_CREDENTIALS", "false")
    vx = vertex.client_request(request)
    assert vx["vertex"]["location"] == "us-central1" and vx["vertex"]["anonymous_credentials"] is False

    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9"}))
    kf = kubeflow.client_request(request)
    assert kf["package"] == str(golden_spec_path())
    assert kf["experiment"] == "mlops-from-config" and kf["service_account"] == "pipeline-runner"
    assert kf["pipeline_root"] is None  # runs/kfp-root is a local path: the spec's root applies


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


# ------------------------------------------------------------------------------ managed Airflow

PARSE_BUNDLE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    dags_dir = Path(sys.argv[1])
    bag = BundleDagBag(dag_folder=str(dags_dir), bundle_path=dags_dir)  # puts the DAGs folder on sys.path
    import pipelines.config
    from mlops_airflow.pipeline_config import load_pipeline_config

    cfg = load_pipeline_config(dags_dir / "pipelines" / "configs" / "penguins.yaml")
    print("RESULT " + json.dumps({
        "dags": sorted(bag.dags),
        "import_errors": bag.import_errors,
        "files": sorted(s.file for s in bag.dagbag_stats),
        "config_module": pipelines.config.__file__,
        "config_name": cfg.name,
    }))
    """
)


def test_the_documented_managed_airflow_bundle_parses_and_loads_the_config(tmp_path):
    """docs/airflow.md, "Managed Airflow": the DAGs folder holds the DAG files, mlops_airflow/, the pure
    ``components`` packages, ``spark_jobs`` and ``pipelines/__init__.py`` + ``pipelines/config.py`` (+ configs,
    schemas); nothing else of the repository is there or on ``sys.path``."""
    bundle = tmp_path / "mwaa" / "dags"
    shutil.copytree(DAGS_DIR, bundle, ignore=shutil.ignore_patterns("__pycache__"))
    (bundle / "components").mkdir()
    shutil.copy(REPO_ROOT / "components" / "__init__.py", bundle / "components")
    for pkg in ("alerting", "common", "drift", "ge_validation", "ingest"):
        shutil.copytree(REPO_ROOT / "components" / pkg, bundle / "components" / pkg, ignore=shutil.ignore_patterns("__pycache__", "test_*"))
    (bundle / "pipelines").mkdir()
    for f in ("__init__.py", "config.py"):
        shutil.copy(REPO_ROOT / "pipelines" / f, bundle / "pipelines")
    for d in ("configs", "schemas"):
        shutil.copytree(REPO_ROOT / "pipelines" / d, bundle / "pipelines" / d)
    shutil.copytree(REPO_ROOT / "spark_jobs", bundle / "spark_jobs", ignore=shutil.ignore_patterns("__pycache__"))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")) and k != "PYTHONPATH"}
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(bundle)
    res = subprocess.run(
        [sys.executable, "-c", PARSE_BUNDLE, str(bundle)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180
    )
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["import_errors"] == {}, result["import_errors"]
    assert set(result["dags"]) == {"training_pipeline", "model_monitoring", "feature_engineering"}
    assert Path(result["config_module"]).resolve() == (bundle / "pipelines" / "config.py").resolve()
    assert result["config_name"] == "penguins"
    # .airflowignore keeps the processor out of the shipped modules too.
    assert not any(f.startswith(("mlops_airflow", "components", "pipelines", "spark_jobs")) for f in result["files"]), result["files"]
