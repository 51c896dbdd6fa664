"""Airflow notifiers that deliver :func:`components.alerting.message.build_alert` messages.

Configuration comes only from Airflow connections and variables (so from env
``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``, a secrets backend, or the UI), never from code:

=============================  ====================================================================
``mlops_alert_webhook`` conn   Slack-compatible incoming webhook. Either the whole URL in ``host``
                               (JSON form: ``{"conn_type": "http", "host": "https://hooks..."}``),
                               an ``http(s)://`` connection URI, or ``extra.webhook_url``.
``smtp_default`` conn          SMTP server (``host``, ``port``, ``login``, ``password``; extras as
                               in the smtp provider: ``from_email``, ``disable_ssl``,
                               ``disable_tls``, ``timeout``).
``mlops_alert_emails`` var     Recipients: comma-separated or a JSON list.
=============================  ====================================================================

A channel that is not configured is skipped with a log line; a delivery error is logged by
:class:`BaseNotifier` and never masks the task's own failure.

A task that wants a specific alert raises :class:`AlertingFailure` carrying the keyword
arguments of ``build_alert``; any other exception gives a generic ``task_failed`` alert.
"""

from __future__ import annotations

import json
import logging
from pathlib import PurePosixPath
from typing import Any, Mapping

from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowFailException

import lib  # noqa: F401  (makes `components` importable)
from components.alerting.channels import DeliveryError, post_webhook, send_email
from components.alerting.message import AlertMessage, build_alert
from lib.connections import get_connection_or_none, url_from_connection

log = logging.getLogger(__name__)

WEBHOOK_CONN_ID = "mlops_alert_webhook"
SMTP_CONN_ID = "smtp_default"
EMAILS_VARIABLE = "mlops_alert_emails"


class AlertingFailure(AirflowFailException):
    """Fails the task without retries and tells the notifiers what to say.

    Attributes:
        alert: Keyword arguments for ``build_alert`` (``kind``, ``dataset``, ``failures``...).
    """

    def __init__(self, message: str, alert: Mapping[str, Any]):
        super().__init__(message)
        self.alert = dict(alert)


def alert_from_context(context: Mapping[str, Any]) -> AlertMessage:
    """The alert for a failed task: from :class:`AlertingFailure`, else a generic one."""
    exc = context.get("exception")
    ti = context.get("ti") or context.get("task_instance")
    alert: dict[str, Any] = dict(getattr(exc, "alert", None) or {})
    if not alert:
        params = context.get("params") or {}
        config = str(params.get("config") or "")
        alert = {
            "kind": "task_failed",
            "dataset": PurePosixPath(config).stem if config else getattr(ti, "dag_id", "unknown"),
            "reason": f"{getattr(ti, 'task_id', 'task')}: {type(exc).__name__ if exc else 'failed'}: {exc}",
        }
    links = dict(alert.pop("links", None) or {})
    log_url = _safe_attr(ti, "log_url")
    if log_url:
        links.setdefault("Airflow task", log_url)
    alert.setdefault("run_id", context.get("run_id"))
    return build_alert(links=links, **alert)


class WebhookAlertNotifier(BaseNotifier):
    """Posts the alert to a Slack-compatible webhook taken from an Airflow connection."""

    template_fields = ("conn_id",)

    def __init__(self, conn_id: str = WEBHOOK_CONN_ID):
        super().__init__()
        self.conn_id = conn_id

    def webhook_url(self) -> str | None:
        conn = get_connection_or_none(self.conn_id)
        if conn is None:
            return None
        return url_from_connection(conn, extra_key="webhook_url")

    def deliver(self, message: AlertMessage) -> bool:
        url = self.webhook_url()
        if not url:
            log.warning("alert webhook: connection %r not configured; skipped", self.conn_id)
            return False
        status = post_webhook(url, message)
        log.info("alert webhook: delivered %r (HTTP %s)", message.title, status)
        return True

    def notify(self, context: Any) -> None:
        self.deliver(alert_from_context(context))


class EmailAlertNotifier(BaseNotifier):
    """E-mails the alert via the SMTP connection to the addresses in a variable."""

    template_fields = ("conn_id", "recipients_variable")

    def __init__(self, conn_id: str = SMTP_CONN_ID, recipients_variable: str = EMAILS_VARIABLE):
        super().__init__()
        self.conn_id = conn_id
        self.recipients_variable = recipients_variable

    def recipients(self) -> list[str]:
        from airflow.sdk import Variable

        raw = Variable.get(self.recipients_variable, default=None)
        return parse_recipients(raw)

    def deliver(self, message: AlertMessage) -> bool:
        to = self.recipients()
        if not to:
            log.warning("alert e-mail: variable %r empty or unset; skipped", self.recipients_variable)
            return False
        conn = get_connection_or_none(self.conn_id)
        if conn is None or not conn.host:
            log.warning("alert e-mail: connection %r not configured; skipped", self.conn_id)
            return False
        extra = conn.extra_dejson or {}
        send_email(
            message,
            to=to,
            sender=str(extra.get("from_email") or conn.login or "airflow@localhost"),
            host=conn.host,
            port=int(conn.port or 25),
            username=conn.login or None,
            password=conn.password or None,
            use_ssl=not _truthy(extra.get("disable_ssl", False)),
            starttls=not _truthy(extra.get("disable_tls", False)),
            timeout=float(extra.get("timeout", 10)),
        )
        log.info("alert e-mail: delivered %r to %d recipient(s)", message.title, len(to))
        return True

    def notify(self, context: Any) -> None:
        self.deliver(alert_from_context(context))


def default_notifiers() -> list[BaseNotifier]:
    """The channels every DAG alerts through. Constructing them does no I/O."""
    return [WebhookAlertNotifier(), EmailAlertNotifier()]


def send_alert(message: AlertMessage) -> list[str]:
    """Delivers a message outside a failure callback (drift alerts); returns channels used.

    A failing channel is logged and does not stop the others.
    """
    log.warning("ALERT %s", message.text())
    used = []
    for notifier in default_notifiers():
        try:
            if notifier.deliver(message):  # type: ignore[attr-defined]
                used.append(type(notifier).__name__)
        except DeliveryError as exc:
            log.error("alert delivery via %s failed: %s", type(notifier).__name__, exc)
    return used


def parse_recipients(raw: Any) -> list[str]:
    """Comma/semicolon-separated string, JSON list string, or list."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except ValueError:
                raw = text.strip("[]")
        if isinstance(raw, str):
            raw = raw.replace(";", ",").split(",")
    return [str(r).strip() for r in raw if str(r).strip()]


def _safe_attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # a property that needs config/DB (log_url) must never break alerting
        return None


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() in ("1", "true", "yes", "on")
