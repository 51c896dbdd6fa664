"""End to end with the real project image: dag.test() of training_pipeline with the local runner,
then the pushed model served by `mlops serve`, drifted traffic, and model_monitoring on its log.

Needs Docker and the image (``make image`` builds and tags ``mlops-pipelines:latest``; override
with MLOPS_IMAGE). The run uses the penguins config with its push destination moved under the
gitignored runs/airflow-test/, so it never touches the models of ``make demo``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time

import pytest
import requests
import yaml

from conftest import REPO_ROOT, webhook_receiver
from support import free_port, run_dag, xcom
from tests.configs import extras_off

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dag_trained(dagbag, pipeline_config, project_image):
    """One dag.test() of training_pipeline with the local runner (the real image), shared by the
    tests below: its run, task states, the outcome XComs and the alerts the webhook received."""
    from mlops_airflow.settings import resolve_repo_path

    e2e_dir = REPO_ROOT / os.environ["MLOPS_AIRFLOW_RUNS_DIR"] / "e2e"
    e2e_dir.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(resolve_repo_path(pipeline_config).read_text())
    cfg["push"]["destination"] = f"{os.environ['MLOPS_AIRFLOW_RUNS_DIR']}/e2e/models"
    # What is under test is the DAG driving the image; the optional steps are covered by the
    # image's own end-to-end tests and only add minutes here.
    cfg = extras_off(cfg)
    # MLflow's embedded store of this test, not the demo's runs/mlflow (pipelines/tracking).
    cfg["tracking"] = {"uri": f"{os.environ['MLOPS_AIRFLOW_RUNS_DIR']}/e2e/mlflow"}
    config_path = e2e_dir / "penguins.yaml"  # inside the repo: the container sees it under /src
    config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp, webhook_receiver(mp) as alerts:
        dr, states = run_dag(
            dagbag.dags["training_pipeline"],
            {"config": str(config_path.relative_to(REPO_ROOT)), "runner": "local"},
        )
        plan = xcom(dr, "resolve_run")
        report = xcom(dr, "report_outcome")
    return {
        "dag_run": dr, "states": states, "plan": plan, "report": report, "alerts": list(alerts),
        "config_path": config_path, "e2e_dir": e2e_dir,
    }


def test_local_runner_trains_and_pushes_a_model(dag_trained):
    states, plan, report = dag_trained["states"], dag_trained["plan"], dag_trained["report"]
    run_json = REPO_ROOT / plan["output_dir"] / "run.json"
    detail = run_json.read_text()[:3000] if run_json.exists() else "no run.json"
    alerts = dag_trained["alerts"]
    assert set(states.values()) == {"success"}, f"{states}\n{detail}\nalerts: {[w['json']['text'] for w in alerts]}"

    summary = json.loads(run_json.read_text())
    assert summary["status"] == "succeeded"
    assert report["status"] == "succeeded" and report["pushed_version"] >= 1
    pushed = REPO_ROOT / report["pushed_path"] if not os.path.isabs(report["pushed_path"]) else report["pushed_path"]
    assert str(pushed).startswith(str(dag_trained["e2e_dir"] / "models")), pushed
    assert (pushed / "manifest.json").is_file(), sorted(p.name for p in pushed.iterdir())
    assert report["metrics"], "key metrics are reported"
    # report_outcome links the MLflow run and the registered version the run wrote
    tracking = summary["tracking"]
    assert tracking["logged"] is True and tracking["registry"]["updated"] is True, tracking
    version = tracking["registry"]["version"]
    assert report["mlflow"] == {
        "MLflow run": tracking["run_url"],
        f"MLflow model penguins v{version} (@production)": tracking["registry"]["url"],
    }
    assert tracking["run_url"] in report["summary"] and tracking["registry"]["url"] in report["summary"]
    assert alerts == []


def _drifted_instances(penguins_csv, n: int) -> list[dict]:
    """Complete penguins rows, all on Dream and 1,000 g heavier: a shift the model is served."""
    rows = [r for r in csv.DictReader(penguins_csv.open()) if "NA" not in r.values()]
    out = []
    for i in range(n):
        r = rows[i % len(rows)]
        out.append({
            "bill_length_mm": float(r["bill_length_mm"]), "bill_depth_mm": float(r["bill_depth_mm"]),
            "flipper_length_mm": float(r["flipper_length_mm"]), "body_mass_g": float(r["body_mass_g"]) + 1000,
            "island": "Dream", "sex": r["sex"],
        })
    return out


def test_served_drift_alerts_and_triggers_retraining(
    dag_trained, dagbag, project_image, penguins_csv, webhook, fresh_drift_alert_state
):
    """Served traffic with drift -> prediction log -> model_monitoring -> alert + training_pipeline
    triggered. The server is the real `mlops serve` in the project image, on 127.0.0.1."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    assert dag_trained["report"]["pushed_version"] >= 1
    runs_rel = os.environ["MLOPS_AIRFLOW_RUNS_DIR"]
    log_rel = f"{runs_rel}/e2e/prediction-logs"
    shutil.rmtree(REPO_ROOT / log_rel, ignore_errors=True)
    port = free_port()
    name = f"mlops-serve-e2e-{os.getpid()}"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}",
         "-v", f"{REPO_ROOT}:/src", "-w", "/src",
         "-e", "HOME=/tmp", project_image, "mlops", "serve", "--models", f"{runs_rel}/e2e/models", "--model", "penguins",
         "--host", "127.0.0.1", "--port", str(port), "--log-dir", log_rel, "--log-flush-seconds", "0.5", "--no-drift"],
        check=True, capture_output=True, text=True, timeout=120,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr[-2000:]
            time.sleep(1)
        instances = _drifted_instances(penguins_csv, 240)
        for i in range(0, len(instances), 20):
            resp = requests.post(f"{base}/v1/models/penguins:predict", json={"instances": instances[i:i + 20]}, timeout=30)
            assert resp.status_code == 200, resp.text
    finally:
        # SIGTERM: the server flushes its prediction log before it exits.
        subprocess.run(["docker", "stop", "-t", "30", name], capture_output=True, timeout=90)
    logged = list((REPO_ROOT / log_rel / "penguins").rglob("*.jsonl"))
    assert logged, "the server wrote no prediction log"

    dr, states = run_dag(
        dagbag.dags["model_monitoring"],
        {"config": str(dag_trained["config_path"].relative_to(REPO_ROOT)), "prediction_log_uri": f"{log_rel}/penguins/"},
    )
    result = xcom(dr, "compute_drift")
    assert states == {"compute_drift": "success", "alert_if_drifted": "success", "trigger_training": "success"}, result
    assert result["source"] == "prediction_log" and result["rows"] == 200  # monitoring.window_size
    assert {"body_mass_g", "island"} <= set(result["drifted_columns"])
    assert "predicted_class" in result["scores"]  # predictions vs training labels, too
    (alert,) = webhook
    assert "Data drift detected for penguins" in alert["json"]["text"] and "`body_mass_g`" in alert["json"]["text"]
    with create_session() as session:
        triggered = session.query(DagRun).filter(DagRun.dag_id == "training_pipeline", DagRun.run_id == f"drift__{dr.run_id}").one()
        # Served inputs have no labels: retraining uses the config's data, not the log.
        assert triggered.conf["data_uri"] == result["retrain_data_uri"] != result["current_uri"]
        assert triggered.conf["only_if_new_data"] is True
        session.delete(triggered)
