"""DAG ``model_quality_events``: retrain when the streaming monitor reports a broken threshold.

Scheduled on the asset ``mlops_monitoring_results``, whose ``AssetWatcher`` waits on the Kafka
topic of monitoring results (``monitoring.stream.results_topic`` of the default config) with
common-messaging's ``MessageQueueTrigger`` (``scheme="kafka"``: the Kafka provider's
``AwaitMessageTrigger``) and the connection ``mlops_kafka`` (librdkafka settings in its
``extra``). Only windows whose verdict is ``breach`` become asset events
(``mlops_airflow.quality_events.breach_or_none``). Then:

1. ``read_result``: the breaching window from the asset event (or, for a manual run, the
   result event given as conf ``result``); the config it names is loaded (a bad key fails here).
2. ``alert_on_breach``: alert first (Slack + e-mail, the same builder and channels as every
   alert), unless it repeats the last one: the same window id never alerts twice, the same broken
   thresholds only after ``monitoring.realert_after_hours`` (Variable
   ``mlops_last_quality_alert_<name>``), as for drift.
3. ``trigger_training``: ``training_pipeline`` on the config, with ``data_uri`` from Variable
   ``mlops_quality_retrain_data_uri`` when set (e.g. a table that now holds the labelled
   traffic), else the config's data, and ``only_if_new_data``: retraining on the data the
   serving model was trained on would push the same model again.

Teams without Kafka keep the hourly, file-based ``model_monitoring`` DAG.
Parse time reads only the default config's results topic (one local YAML file).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, AssetWatcher, Param, dag, get_current_context, task

from mlops_airflow.alerts import default_notifiers
from mlops_airflow.quality_events import KAFKA_CONN_ID, results_topic_of
from mlops_airflow.settings import default_config_path

log = logging.getLogger(__name__)

ASSET_NAME = "mlops_monitoring_results"
MONITORING_RESULTS = Asset(
    name=ASSET_NAME,
    uri="mlops://monitoring/results",
    group="monitoring",
    watchers=[AssetWatcher(
        name="mlops_monitoring_results_watcher",
        trigger=MessageQueueTrigger(
            scheme="kafka",
            topics=[results_topic_of(default_config_path())],
            apply_function="mlops_airflow.quality_events.breach_or_none",
            kafka_config_id=KAFKA_CONN_ID,
            poll_timeout=1,
            poll_interval=1,  # the trigger sleeps this long after every message it passes over
        ),
    )],
)


@dag(
    dag_id="model_quality_events",
    description="Alert and retrain when a streaming-monitor window breaks a quality or drift threshold.",
    schedule=[MONITORING_RESULTS],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0, "on_failure_callback": default_notifiers()},
    params={"result": Param(None, type=["null", "object", "string"],
                            description="A mlops.monitoring_result event (manual runs; asset runs read the event).")},
    tags=["mlops", "monitoring", "kafka"],
)
def model_quality_events() -> None:
    @task
    def read_result() -> dict[str, Any]:
        """The breaching window and the config it names."""
        from mlops_airflow.pipeline_config import load_pipeline_config
        from mlops_airflow.quality_events import result_from_context

        ctx = get_current_context()
        result = result_from_context(ctx, ASSET_NAME, ctx["params"])
        config = result.get("config") or default_config_path()
        cfg = load_pipeline_config(config)
        log.info("window %s of %s: %s", result["window_id"], result.get("model"),
                 "; ".join(b.get("rule", "?") for b in result["breaches"]))
        return {"result": result, "config": config, "dataset": cfg.name, "data_uri": cfg.data.uri,
                "realert_after_hours": cfg.monitoring.realert_after_hours}

    @task.short_circuit
    def alert_on_breach(plan: dict[str, Any]) -> bool:
        """Alerts (unless it repeats the last alert) and lets the retraining trigger run."""
        from airflow.sdk import Variable

        from components.alerting.message import build_alert
        from mlops_airflow.alerts import send_alert
        from mlops_airflow.quality_events import breach_failures, breach_keys
        from mlops_airflow.tracking import last_quality_alert, record_quality_alert, repeat_alert_reason

        result, now = plan["result"], datetime.now(timezone.utc)
        keys = breach_keys(result)
        repeat = repeat_alert_reason(last_quality_alert(plan["dataset"]), result["window_id"], keys, now,
                                     plan["realert_after_hours"])
        if repeat:
            log.info("window %s breaks %s; not alerting or retraining again: %s", result["window_id"], ", ".join(keys), repeat)
            return False
        retrain_uri = Variable.get("mlops_quality_retrain_data_uri", default=None) or plan["data_uri"]
        ctx = get_current_context()
        metrics = result.get("metrics") or {}
        facts = {"Window": result["window_id"], "Predictions": (result.get("window") or {}).get("predictions"),
                 "With ground truth": metrics.get("labelled")}
        facts.update({k.capitalize(): f"{metrics[k]:.4f}" for k in ("accuracy", "precision", "recall", "mae", "rmse")
                      if metrics.get(k) is not None})
        reports = result.get("reports") or {}
        message = build_alert(
            kind="model_quality",
            dataset=plan["dataset"],
            data_uri=retrain_uri,
            failures=breach_failures(result),
            reason=f"The served model broke a monitoring threshold in window {result['window_id']}. Retraining "
                   f"(training_pipeline) has been triggered on {retrain_uri}; it skips if that data has not changed "
                   "since the last training.",
            run_id=ctx["run_id"],
            facts=facts,
            links={"Window report": reports.get("html"), "Airflow run": getattr(ctx["ti"], "log_url", None)},
        )
        send_alert(message)
        record_quality_alert(plan["dataset"], {"window_end": result["window_id"], "columns": keys, "at": now.isoformat(),
                                               "run_id": ctx["run_id"]})
        ctx["ti"].xcom_push(key="retrain_data_uri", value=retrain_uri)
        return True

    plan = read_result()
    retrain = TriggerDagRunOperator(
        task_id="trigger_training",
        trigger_dag_id="training_pipeline",
        conf={
            "config": "{{ ti.xcom_pull(task_ids='read_result')['config'] }}",
            "data_uri": "{{ ti.xcom_pull(task_ids='alert_on_breach', key='retrain_data_uri') }}",
            "only_if_new_data": True,
        },
        trigger_run_id="quality__{{ run_id }}",
        wait_for_completion=False,
    )
    alert_on_breach(plan) >> retrain


model_quality_events()
