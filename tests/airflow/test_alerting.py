"""One message builder, several channels that only deliver it (webhook, e-mail)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from components.alerting.channels import DeliveryError, post_webhook, send_email
from components.alerting.message import build_alert

GE_FAILURES = [
    # Shape of components.ge_validation CheckFailure.to_dict()
    {
        "column": "island",
        "check": "expect_column_values_to_be_in_set",
        "source": "great_expectations",
        "detail": "2 unexpected value(s) (0.6%)",
        "examples": ["Atlantis"],
    },
    {
        "column": "bill_length_mm",
        "check": "expect_column_values_to_be_in_type_list",
        "source": "great_expectations",
        "detail": "1 unexpected value(s)",
        "examples": ["forty-two"],
    },
]


def test_build_alert_names_columns_examples_and_links():
    msg = build_alert(
        kind="data_validation_failed",
        dataset="penguins",
        failures=GE_FAILURES,
        data_uri="s3://bucket/penguins.csv",
        links={"Data Docs": "file:///tmp/docs/index.html", "Airflow run": "http://127.0.0.1:8080/x", "empty": None},
    )
    assert msg.failing_columns == ["bill_length_mm", "island"]  # sorted, stable
    text = msg.text()
    assert "Data validation failed for penguins" in msg.title
    assert "NOT submitted" in text
    assert "`island`" in text and "'Atlantis'" in text
    assert "`bill_length_mm`" in text and "'forty-two'" in text
    assert "file:///tmp/docs/index.html" in text and "empty" not in text
    payload = msg.to_webhook_payload()
    assert payload["blocks"][0]["type"] == "header"
    assert "Atlantis" in json.dumps(payload["blocks"])
    subject, body = msg.to_email()
    assert subject.startswith("[mlops][error]") and body == text


def test_build_alert_accepts_objects_and_run_json_gate_failures():
    failure_obj = SimpleNamespace(column="sex", expectation="expect_column_values_to_not_be_null", observed="3 nulls", examples=[None])
    run_json_failure = {"column": "body_mass_g", "check": "out_of_range", "source": "tfdv", "examples": [99999]}
    msg = build_alert(kind="data_gate_failed", dataset="penguins", failures=[failure_obj, run_json_failure])
    assert msg.failing_columns == ["body_mass_g", "sex"]
    assert "[tfdv]" in msg.text() and "3 nulls" in msg.text()


def test_examples_are_truncated_and_unknown_kind_is_generic():
    msg = build_alert(kind="nope", dataset="d", failures=[{"column": "c", "check": "x", "examples": list(range(20))}], max_examples=3)
    assert msg.kind == "task_failed"
    assert msg.checks[0].examples == (0, 1, 2)


def test_webhook_channel_delivers_the_built_message(webhook):
    import os

    url = json.loads(os.environ["AIRFLOW_CONN_MLOPS_ALERT_WEBHOOK"])["host"]
    msg = build_alert(kind="pipeline_failed", dataset="penguins", reason="Trainer ran out of memory.")
    assert post_webhook(url, msg) == 200
    assert webhook[0]["json"] == msg.to_webhook_payload()


def test_webhook_channel_error_is_a_delivery_error():
    from support import free_port

    msg = build_alert(kind="pipeline_failed", dataset="penguins")
    with pytest.raises(DeliveryError):
        post_webhook(f"http://127.0.0.1:{free_port()}/nothing-listens", msg, timeout=2)


def test_email_channel_delivers_the_built_message(smtp_sink):
    msg = build_alert(kind="data_validation_failed", dataset="penguins", failures=GE_FAILURES)
    send_email(msg, to=["a@example.test"], sender="airflow@example.test", host="127.0.0.1", port=_smtp_port())
    assert len(smtp_sink) == 1
    mail = smtp_sink[0]["message"]
    assert str(mail["Subject"]).strip() == msg.to_email()[0]
    assert "Atlantis" in mail.get_content()


def _smtp_port() -> int:
    import os

    return int(json.loads(os.environ["AIRFLOW_CONN_SMTP_DEFAULT"])["port"])


def test_notifiers_read_connections_and_variables(airflow_db, webhook, smtp_sink):
    """The notifiers take URL/SMTP/recipients from AIRFLOW_CONN_*/AIRFLOW_VAR_* only."""
    from lib.alerts import AlertingFailure, EmailAlertNotifier, WebhookAlertNotifier, alert_from_context

    exc = AlertingFailure("bad data", {"kind": "data_validation_failed", "dataset": "penguins", "failures": GE_FAILURES})
    ti = SimpleNamespace(task_id="validate_data", dag_id="training_pipeline", log_url="http://127.0.0.1:8080/log")
    context = {"exception": exc, "ti": ti, "run_id": "manual__1", "params": {}}
    WebhookAlertNotifier().notify(context)
    EmailAlertNotifier().notify(context)
    expected = alert_from_context(context)
    assert webhook[0]["json"] == expected.to_webhook_payload()
    assert ("Airflow task", "http://127.0.0.1:8080/log") in expected.links
    assert sorted(smtp_sink[0]["to"]) == ["ml-team@example.test", "oncall@example.test"]


def test_generic_task_failure_alert():
    from lib.alerts import alert_from_context

    ti = SimpleNamespace(task_id="submit_pipeline", dag_id="training_pipeline", log_url=None)
    msg = alert_from_context({"exception": RuntimeError("boom"), "ti": ti, "params": {"config": "pipelines/configs/penguins.yaml"}})
    assert msg.kind == "task_failed" and msg.dataset == "penguins" and "boom" in msg.summary


def test_unconfigured_channels_are_skipped(airflow_db, monkeypatch):
    from lib.alerts import EmailAlertNotifier, WebhookAlertNotifier, send_alert

    monkeypatch.delenv("AIRFLOW_CONN_MLOPS_ALERT_WEBHOOK", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_MLOPS_ALERT_EMAILS", raising=False)
    msg = build_alert(kind="drift_detected", dataset="penguins")
    assert WebhookAlertNotifier().deliver(msg) is False
    assert EmailAlertNotifier().deliver(msg) is False
    assert send_alert(msg) == []


@pytest.mark.parametrize(
    "conn, url",
    [
        ({"conn_type": "http", "host": "https://hooks.example.test/services/A/B/C"}, "https://hooks.example.test/services/A/B/C"),
        ({"conn_type": "https", "host": "hooks.example.test", "schema": "services/A/B/C"}, "https://hooks.example.test/services/A/B/C"),
        ({"conn_type": "http", "host": "127.0.0.1", "port": 9, "schema": "hook"}, "http://127.0.0.1:9/hook"),
        ({"conn_type": "generic", "extra": {"webhook_url": "https://x.test/h"}}, "https://x.test/h"),
        ({"conn_type": "generic", "host": "no-scheme"}, None),
    ],
)
def test_webhook_url_forms(conn, url):
    from lib.connections import url_from_connection

    c = SimpleNamespace(
        conn_type=conn.get("conn_type"),
        host=conn.get("host"),
        port=conn.get("port"),
        schema=conn.get("schema"),
        extra_dejson=conn.get("extra", {}),
    )
    assert url_from_connection(c, extra_key="webhook_url") == url


def test_parse_recipients():
    from lib.alerts import parse_recipients

    assert parse_recipients("a@x, b@x;c@x") == ["a@x", "b@x", "c@x"]
    assert parse_recipients('["a@x", "b@x"]') == ["a@x", "b@x"]
    assert parse_recipients(None) == []


def test_a_drift_hold_is_not_called_a_data_gate_failure():
    """run.json gate failures from the pipeline's DriftCheck (fail_on_drift) get their own alert."""
    from lib.runners import RunOutcome, outcome_alert

    held = RunOutcome(runner="local", status="gate_failed", reason="The drift check held the run before training: ...",
                      gate_failures=[{"column": "island", "check": "drift (JS)", "source": "drift_check",
                                      "observed": "JS 0.412 > threshold 0.2 vs the serving model's training data"}])
    msg = build_alert(**outcome_alert(held, "penguins", "runs/new.csv"))
    assert msg.kind == "drift_hold" and "held by its drift check" in msg.title
    assert "drifted from the serving model's training data (columns: island)" in msg.summary
    gate = RunOutcome(runner="local", status="gate_failed", gate_failures=[{"column": "island", "check": "in_set"}])
    assert outcome_alert(gate, "penguins", None)["kind"] == "data_gate_failed"
