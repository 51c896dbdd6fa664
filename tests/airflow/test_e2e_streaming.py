"""Issue 25 end to end, on the real broker (Tansu) and the real project image:

training_pipeline (local runner) pushes version 1 → `mlops serve --kafka` serves it → 2,000
requests of shifted data (+600 g) with their ground truth through `mlops label` (every 7th label
wrong on purpose) → `mlops monitor --stream` reports, within one window, the drifted feature and
the accuracy drop, equal to a direct computation on the same records → the DAG's own Kafka
watcher trigger fires on that result → model_quality_events (dag.test()) alerts and triggers
training_pipeline → that run (dag.test(), local runner) trains on the labelled traffic and
pushes version 2.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time

import pytest
import requests
import yaml

from conftest import REPO_ROOT, webhook_receiver
from support import free_port, run_dag, xcom
from tests.configs import extras_off
from tests.kafka_broker import running_broker

pytestmark = pytest.mark.slow
TOPICS = ("mlops.predictions", "mlops.ground-truth", "mlops.monitoring-results", "mlops.monitoring-dead-letter")
SHIFT_G = 600.0
N = 2000


def _docker(image: str, name: str, *cmd: str, detach: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "run", *(["-d"] if detach else []), "--rm", "--name", name, "--network", "host",
         "--user", f"{os.getuid()}:{os.getgid()}", "-v", f"{REPO_ROOT}:/src", "-w", "/src", "-e", "HOME=/tmp",
         image, *cmd],
        check=True, capture_output=True, text=True, timeout=900)


def _traffic(penguins_csv) -> list[dict]:
    """Complete rows, 600 g heavier, only those the curated schema still admits (<= 6500 g)."""
    rows = [r for r in csv.DictReader(penguins_csv.open()) if "NA" not in r.values()]
    out = []
    for r in rows:
        mass = float(r["body_mass_g"]) + SHIFT_G
        if mass <= 6500:
            out.append({"bill_length_mm": float(r["bill_length_mm"]), "bill_depth_mm": float(r["bill_depth_mm"]),
                        "flipper_length_mm": float(r["flipper_length_mm"]), "body_mass_g": mass,
                        "island": r["island"], "sex": r["sex"], "species": r["species"]})
    return [out[i % len(out)] for i in range(N)]


def test_stream_breach_retrains_and_pushes_a_new_version(dagbag, pipeline_config, project_image, penguins_csv, tmp_path,
                                                        monkeypatch):
    from airflow.models.dagrun import DagRun
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from mlops_airflow.settings import resolve_repo_path
    from mlops_airflow.tracking import variable_key

    runs_rel = f"{os.environ['MLOPS_AIRFLOW_RUNS_DIR']}/e2e-stream"
    work = REPO_ROOT / runs_rel
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    cfg = extras_off(yaml.safe_load(resolve_repo_path(pipeline_config).read_text()))
    cfg["push"]["destination"] = f"{runs_rel}/models"
    cfg["tracking"] = {"uri": f"{runs_rel}/mlflow"}
    cfg["monitoring"].update(min_accuracy=0.9, realert_after_hours=24)
    cfg["monitoring"]["stream"] = {"window_records": N, "lateness_seconds": 600, "report_dir": f"{runs_rel}/monitoring"}
    config_path = work / "penguins.yaml"
    config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    config_rel = str(config_path.relative_to(REPO_ROOT))
    for kind in ("last_trained", "last_quality_alert"):
        Variable.delete(variable_key("penguins", kind))

    # 1. version 1
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config_rel, "runner": "local"})
    assert set(states.values()) == {"success"}, states
    assert xcom(dr, "report_outcome")["pushed_version"] == 1

    traffic = _traffic(penguins_csv)
    with running_broker(tmp_path, TOPICS) as broker:
        port = free_port()
        serve, monitor = f"mlops-e2e-serve-{os.getpid()}", f"mlops-e2e-monitor-{os.getpid()}"
        _docker(project_image, serve, "mlops", "serve", "--config", config_rel, "--kafka",
                "--bootstrap-servers", broker.bootstrap, "--no-drift", "--host", "127.0.0.1", "--port", str(port))
        try:
            _docker(project_image, monitor, "mlops", "monitor", "--stream", "--config", config_rel,
                    "--bootstrap-servers", broker.bootstrap, "--session-timeout-ms", "6000", "--max-windows", "1")
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:
                try:
                    if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, "mlops serve --kafka did not become ready"
                time.sleep(1)
            # 2. 2,000 requests with request ids, their ground truth (every 7th wrong on purpose)
            pairs, labels = [], []
            with requests.Session() as http:
                for i, row in enumerate(traffic):
                    inst = {k: v for k, v in row.items() if k != "species"}
                    rid = f"e2e-{i}"
                    resp = http.post(f"{base}/v1/models/penguins:predict", json={"instances": [inst]},
                                     headers={"X-Request-Id": rid}, timeout=30)
                    assert resp.status_code == 200, resp.text
                    predicted = resp.json()["predictions"][0]["predicted_class"]
                    label = row["species"] if i % 7 else ("Gentoo" if row["species"] != "Gentoo" else "Adelie")
                    pairs.append((label, predicted))
                    labels.append({"request_id": rid, "label": label})
            labels_file = work / "labels.jsonl"
            labels_file.write_text("".join(json.dumps(x) + "\n" for x in labels))
            out = _docker(project_image, f"mlops-e2e-label-{os.getpid()}", "mlops", "label", "--config", config_rel,
                          "--bootstrap-servers", broker.bootstrap, "--file", str(labels_file.relative_to(REPO_ROOT)),
                          detach=False)
            assert f"sent {N} label(s)" in out.stdout
            # 3. one window: the monitor exits after it
            waited = subprocess.run(["docker", "wait", monitor], capture_output=True, text=True, timeout=600)
            assert waited.stdout.strip() == "0", waited
        finally:
            subprocess.run(["docker", "stop", "-t", "30", serve], capture_output=True, timeout=90)
            subprocess.run(["docker", "rm", "-f", monitor], capture_output=True, timeout=60)
        [window_json] = list((work / "monitoring").glob("*/window.json"))
        window = json.loads(window_json.read_text())
        direct = sum(a == b for a, b in pairs) / len(pairs)
        assert window["window"]["predictions"] == window["metrics"]["labelled"] == N
        assert window["metrics"]["accuracy"] == pytest.approx(direct) and direct < 0.9
        assert "body_mass_g" in window["drift"]["drifted_features"]
        assert window["verdict"] == "breach"

        # 4. the DAG's own watcher trigger on the results topic
        import model_quality_events

        monkeypatch.setenv("AIRFLOW_CONN_MLOPS_KAFKA", json.dumps({"conn_type": "kafka", "extra": {
            "bootstrap.servers": broker.bootstrap, "group.id": "e2e-watcher", "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000}}))
        inner = model_quality_events.MONITORING_RESULTS.watchers[0].trigger.trigger

        async def first():
            try:
                async for event in inner.run():
                    return event.payload
            finally:
                await inner.cleanup()

        import asyncio

        payload = asyncio.run(asyncio.wait_for(first(), 120))
    assert payload["window_id"] == window["window_id"]

    # 5. alert first, then training_pipeline on the labelled traffic
    retrain = work / "labelled-traffic.csv"
    with retrain.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(traffic[0]))
        w.writeheader()
        w.writerows(traffic)
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_QUALITY_RETRAIN_DATA_URI", str(retrain.relative_to(REPO_ROOT)))
    with webhook_receiver(monkeypatch) as alerts:
        dr, states = run_dag(dagbag.dags["model_quality_events"], {"result": payload})
        assert states == {"read_result": "success", "alert_on_breach": "success", "trigger_training": "success"}, states
        (alert,) = alerts
        assert "accuracy" in alert["json"]["text"] and "body_mass_g" in alert["json"]["text"]
    with create_session() as session:
        triggered = session.query(DagRun).filter(DagRun.dag_id == "training_pipeline",
                                                 DagRun.run_id == f"quality__{dr.run_id}").one()
        conf = dict(triggered.conf)
        session.delete(triggered)
    assert conf["data_uri"] == str(retrain.relative_to(REPO_ROOT))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {**conf, "runner": "local"})
    report = xcom(dr, "report_outcome")
    assert set(states.values()) == {"success"}, (states, report)
    assert report["pushed_version"] == 2
