"""One message builder, two channels that only deliver it: Slack (the Slack provider's
SlackWebhookNotifier) and e-mail (the smtp provider's SmtpNotifier), against a webhook receiver
and SMTP sinks on 127.0.0.1."""

from __future__ import annotations

import html
import json
import os
from types import SimpleNamespace

import pytest

from components.alerting.channels import DeliveryError, smtp_transport
from components.alerting.message import build_alert, escape_mrkdwn

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


def test_webhook_channel_delivers_the_built_message(airflow_db, webhook):
    from mlops_airflow.alerts import WebhookAlertNotifier

    msg = build_alert(kind="pipeline_failed", dataset="penguins", reason="Trainer ran out of memory.")
    assert WebhookAlertNotifier().deliver(msg) is True
    assert webhook[0]["path"] == "/services/T000/B000/XXXX"
    assert webhook[0]["json"] == msg.to_webhook_payload()


def test_webhook_channel_error_is_a_delivery_error(airflow_db, monkeypatch):
    from support import free_port

    from mlops_airflow.alerts import WebhookAlertNotifier

    url = f"http://127.0.0.1:{free_port()}/services/T/B/secret-token"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT", json.dumps({"conn_type": "slackwebhook", "password": url}))
    msg = build_alert(kind="pipeline_failed", dataset="penguins")
    with pytest.raises(DeliveryError) as err:
        WebhookAlertNotifier().deliver(msg)
    assert "slack_webhook_default" in str(err.value) and "secret-token" not in str(err.value)


@pytest.mark.parametrize(
    "conn",
    [
        {"conn_type": "slackwebhook", "host": "http://127.0.0.1:{port}/services", "password": "T000/B000/XXXX"},
        {"conn_type": "slackwebhook", "host": "http://127.0.0.1:{port}/services/T000/B000/XXXX"},
    ],
    ids=["host-plus-token", "url-in-host"],
)
def test_webhook_connection_forms(airflow_db, webhook, monkeypatch, conn):
    from mlops_airflow.alerts import WebhookAlertNotifier

    port = json.loads(os.environ["AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT"])["password"].split(":")[2].split("/")[0]
    conn = {k: v.format(port=port) for k, v in conn.items()}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT", json.dumps(conn))
    assert WebhookAlertNotifier().deliver(build_alert(kind="pipeline_failed", dataset="penguins")) is True
    assert webhook[0]["path"] == "/services/T000/B000/XXXX"


def test_the_older_webhook_connection_is_still_read(airflow_db, webhook, monkeypatch):
    """mlops_alert_webhook (an http connection with the URL in host) is used when
    slack_webhook_default does not exist."""
    from mlops_airflow.alerts import WebhookAlertNotifier

    url = json.loads(os.environ["AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT"])["password"]
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_MLOPS_ALERT_WEBHOOK", json.dumps({"conn_type": "http", "host": url}))
    notifier = WebhookAlertNotifier()
    assert notifier.configured_conn_id() == "mlops_alert_webhook"
    assert notifier.deliver(build_alert(kind="pipeline_failed", dataset="penguins")) is True
    assert len(webhook) == 1


def test_slack_control_characters_in_values_are_escaped(airflow_db, webhook):
    """Bug: column names, example values and reasons went into mrkdwn raw, so `<!channel>`
    pinged the channel, `<http://x|y>` became a link and `a&b` could start an entity."""
    from mlops_airflow.alerts import WebhookAlertNotifier

    msg = build_alert(
        kind="data_validation_failed",
        dataset="penguins",
        failures=[{"column": "<script>", "check": "expect_column_values_to_be_in_set",
                   "detail": "1 unexpected value(s) > 0", "examples": ["a&b", "<!channel>", "<http://evil.test|click>"]}],
        reason="upstream said: <@U123> & <!here>",
        facts={"Note": "x < y & y > z"},
        links={"Data Docs": "http://127.0.0.1:8080/docs?a=1&b=2"},
    )
    payload = msg.to_webhook_payload()
    mrkdwn = [payload["text"]] + [
        t["text"]
        for b in payload["blocks"]
        for t in ([b["text"]] if "text" in b else []) + b.get("fields", []) + b.get("elements", [])
        if t["type"] == "mrkdwn"
    ]
    for text in mrkdwn:
        for raw in ("<script>", "<!channel>", "<!here>", "<@U123>", "<http://evil.test|click>", "a&b", "& <!"):
            assert raw not in text, (raw, text)
    section = payload["blocks"][2]["text"]["text"]
    assert "`&lt;script&gt;`" in section and "'a&amp;b'" in section and "'&lt;!channel&gt;'" in section
    # Unescaped by Slack's rules, the section is exactly the plain-text line: shown literally.
    assert html.unescape(section) == f"• {msg.checks[0].line()}"
    assert html.unescape(payload["text"]) == f":red_circle: {msg.text()}".strip()
    # Our own link stays a link, with its & escaped as Slack asks.
    assert payload["blocks"][-1]["elements"][0]["text"] == "<http://127.0.0.1:8080/docs?a=1&amp;b=2|Data Docs>"
    assert escape_mrkdwn("a&b <c>") == "a&amp;b &lt;c&gt;"

    assert WebhookAlertNotifier().deliver(msg) is True
    assert webhook[0]["json"] == payload


def test_alert_text_is_never_rendered_as_a_template(airflow_db, webhook, smtp_sink):
    """A data value that looks like Jinja stays text through the full callback path."""
    from mlops_airflow.alerts import AlertingFailure, EmailAlertNotifier, WebhookAlertNotifier

    exc = AlertingFailure("bad data", {"kind": "data_validation_failed", "dataset": "penguins",
                                       "failures": [{"column": "island", "check": "in_set", "examples": ["{{ 7 * 7 }}"]}]})
    ti = SimpleNamespace(task_id="validate_data", dag_id="training_pipeline", log_url=None)
    context = {"exception": exc, "ti": ti, "run_id": "manual__1", "params": {}}
    WebhookAlertNotifier()(context)  # BaseNotifier.__call__: renders template_fields, then notify()
    EmailAlertNotifier()(context)
    assert "{{ 7 * 7 }}" in webhook[0]["json"]["text"] and "49" not in webhook[0]["json"]["text"]
    assert "{{ 7 * 7 }}" in _html_body(smtp_sink[0]["message"])


def test_email_channel_delivers_the_built_message(airflow_db, smtp_sink):
    from mlops_airflow.alerts import EmailAlertNotifier

    failures = GE_FAILURES + [{"column": "<b>col</b>", "check": "x", "examples": ["a&b"]}]
    msg = build_alert(kind="data_validation_failed", dataset="penguins", failures=failures)
    assert EmailAlertNotifier().deliver(msg) is True
    assert len(smtp_sink) == 1
    mail = smtp_sink[0]["message"]
    assert str(mail["Subject"]).strip() == msg.to_email()[0]
    assert smtp_sink[0]["from"] == "<airflow@example.test>"
    body = _html_body(mail)
    assert "Atlantis" in body and "'forty-two'" in body
    assert "<b>col</b>" not in body and "&lt;b&gt;col&lt;/b&gt;" in body and "a&amp;b" in body
    assert smtp_sink[0]["tls"] == "none"  # the plain sink offers no STARTTLS: sent without TLS


def _html_body(mail) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize(
    "port, sink_mode, extra, login, tls",
    [
        (25, "starttls", {}, False, "starttls"),
        (25, "plain", {}, False, "none"),
        (25, "starttls", {"disable_ssl": False}, False, "starttls"),
        (587, "starttls", {}, True, "starttls"),
        (465, "implicit_tls", {}, True, "implicit"),
        (25, "starttls", {"disable_tls": True}, False, "none"),
    ],
    ids=["25-starttls-offered", "25-plain", "25-explicit-disable_ssl-false", "587-starttls-login", "465-implicit-tls", "25-disable_tls"],
)
def test_the_port_decides_smtp_tls(airflow_db, smtp_server, smtp_port_alias, monkeypatch, port, sink_mode, extra, login, tls):
    """Bug: with the smtp provider's default extras (disable_ssl/disable_tls false) the e-mail
    channel opened an SSL socket on port 25, where servers speak plain SMTP first. Now 465 is
    implicit TLS and 25/587 use STARTTLS when the server offers it, else plain. The certificate
    is verified (the sink's CA is trusted through SSL_CERT_FILE)."""
    from mlops_airflow.alerts import EmailAlertNotifier

    sink = smtp_server(sink_mode, auth=login)
    smtp_port_alias(port, sink.port)
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {"from_email": "airflow@example.test", **extra}}
    if login:
        conn.update(login="mlops", password="s3cret")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_ALERT_EMAILS", "ml-team@example.test")
    msg = build_alert(kind="pipeline_failed", dataset="penguins", reason="Trainer ran out of memory.")
    assert EmailAlertNotifier().deliver(msg) is True, sink.errors
    assert len(sink.received) == 1 and sink.received[0]["tls"] == tls
    assert sink.received[0]["to"] == ["ml-team@example.test"]
    if login:
        assert sink.received[0]["login"] == {"user": "mlops", "tls": tls}


@pytest.mark.parametrize(
    "extra, login, expected",
    [
        ({}, True, "does not offer STARTTLS; not sending the login in clear text"),
        ({"disable_tls": False}, False, "STARTTLS extension not supported by server"),
    ],
    ids=["login-without-starttls-refused", "starttls-required-but-not-offered"],
)
def test_smtp_without_starttls_where_it_is_needed_is_a_delivery_error(
    airflow_db, smtp_server, smtp_port_alias, monkeypatch, extra, login, expected
):
    from mlops_airflow.alerts import EmailAlertNotifier

    sink = smtp_server("plain", auth=True)
    smtp_port_alias(587, sink.port)
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": 587, "extra": {"from_email": "a@example.test", **extra}}
    if login:
        conn.update(login="mlops", password="s3cret")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_ALERT_EMAILS", "ml-team@example.test")
    with pytest.raises(DeliveryError, match=expected):
        EmailAlertNotifier().deliver(build_alert(kind="pipeline_failed", dataset="penguins"))
    assert sink.received == []


@pytest.mark.parametrize("port, sink_mode", [(465, "implicit_tls"), (587, "starttls")])
def test_smtp_tls_verifies_the_server_certificate(airflow_db, smtp_server, smtp_port_alias, monkeypatch, port, sink_mode):
    """Without its CA trusted, the sink's certificate is refused: TLS is never unverified."""
    from mlops_airflow.alerts import EmailAlertNotifier

    sink = smtp_server(sink_mode)
    monkeypatch.delenv("SSL_CERT_FILE")
    smtp_port_alias(port, sink.port)
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {"from_email": "a@example.test"}}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_ALERT_EMAILS", "ml-team@example.test")
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        EmailAlertNotifier().deliver(build_alert(kind="pipeline_failed", dataset="penguins"))
    assert sink.received == []


@pytest.mark.parametrize(
    "port, extra, implicit, starttls",
    [
        (25, {}, False, "if_offered"),
        (25, {"disable_ssl": False, "disable_tls": False}, False, "required"),  # the provider's defaults, explicit
        (587, {}, False, "if_offered"),
        (587, {"disable_tls": True}, False, "off"),
        (465, {}, True, "off"),
        (465, {"disable_ssl": "true"}, False, "if_offered"),
        (None, {}, False, "if_offered"),
        (2525, {}, False, "if_offered"),
        (2465, {"disable_ssl": False}, True, "off"),
    ],
)
def test_smtp_transport_rule(port, extra, implicit, starttls):
    t = smtp_transport(port, extra)
    assert (t.implicit_tls, t.starttls) == (implicit, starttls)


def test_notifiers_read_connections_and_variables(airflow_db, webhook, smtp_sink):
    """The notifiers take URL/SMTP/recipients from AIRFLOW_CONN_*/AIRFLOW_VAR_* only."""
    from mlops_airflow.alerts import AlertingFailure, EmailAlertNotifier, WebhookAlertNotifier, alert_from_context

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
    from mlops_airflow.alerts import alert_from_context

    ti = SimpleNamespace(task_id="submit_pipeline", dag_id="training_pipeline", log_url=None)
    msg = alert_from_context({"exception": RuntimeError("boom"), "ti": ti, "params": {"config": "pipelines/configs/penguins.yaml"}})
    assert msg.kind == "task_failed" and msg.dataset == "penguins" and "boom" in msg.summary


def test_unconfigured_channels_are_skipped(airflow_db, monkeypatch):
    from mlops_airflow.alerts import EmailAlertNotifier, WebhookAlertNotifier, send_alert

    for var in ("AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT", "AIRFLOW_CONN_MLOPS_ALERT_WEBHOOK", "AIRFLOW_VAR_MLOPS_ALERT_EMAILS"):
        monkeypatch.delenv(var, raising=False)
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
    from mlops_airflow.connections import url_from_connection

    c = SimpleNamespace(
        conn_type=conn.get("conn_type"),
        host=conn.get("host"),
        port=conn.get("port"),
        schema=conn.get("schema"),
        extra_dejson=conn.get("extra", {}),
    )
    assert url_from_connection(c, extra_key="webhook_url") == url


def test_parse_recipients():
    from mlops_airflow.alerts import parse_recipients

    assert parse_recipients("a@x, b@x;c@x") == ["a@x", "b@x", "c@x"]
    assert parse_recipients('["a@x", "b@x"]') == ["a@x", "b@x"]
    assert parse_recipients(None) == []


def test_a_drift_hold_is_not_called_a_data_gate_failure():
    """run.json gate failures from the pipeline's DriftCheck (fail_on_drift) get their own alert."""
    from mlops_airflow.runners.outcome import RunOutcome, outcome_alert

    held = RunOutcome(runner="local", status="gate_failed", reason="The drift check held the run before training: ...",
                      gate_failures=[{"column": "island", "check": "drift (JS)", "source": "drift_check",
                                      "observed": "JS 0.412 > threshold 0.2 vs the serving model's training data"}])
    msg = build_alert(**outcome_alert(held, "penguins", "runs/new.csv"))
    assert msg.kind == "drift_hold" and "held by its drift check" in msg.title
    assert "drifted from the serving model's training data (columns: island)" in msg.summary
    gate = RunOutcome(runner="local", status="gate_failed", gate_failures=[{"column": "island", "check": "in_set"}])
    assert outcome_alert(gate, "penguins", None)["kind"] == "data_gate_failed"
