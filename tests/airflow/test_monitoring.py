"""model_monitoring: drift (components.drift.logic), the report, the alert, and the retraining trigger."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

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


def test_no_drift_does_not_alert_or_trigger(dagbag, pipeline_config, snapshots, webhook):
    dr, states = run_dag(
        dagbag.dags["model_monitoring"],
        {"config": pipeline_config, "reference_uri": str(snapshots["reference"]), "current_uri": str(snapshots["same"])},
    )
    result = xcom(dr, "compute_drift")
    assert result["drifted"] is False and result["max_score"] < result["threshold"], result["scores"]
    assert states["alert_if_drifted"] == "success" and states["trigger_training"] == "skipped"
    assert webhook == []


def test_drift_alerts_and_triggers_training(dagbag, pipeline_config, snapshots, webhook, monkeypatch):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    # No current_uri: the newest snapshot under the configured prefix is used.
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_MONITORING_SNAPSHOTS_URI", str(snapshots["drifted"].parent))
    dr, states = run_dag(
        dagbag.dags["model_monitoring"], {"config": pipeline_config, "reference_uri": str(snapshots["reference"])}
    )
    result = xcom(dr, "compute_drift")
    assert result["current_uri"].endswith("dt=2026-01-02.csv")
    assert {"body_mass_g", "island"} <= set(result["drifted_columns"])
    # The config's metric choices: PSI for numerics, Jensen-Shannon for categoricals.
    assert result["metrics"]["body_mass_g"] == "psi" and result["metrics"]["island"] == "js"
    from lib.settings import resolve_repo_path

    page = resolve_repo_path(result["report"]).read_text()
    assert "body_mass_g" in page and "data:image/png;base64," in page
    assert states == {"compute_drift": "success", "alert_if_drifted": "success", "trigger_training": "success"}

    (alert,) = webhook
    text = alert["json"]["text"]
    assert "Data drift detected for penguins" in text and "`body_mass_g`" in text and "PSI" in text and "JS" in text

    with create_session() as session:
        triggered = session.query(DagRun).filter(DagRun.dag_id == "training_pipeline", DagRun.run_id == f"drift__{dr.run_id}").one()
        assert triggered.conf == {"config": result["config"], "data_uri": result["current_uri"]}
        session.delete(triggered)  # keep the DB tidy for later dag.test() runs


def test_without_a_snapshot_source_the_run_is_skipped(dagbag, pipeline_config, webhook):
    dr, states = run_dag(dagbag.dags["model_monitoring"], {"config": pipeline_config})
    assert states["compute_drift"] == "skipped" and webhook == []
