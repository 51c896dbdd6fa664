"""model_monitoring: drift (components.drift.logic), the report, the alert, and the retraining trigger."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

import pytest
import yaml

from support import run_dag, xcom


def _write(rows: list[dict[str, str]], path: Path) -> Path:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    path.write_text(out.getvalue())
    return path


@pytest.fixture()
def snapshots(tmp_path: Path, penguins_csv: Path) -> dict[str, Path]:
    rows = list(csv.DictReader(penguins_csv.open()))
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    drifted = []
    for r in shuffled:
        r = dict(r)
        if r["body_mass_g"] != "NA":
            r["body_mass_g"] = str(float(r["body_mass_g"]) + 1500)
        r["island"] = "Dream"
        drifted.append(r)
    snap_dir = tmp_path / "snapshots"
    snap_dir.mkdir()
    return {
        "reference": _write(rows, tmp_path / "reference.csv"),
        "same": _write(shuffled, snap_dir / "dt=2026-01-01.csv"),
        "drifted": _write(drifted, snap_dir / "dt=2026-01-02.csv"),
    }


@pytest.fixture(autouse=True)
def _no_drift_alert_state(fresh_drift_alert_state):
    """Every test starts without a previous drift alert (see the conftest fixture)."""


def _config(tmp_path: Path, pipeline_config: str, **monitoring) -> str:
    """The penguins config with ``monitoring`` keys replaced (None removes a key)."""
    from mlops_airflow.settings import resolve_repo_path

    cfg = yaml.safe_load(resolve_repo_path(pipeline_config).read_text())
    for key, value in monitoring.items():
        if value is None:
            cfg["monitoring"].pop(key, None)
        else:
            cfg["monitoring"][key] = value
    path = tmp_path / "penguins.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


def test_no_drift_does_not_alert_or_trigger(dagbag, pipeline_config, snapshots, webhook):
    dr, states = run_dag(
        dagbag.dags["model_monitoring"],
        {"config": pipeline_config, "reference_uri": str(snapshots["reference"]), "current_uri": str(snapshots["same"])},
    )
    result = xcom(dr, "compute_drift")
    assert result["drifted"] is False and result["max_score"] < result["threshold"], result["scores"]
    assert states["alert_if_drifted"] == "success" and states["trigger_training"] == "skipped"
    assert webhook == []


def test_drift_alerts_and_triggers_training_once_per_window(dagbag, pipeline_config, snapshots, webhook, monkeypatch, tmp_path):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    # No current_uri and no prediction log: the newest snapshot under the prefix is used.
    config = _config(tmp_path, pipeline_config, prediction_log_uri=None)
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_MONITORING_SNAPSHOTS_URI", str(snapshots["drifted"].parent))
    dr, states = run_dag(
        dagbag.dags["model_monitoring"], {"config": config, "reference_uri": str(snapshots["reference"])}
    )
    result = xcom(dr, "compute_drift")
    assert result["current_uri"].endswith("dt=2026-01-02.csv")
    assert {"body_mass_g", "island"} <= set(result["drifted_columns"])
    # The config's metric choices: PSI for numerics, Jensen-Shannon for categoricals.
    assert result["metrics"]["body_mass_g"] == "psi" and result["metrics"]["island"] == "js"
    from mlops_airflow.settings import resolve_repo_path

    page = resolve_repo_path(result["report"]).read_text()
    assert "body_mass_g" in page and "data:image/png;base64," in page
    assert states == {"compute_drift": "success", "alert_if_drifted": "success", "trigger_training": "success"}

    (alert,) = webhook
    text = alert["json"]["text"]
    assert "Data drift detected for penguins" in text and "`body_mass_g`" in text and "PSI" in text and "JS" in text
    assert "drifted data" in text and "dt=2026-01-02.csv" in text

    with create_session() as session:
        triggered = session.query(DagRun).filter(DagRun.dag_id == "training_pipeline", DagRun.run_id == f"drift__{dr.run_id}").one()
        # only_if_new_data: retraining on data the model was already trained on cannot fix drift.
        assert triggered.conf == {"config": result["config"], "data_uri": result["current_uri"], "only_if_new_data": True}
        session.delete(triggered)  # keep the DB tidy for later dag.test() runs

    # The next hourly run sees the same snapshot: still drifted, but no second alert or retraining.
    dr, states = run_dag(
        dagbag.dags["model_monitoring"], {"config": config, "reference_uri": str(snapshots["reference"])}
    )
    assert xcom(dr, "compute_drift")["drifted"] is True
    assert states["alert_if_drifted"] == "success" and states["trigger_training"] == "skipped"
    assert len(webhook) == 1


def _served(prefix: Path, penguins_csv: Path, day: dt.date, shift: float, n: int = 200) -> Path:
    """``n`` prediction-log records as ``mlops serve`` writes them, body mass shifted by ``shift``."""
    rows = [r for r in csv.DictReader(penguins_csv.open()) if "NA" not in r.values()]
    folder = prefix / f"date={day:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc)
    path = folder / f"{stamp:%Y%m%dT%H%M%S%fZ}-test-1-000001.jsonl"
    with path.open("w") as out:
        for i in range(n):
            r = rows[(i * 7) % len(rows)]
            inputs = {k: float(r[k]) for k in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")}
            inputs.update(island=r["island"], sex=r["sex"])
            inputs["body_mass_g"] += shift
            out.write(json.dumps({
                "timestamp": (stamp + dt.timedelta(milliseconds=i)).isoformat(), "model": "penguins", "version": 1,
                "inputs": inputs, "outputs": {"predicted_class": r["species"]},
            }) + "\n")
    return path


def test_prediction_log_drift_alerts_then_waits_for_new_features_or_the_realert_period(
    dagbag, pipeline_config, penguins_csv, webhook, tmp_path
):
    """Served inputs (JSONL under date= folders, no Docker): drift alerts and triggers retraining on
    the config's data; new drifted traffic on the same features within realert_after_hours does not."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    logs = tmp_path / "prediction-logs" / "penguins"
    today = dt.datetime.now(dt.timezone.utc).date()
    _served(logs, penguins_csv, today - dt.timedelta(days=30), shift=0.0)  # outside the lookback: never read
    _served(logs, penguins_csv, today, shift=2000.0, n=150)
    config = _config(tmp_path, pipeline_config, prediction_log_uri=str(logs), lookback_days=2)

    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": config})
    result = xcom(dr, "compute_drift")
    # window_size is 200, but only today's 150 rows lie within lookback_days.
    assert result["source"] == "prediction_log" and result["rows"] == 150 and result["drifted_columns"] == ["body_mass_g"]
    assert states["trigger_training"] == "success"
    (alert,) = webhook
    assert "package://palmerpenguins" in alert["json"]["text"] and "no labels" in alert["json"]["text"]
    with create_session() as session:
        triggered = session.query(DagRun).filter(DagRun.dag_id == "training_pipeline", DagRun.run_id == f"drift__{dr.run_id}").one()
        assert triggered.conf["data_uri"] == result["retrain_data_uri"] and triggered.conf["only_if_new_data"] is True
        session.delete(triggered)

    _served(logs, penguins_csv, today, shift=2500.0)  # an hour later: new traffic, same drifted feature
    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": config})
    assert xcom(dr, "compute_drift")["window_end"] != result["window_end"]
    assert states["trigger_training"] == "skipped" and len(webhook) == 1

    # With realert_after_hours 0 the same features alert again on the new window.
    _served(logs, penguins_csv, today, shift=3000.0)
    config = _config(tmp_path, pipeline_config, prediction_log_uri=str(logs), lookback_days=2, realert_after_hours=0)
    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": config})
    assert states["trigger_training"] == "success" and len(webhook) == 2
    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == "training_pipeline", DagRun.run_id == f"drift__{dr.run_id}").delete()


def test_a_malformed_prediction_log_fails_the_run_and_names_the_file(dagbag, pipeline_config, webhook, tmp_path):
    logs = tmp_path / "logs"
    day = logs / f"date={dt.datetime.now(dt.timezone.utc):%Y-%m-%d}"
    day.mkdir(parents=True)
    (day / "20260101T000000000000Z-x-000001.jsonl").write_text("{broken\n")
    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": pipeline_config, "prediction_log_uri": str(logs)})
    assert states["compute_drift"] == "failed" and states["trigger_training"] == "upstream_failed"
    (alert,) = webhook  # no retry: a malformed file does not mend itself
    assert "20260101T000000000000Z-x-000001.jsonl:1: not JSON" in alert["json"]["text"]


def test_without_served_predictions_or_a_snapshot_source_the_run_is_skipped(dagbag, pipeline_config, webhook, tmp_path):
    empty = tmp_path / "no-traffic-yet"
    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": pipeline_config, "prediction_log_uri": str(empty)})
    assert states["compute_drift"] == "skipped" and webhook == []
    config = _config(tmp_path, pipeline_config, prediction_log_uri=None, snapshots_uri=None)
    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": config})
    assert states["compute_drift"] == "skipped" and webhook == []
