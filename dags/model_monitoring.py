"""model_monitoring (hourly): drift of the newest data snapshot vs the training snapshot.

* Reference: the data the serving model was trained on (recorded by ``training_pipeline`` in
  Variable ``mlops_last_trained_<name>``), else the config's ``data.uri``; override with the
  ``reference_uri`` param.
* Current: the ``current_uri`` param, else the newest object under ``monitoring.snapshots_uri``
  (config) or Variable ``mlops_monitoring_snapshots_uri`` (a prefix; names should sort by time,
  e.g. ``.../dt=2026-01-31/part.csv``). With neither configured the run is skipped.
* Score: PSI per configured feature on the last ``monitoring.window_size`` rows (``lib.drift``;
  TODO(drift): switch to ``components/drift`` when it lands).
* Above ``monitoring.drift_threshold``: alert (webhook + e-mail) and trigger
  ``training_pipeline`` on the current snapshot.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, get_current_context, task

from lib.alerts import default_notifiers
from lib.settings import default_config_path

log = logging.getLogger(__name__)


@dag(
    dag_id="model_monitoring",
    description="Hourly drift check of the newest data snapshot; retrains when drift exceeds the threshold.",
    schedule=timedelta(hours=1),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["mlops", "monitoring"],
    doc_md=__doc__,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5), "on_failure_callback": default_notifiers()},
    params={
        "config": Param(default_config_path(), type="string", description="Pipeline config YAML (repo-relative)."),
        "reference_uri": Param(None, type=["null", "string"], description="Training snapshot (default: last trained)."),
        "current_uri": Param(None, type=["null", "string"], description="Snapshot to check (default: newest)."),
    },
)
def model_monitoring() -> None:
    @task
    def compute_drift() -> dict[str, Any]:
        """Reads both snapshots and scores every configured feature."""
        from airflow.sdk import Variable
        from airflow.sdk.exceptions import AirflowSkipException

        import lib  # noqa: F401
        from components.common import storage
        from components.ingest import logic as ingest
        from lib.drift import drift_scores
        from lib.settings import load_settings
        from lib.tracking import last_trained

        params = get_current_context()["params"]
        settings = load_settings(params.get("config"))
        reference = params.get("reference_uri") or last_trained(settings.name).get("data_uri") or settings.data_uri
        current = params.get("current_uri")
        if not current:
            prefix = settings.monitoring.get("snapshots_uri") or Variable.get("mlops_monitoring_snapshots_uri", default=None)
            if not prefix:
                raise AirflowSkipException(
                    "no snapshot to check: set monitoring.snapshots_uri in the config, Variable "
                    "mlops_monitoring_snapshots_uri, or the current_uri param"
                )
            snapshots = [u for u in storage.list_uris(prefix) if u.endswith((".csv", ".parquet"))]
            if not snapshots:
                raise AirflowSkipException(f"no .csv/.parquet snapshot under {prefix}")
            current = snapshots[-1]
        fmt = "parquet" if current.endswith(".parquet") else settings.data_format
        window = int(settings.monitoring.get("window_size") or 0)
        ref_df = ingest.read_table(reference, settings.data_format)
        cur_df = ingest.read_table(current, fmt)
        if window:
            cur_df = cur_df.tail(window)
        types = {f.name: f.type for f in settings.features}
        scores = drift_scores(
            {c: ref_df[c].tolist() for c in ref_df.columns}, {c: cur_df[c].tolist() for c in cur_df.columns}, types
        )
        threshold = settings.drift_threshold
        over = [s for s in scores if s.score > threshold]
        result = {
            "config": settings.config_path,
            "dataset": settings.name,
            "reference_uri": reference,
            "current_uri": current,
            "rows": len(cur_df),
            "threshold": threshold,
            "scores": {s.column: round(s.score, 6) for s in scores},
            "max_score": max((s.score for s in scores), default=0.0),
            "drifted_columns": [s.column for s in over],
            "drifted": bool(over),
        }
        log.info("drift of %s vs %s: %s", current, reference, result["scores"])
        return result

    @task.short_circuit
    def alert_if_drifted(result: dict[str, Any]) -> bool:
        """Alerts and lets the retraining trigger run only when drift exceeds the threshold."""
        from components.alerting.message import build_alert
        from lib.alerts import send_alert

        if not result["drifted"]:
            log.info("max drift %.4f <= threshold %.4f: nothing to do", result["max_score"], result["threshold"])
            return False
        ctx = get_current_context()
        message = build_alert(
            kind="drift_detected",
            dataset=result["dataset"],
            data_uri=result["current_uri"],
            failures=[
                {
                    "column": col,
                    "check": "psi",
                    "observed": f"PSI {result['scores'][col]:.3f} > threshold {result['threshold']}",
                }
                for col in result["drifted_columns"]
            ],
            reason="Retraining (training_pipeline) has been triggered on the current snapshot.",
            run_id=ctx["run_id"],
            facts={"Reference": result["reference_uri"], "Rows compared": result["rows"]},
            links={"Airflow run": getattr(ctx["ti"], "log_url", None)},
        )
        send_alert(message)
        return True

    drift = compute_drift()
    retrain = TriggerDagRunOperator(
        task_id="trigger_training",
        trigger_dag_id="training_pipeline",
        conf={
            "config": "{{ ti.xcom_pull(task_ids='compute_drift')['config'] }}",
            "data_uri": "{{ ti.xcom_pull(task_ids='compute_drift')['current_uri'] }}",
        },
        trigger_run_id="drift__{{ run_id }}",
        wait_for_completion=False,
    )
    alert_if_drifted(drift) >> retrain


model_monitoring()
