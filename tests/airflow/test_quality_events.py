"""model_quality_events (issue 25): the asset's Kafka watcher on a real broker (Tansu), then the
DAG through dag.test(): alert first, re-alert suppression, the training_pipeline trigger.

dag.test() does not run a triggerer, so the hop "trigger event -> asset event -> DAG run" is
Airflow's own; the test runs the DAG's real watcher trigger against the broker and hands the
event it fires to dag.test() the way a manual run would (conf ``result``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from support import run_dag, xcom
from tests.kafka_broker import running_broker

TOPIC = "mlops.monitoring-results"


def _result(window_id: str, verdict: str, accuracy: float = 0.8, drifted: tuple[str, ...] = ("body_mass_g",)) -> dict[str, Any]:
    breaches = []
    if verdict == "breach":
        breaches = [{"kind": "quality", "metric": "accuracy", "value": accuracy, "threshold": 0.9,
                     "rule": "accuracy < min_accuracy 0.9"}]
        if drifted:
            breaches.append({"kind": "drift", "features": list(drifted), "max_score": 1.2, "threshold": 0.2,
                             "rule": "a feature drifts iff score > drift_threshold"})
    return {"schema": "mlops.monitoring_result", "schema_version": 1, "window_id": window_id, "model": "penguins",
            "config": "pipelines/configs/penguins.yaml",
            "window": {"id": window_id, "kind": "count", "predictions": 2000, "labelled": 2000},
            "metrics": {"labelled": 2000, "accuracy": accuracy, "precision": 0.8, "recall": 0.8,
                        "per_class": {"Adelie": {"precision": 0.8, "recall": 0.8, "support": 900}}},
            "slices": {}, "drift": {"drifted": bool(drifted), "drifted_features": list(drifted), "threshold": 0.2,
                                    "scores": {}},
            "latency_ms": {"count": 2000, "p50": 4.0, "p90": 6.0, "p99": 9.0, "max": 12.0},
            "verdict": verdict, "breaches": breaches, "reports": {"html": "/tmp/w/index.html"},
            "created_at": "2026-12-07T15:00:00+00:00"}


@pytest.fixture()
def fresh_quality_alert_state():
    from airflow.models.variable import Variable

    from mlops_airflow.tracking import variable_key

    key = variable_key("penguins", "last_quality_alert")
    Variable.delete(key)
    yield
    Variable.delete(key)


def _watcher_trigger(dagbag):
    """The DAG's asset (by the name it is scheduled on) and its watcher's trigger, as the DAG file builds them."""
    import model_quality_events

    dag = dagbag.dags["model_quality_events"]
    asset = model_quality_events.MONITORING_RESULTS
    assert [a.name for a in dag.timetable.asset_condition.objects] == [asset.name]
    [watcher] = asset.watchers
    return asset, watcher.trigger


async def _first_event(trigger, timeout: float) -> Any:
    """Runs the trigger the triggerer would run (common-messaging's wrapper resolves to the Kafka
    provider's AwaitMessageTrigger) until its first event, then closes its consumer."""
    inner = trigger.trigger

    async def first():
        async for event in inner.run():
            return event.payload

    try:
        return await asyncio.wait_for(first(), timeout)
    finally:
        await inner.cleanup()


def test_watcher_fires_on_the_first_breaching_window_only(dagbag, tmp_path, monkeypatch):
    from confluent_kafka import Producer

    asset, trigger = _watcher_trigger(dagbag)
    assert asset.name == "mlops_monitoring_results"
    classpath, kwargs = trigger.serialize()  # what the triggerer stores and runs
    assert classpath.endswith("kafka.triggers.await_message.AwaitMessageTrigger")
    assert kwargs["topics"] == [TOPIC] and kwargs["kafka_config_id"] == "mlops_kafka"
    with running_broker(tmp_path, [TOPIC]) as broker:
        monkeypatch.setenv("AIRFLOW_CONN_MLOPS_KAFKA", json.dumps({"conn_type": "kafka", "extra": {
            "bootstrap.servers": broker.bootstrap, "group.id": "airflow-quality-watcher",
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000}}))
        p = Producer({"bootstrap.servers": broker.bootstrap})
        for value in (json.dumps(_result("penguins-p0-o0", "ok")).encode(), b"not json",
                      json.dumps({"schema": "something.else"}).encode(),
                      json.dumps(_result("penguins-p0-o2000", "breach")).encode()):
            p.produce(TOPIC, value=value)
        assert p.flush(30) == 0
        payload = asyncio.run(_first_event(trigger, 120))
    assert payload["window_id"] == "penguins-p0-o2000" and payload["verdict"] == "breach"
    assert "per_class" not in payload["metrics"] and payload["metrics"]["accuracy"] == 0.8  # compact


def test_breach_alerts_first_then_triggers_training_once_per_window(dagbag, webhook, fresh_quality_alert_state):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from mlops_airflow.quality_events import compact

    result = compact(_result("penguins-p0-o0", "breach"))
    dr, states = run_dag(dagbag.dags["model_quality_events"], {"result": result})
    assert states == {"read_result": "success", "alert_on_breach": "success", "trigger_training": "success"}
    (alert,) = webhook
    text = alert["json"]["text"]
    assert "Served penguins model broke a monitoring threshold" in text
    assert "accuracy" in text and "body_mass_g" in text and "penguins-p0-o0" in text
    with create_session() as session:
        triggered = session.query(DagRun).filter(DagRun.dag_id == "training_pipeline",
                                                 DagRun.run_id == f"quality__{dr.run_id}").one()
        assert triggered.conf == {"config": "pipelines/configs/penguins.yaml",
                                  "data_uri": xcom(dr, "read_result")["data_uri"], "only_if_new_data": True}
        session.delete(triggered)

    # the same window again (a re-sent result event): no second alert, no second training
    dr, states = run_dag(dagbag.dags["model_quality_events"], {"result": result})
    assert states["alert_on_breach"] == "success" and states["trigger_training"] == "skipped"
    assert len(webhook) == 1
    # the next window breaking the same thresholds within realert_after_hours: suppressed too
    dr, states = run_dag(dagbag.dags["model_quality_events"], {"result": compact(_result("penguins-p0-o2000", "breach"))})
    assert states["trigger_training"] == "skipped" and len(webhook) == 1
    # a newly broken threshold alerts at once
    dr, states = run_dag(dagbag.dags["model_quality_events"],
                         {"result": compact(_result("penguins-p0-o4000", "breach", drifted=("flipper_length_mm",)))})
    assert states["trigger_training"] == "success" and len(webhook) == 2
    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == "training_pipeline", DagRun.run_id.like("quality__%")).delete(
            synchronize_session=False)


def test_a_run_without_a_result_fails_with_a_reason(dagbag, webhook, fresh_quality_alert_state):
    dr, states = run_dag(dagbag.dags["model_quality_events"], {"result": None})
    assert states["read_result"] == "failed" and states["trigger_training"] == "upstream_failed"
