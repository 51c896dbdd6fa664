"""model_monitoring (hourly): drift of what the model is served, or of new data, vs its training data.

* Reference: the data the serving model was trained on (recorded by ``training_pipeline`` in
  Variable ``mlops_last_trained_<name>``), else the config's ``data.uri``; override with the
  ``reference_uri`` param.
* Current, first that is set: the ``current_uri`` param (a file or folder; prediction-log
  records are recognised by their content); the ``prediction_log_uri`` param; Variable
  ``mlops_monitoring_prediction_log_uri``; Variable ``mlops_monitoring_snapshots_uri``; the
  config's ``monitoring.prediction_log_uri``; the config's ``monitoring.snapshots_uri``
  (Variables, set per deployment, win over the repo's config). A prediction log (``mlops serve
  --log-dir``, the model's prefix ``<log dir>/<model>/``) gives the **served inputs**: the newest
  ``monitoring.window_size`` rows from the ``date=`` folders of the last
  ``monitoring.lookback_days`` days, with the predicted classes compared with the training
  labels too. A snapshot prefix gives its newest object (names should sort by time, e.g.
  ``.../dt=2026-01-31/part.csv``). With none configured, or no rows there yet, the run is
  skipped; a malformed file fails the run at once and names the file; a storage error is
  retried. Relative paths are taken from the repository root.
* Score: per configured feature on the last ``monitoring.window_size`` rows, with the config's
  ``numeric_metric`` / ``categorical_metric`` (``components.drift.logic``, the same code the
  serving monitor and ``mlops drift`` use); an HTML report with per-feature histograms goes to
  ``<runs dir>/monitoring/<dataset>/<run id>/index.html``.
* Above ``monitoring.drift_threshold``: alert (webhook + e-mail) and trigger
  ``training_pipeline`` with ``only_if_new_data``: on the drifted snapshot, or, for served
  inputs (no labels), on the config's ``data.uri`` (it skips when that data has not changed
  since the last training). A window already alerted on, or the same drifted features within
  ``monitoring.realert_after_hours``, is not alerted again (Variable
  ``mlops_last_drift_alert_<name>``), so persistent drift does not retrain every hour.

The config is loaded by ``pipelines.config`` (``mlops_airflow.pipeline_config``), the schema of the
pipeline, ``mlops serve`` and ``mlops drift``: an unknown or mistyped key fails ``compute_drift``
at once (no retry) with the loader's message naming the key.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, get_current_context, task

from mlops_airflow.alerts import default_notifiers
from mlops_airflow.settings import default_config_path

log = logging.getLogger(__name__)


def _local(uri: str) -> str:
    """A URI to read from: relative local paths are taken from the repo root, not the worker's CWD."""
    from mlops_airflow.settings import resolve_repo_path

    if "://" in uri:
        return uri
    path = str(resolve_repo_path(uri))
    return path + "/" if uri.endswith("/") and not path.endswith("/") else path


def _current_data(params: Any, cfg: Any) -> tuple[str, str]:
    """(uri, source) of the data to check, first that is set: the ``current_uri`` param (source
    ``given``); the ``prediction_log_uri`` param; Variable ``mlops_monitoring_prediction_log_uri``;
    Variable ``mlops_monitoring_snapshots_uri`` (newest snapshot under it); the config's
    ``monitoring.prediction_log_uri``; the config's ``monitoring.snapshots_uri``. Variables (set
    per deployment) win over the config (the repo's defaults).

    Raises:
        AirflowSkipException: None of them is configured, or the snapshot prefix is empty.
    """
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowSkipException

    from components.common import storage

    if params.get("current_uri"):
        return params["current_uri"], "given"
    candidates = [
        (params.get("prediction_log_uri"), "prediction_log"),
        (Variable.get("mlops_monitoring_prediction_log_uri", default=None), "prediction_log"),
        (Variable.get("mlops_monitoring_snapshots_uri", default=None), "snapshot"),
        (cfg.monitoring.prediction_log_uri, "prediction_log"),
        (cfg.monitoring.snapshots_uri, "snapshot"),
    ]
    uri, source = next(((u, s) for u, s in candidates if u), (None, None))
    if not uri:
        raise AirflowSkipException(
            "nothing to check: set monitoring.prediction_log_uri (served inputs) or monitoring.snapshots_uri "
            "in the config, Variable mlops_monitoring_prediction_log_uri / mlops_monitoring_snapshots_uri, "
            "or the current_uri param"
        )
    if source == "prediction_log":
        return (uri if uri.endswith("/") else uri + "/"), source
    snapshots = [u for u in storage.list_uris(_local(uri)) if u.endswith((".csv", ".parquet"))]
    if not snapshots:
        raise AirflowSkipException(f"no .csv/.parquet snapshot under {uri}")
    return snapshots[-1], "snapshot"


def _window_end(table: Any) -> str:
    """What identifies the checked window: its newest log time (UTC), else a hash of its rows
    (the same snapshot, or the same folder content, is the same window)."""
    import pandas as pd

    from components.drift.data import log_instants

    instants = log_instants(table)
    if instants is not None and instants.notna().any():
        return instants.max().isoformat()
    digest = pd.util.hash_pandas_object(table.astype(str), index=False).sum()
    return f"rows:{len(table)}:{int(digest) & 0xFFFFFFFFFFFFFFFF:016x}"


@dag(
    dag_id="model_monitoring",
    description="Hourly drift check of served inputs (prediction log) or the newest snapshot vs the training "
    "data; alerts and triggers retraining above the threshold.",
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
        "current_uri": Param(
            None, type=["null", "string"],
            description="File or folder to check instead of the prediction log / newest snapshot.",
        ),
        "prediction_log_uri": Param(
            None, type=["null", "string"],
            description="Serving prediction log prefix of the model (default: monitoring.prediction_log_uri).",
        ),
    },
)
def model_monitoring() -> None:
    @task
    def compute_drift() -> dict[str, Any]:
        """Reads the reference and the current data and scores every configured feature."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        import mlops_airflow  # noqa: F401
        from components.ingest import logic as ingest
        from components.drift import data as drift_data
        from components.drift import logic as drift
        from components.drift.logic import DriftSettings
        from mlops_airflow.pipeline_config import load_pipeline_config
        from mlops_airflow.settings import resolve_repo_path, runs_dir, safe_name
        from mlops_airflow.tracking import last_trained

        ctx = get_current_context()
        params = ctx["params"]
        cfg = load_pipeline_config(params.get("config"))
        reference = params.get("reference_uri") or last_trained(cfg.name).get("data_uri") or cfg.data.uri
        current, source = _current_data(params, cfg)
        # The same scores, metrics and window as the serving monitor and `mlops drift`.
        drift_settings = DriftSettings.from_monitoring(cfg.monitoring)
        try:
            if source == "prediction_log":
                cur_df = drift_data.read_prediction_log(
                    _local(current), window_size=drift_settings.window_size,
                    lookback_days=cfg.monitoring.lookback_days,
                )
            else:
                named = drift_data.has_known_suffix(current) or drift_data.is_folder(_local(current))
                cur_df = ingest.apply_rename(
                    drift_data.read_table(_local(current), None if named else cfg.data.format), cfg.data.rename)
        except drift.NoDataError as exc:
            raise AirflowSkipException(f"nothing to check yet: {exc}") from exc
        except drift.DriftInputError as exc:
            # A malformed file does not mend itself in retry_delay: fail now, the alert names it.
            raise AirflowFailException(f"cannot read {current}: {exc}") from exc
        if source == "given":
            source = "prediction_log" if drift.PREDICTION_COLUMN in cur_df.columns else "snapshot"
        ref_df = ingest.apply_rename(ingest.read_table(_local(reference), cfg.data.format), cfg.data.rename)
        report = drift.compute_drift(
            ref_df, cur_df, {f.name: f.type for f in cfg.features}, drift_settings,
            label=cfg.label, baseline_uri=reference, current_uri=current,
        )
        report_dir = Path(runs_dir()) / "monitoring" / safe_name(cfg.name) / safe_name(ctx["run_id"])
        report_path = resolve_repo_path(report_dir)
        report_path.mkdir(parents=True, exist_ok=True)
        (report_path / "index.html").write_text(drift.render_html(report))
        (report_path / "drift.json").write_text(json.dumps(report.to_dict(), indent=2))
        scored = [f for f in report.features if f.score is not None]
        result = {
            "config": cfg.source_path,
            "dataset": cfg.name,
            "reference_uri": reference,
            "current_uri": current,
            "source": source,
            "window_end": _window_end(cur_df),
            # Served inputs carry no labels: retraining after drift in them uses the config's data
            # (where fresh labelled data lands); a drifted snapshot is itself the new training data.
            "retrain_data_uri": cfg.data.uri if source == "prediction_log" else current,
            "rows": report.current_rows,
            "threshold": drift_settings.threshold,
            "realert_after_hours": cfg.monitoring.realert_after_hours,
            "scores": {f.name: round(f.score, 6) for f in scored},
            "metrics": {f.name: f.metric for f in scored},
            "max_score": report.max_score,
            "drifted_columns": report.drifted_features,
            "drifted": report.drifted,
            "report": str(report_dir / "index.html"),
        }
        log.info("drift of %s vs %s: %s", current, reference, result["scores"])
        return result

    @task.short_circuit
    def alert_if_drifted(result: dict[str, Any]) -> bool:
        """Alerts and lets the retraining trigger run only when drift exceeds the threshold."""
        from components.alerting.message import build_alert
        from mlops_airflow.alerts import send_alert
        from mlops_airflow.tracking import last_drift_alert, record_drift_alert, repeat_alert_reason

        if not result["drifted"]:
            log.info("max drift %.4f <= threshold %.4f: nothing to do", result["max_score"], result["threshold"])
            return False
        now = datetime.now(timezone.utc)
        repeat = repeat_alert_reason(
            last_drift_alert(result["dataset"]), result["window_end"], result["drifted_columns"], now,
            result["realert_after_hours"],
        )
        if repeat:
            log.info("drift %.4f > %.4f, not alerting or retraining again: %s", result["max_score"], result["threshold"], repeat)
            return False
        ctx = get_current_context()
        if result["source"] == "prediction_log":
            reason = (
                f"Retraining (training_pipeline) has been triggered on {result['retrain_data_uri']} (served "
                "inputs carry no labels); it skips if that data has not changed since the last training."
            )
        else:
            reason = f"Retraining (training_pipeline) has been triggered on the drifted data {result['retrain_data_uri']}."
        message = build_alert(
            kind="drift_detected",
            dataset=result["dataset"],
            data_uri=result["current_uri"],
            failures=[
                {
                    "column": col,
                    "check": result["metrics"][col],
                    "observed": f"{result['metrics'][col].upper()} {result['scores'][col]:.3f} > threshold {result['threshold']}",
                }
                for col in result["drifted_columns"]
            ],
            reason=reason,
            run_id=ctx["run_id"],
            facts={"Reference": result["reference_uri"], "Rows compared": result["rows"], "Report": result["report"]},
            links={"Airflow run": getattr(ctx["ti"], "log_url", None)},
        )
        send_alert(message)
        record_drift_alert(result["dataset"], {
            "window_end": result["window_end"], "columns": result["drifted_columns"], "at": now.isoformat(),
            "run_id": ctx["run_id"], "current_uri": result["current_uri"],
        })
        return True

    drift = compute_drift()
    retrain = TriggerDagRunOperator(
        task_id="trigger_training",
        trigger_dag_id="training_pipeline",
        conf={
            "config": "{{ ti.xcom_pull(task_ids='compute_drift')['config'] }}",
            "data_uri": "{{ ti.xcom_pull(task_ids='compute_drift')['retrain_data_uri'] }}",
            # Retraining on data the serving model was already trained on cannot fix drift.
            "only_if_new_data": True,
        },
        trigger_run_id="drift__{{ run_id }}",
        wait_for_completion=False,
    )
    alert_if_drifted(drift) >> retrain


model_monitoring()
