"""Airflow notifiers that deliver :func:`components.alerting.message.build_alert` messages.

Delivery goes through the Airflow providers: Slack through ``SlackWebhookNotifier`` /
``SlackWebhookHook`` (apache-airflow-providers-slack), e-mail through ``SmtpNotifier`` /
``SmtpHook`` (apache-airflow-providers-smtp, installed with Airflow). The content is always
``build_alert``'s; the provider notifiers are called with it directly (``notify``), never
through their Jinja templating, because alert text carries data values (a CSV cell such as
``{{ conn.smtp_default.password }}`` must stay text).

Configuration comes only from Airflow connections and variables (so from env
``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``, a secrets backend, or the UI), never from code:

=============================  ====================================================================
``slack_webhook_default`` conn Slack incoming webhook, the Slack provider's ``slackwebhook`` type:
                               the whole webhook URL in ``password`` (masked in logs), or the
                               token ``T.../B.../...`` in ``password`` with ``host``
                               ``https://hooks.slack.com/services`` (the default). Extras:
                               ``timeout``, ``proxy``. A URL in ``host`` or ``extra.webhook_url``
                               is accepted too. The older ``mlops_alert_webhook`` connection is
                               still read when ``slack_webhook_default`` does not exist.
``smtp_default`` conn          SMTP server (``host``, ``port``, ``login``, ``password``; extras of
                               the smtp provider: ``from_email``, ``timeout``, ``retry_limit``,
                               ``ssl_context``, ``disable_ssl``, ``disable_tls``). The **port**
                               decides TLS: 465 implicit TLS, 25/587 STARTTLS when offered, never
                               SSL on 25/587 (``components.alerting.channels.smtp_transport``).
``mlops_alert_emails`` var     Recipients: comma-separated or a JSON list.
=============================  ====================================================================

A channel that is not configured is skipped with a log line; a delivery error is logged by
:class:`BaseNotifier` and never masks the task's own failure.

A task that wants a specific alert raises :class:`AlertingFailure` carrying the keyword
arguments of ``build_alert``; any other exception gives a generic ``task_failed`` alert.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import PurePosixPath
from types import SimpleNamespace
from typing import Any, Mapping

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowFailException

import mlops_airflow  # noqa: F401  (makes `components` importable)
from components.alerting.channels import (
    STARTTLS_OFF,
    STARTTLS_REQUIRED,
    DeliveryError,
    SmtpTransport,
    smtp_transport,
)
from components.alerting.message import AlertMessage, build_alert
from mlops_airflow.connections import get_connection_or_none, url_from_connection

log = logging.getLogger(__name__)

SLACK_CONN_ID = "slack_webhook_default"
LEGACY_WEBHOOK_CONN_ID = "mlops_alert_webhook"
WEBHOOK_CONN_ID = SLACK_CONN_ID
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
    """Posts the alert to a Slack incoming webhook through the Slack provider's notifier."""

    template_fields = ("conn_id",)

    def __init__(self, conn_id: str = SLACK_CONN_ID):
        super().__init__()
        self.conn_id = conn_id

    def configured_conn_id(self) -> str | None:
        """The connection to post through: ``conn_id``, else (for the default) the legacy one."""
        candidates = [self.conn_id]
        if self.conn_id == SLACK_CONN_ID:
            candidates.append(LEGACY_WEBHOOK_CONN_ID)
        for conn_id in candidates:
            if get_connection_or_none(conn_id) is not None:
                if conn_id == LEGACY_WEBHOOK_CONN_ID:
                    log.warning("alert webhook: using the older connection %r; rename it to %r", conn_id, SLACK_CONN_ID)
                return conn_id
        return None

    def deliver(self, message: AlertMessage) -> bool:
        conn_id = self.configured_conn_id()
        if conn_id is None:
            log.warning("alert webhook: connection %r not configured; skipped", self.conn_id)
            return False
        payload = message.to_webhook_payload()
        notifier = slack_notifier_class()(slack_webhook_conn_id=conn_id, text=payload["text"], blocks=payload["blocks"])
        try:
            notifier.notify({})  # not notifier(context): no Jinja over the alert's text
        except Exception as exc:
            detail = _redact(f"{type(exc).__name__}: {exc}", _webhook_url_or_none(notifier))
            # `from None`: a chained slack_sdk error can quote the webhook URL, which is the secret.
            raise DeliveryError(f"Slack webhook (connection {conn_id!r}) failed: {detail}") from None
        log.info("alert webhook: delivered %r via connection %r", message.title, conn_id)
        return True

    def notify(self, context: Any) -> None:
        self.deliver(alert_from_context(context))


class EmailAlertNotifier(BaseNotifier):
    """E-mails the alert via the SMTP connection to the addresses in a variable (smtp provider)."""

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
        transport = smtp_transport(conn.port, extra)
        subject, html = message.to_email_html()
        notifier = AlertSmtpNotifier(
            to=to,
            from_email=str(extra.get("from_email") or conn.login or "airflow@localhost"),
            subject=subject,
            html_content=html,
            smtp_conn_id=self.conn_id,
        )
        try:
            notifier.notify({})  # not notifier(context): no Jinja over the alert's text
        except DeliveryError:
            raise
        except Exception as exc:
            raise DeliveryError(
                f"e-mail via {conn.host}:{transport.port} ({transport.describe()}) failed: {type(exc).__name__}: {exc}"
            ) from exc
        log.info("alert e-mail: delivered %r to %d recipient(s) (%s)", message.title, len(to), transport.describe())
        return True

    def notify(self, context: Any) -> None:
        self.deliver(alert_from_context(context))


class AlertSmtpHook(SmtpHook):
    """``SmtpHook`` whose TLS follows the port (:func:`components.alerting.channels.smtp_transport`).

    The provider's own rule reads only ``disable_ssl``/``disable_tls``, both false by default,
    so a connection with default extras on port 25 or 587 opens an SSL socket to a server that
    speaks plain SMTP first, and always demands STARTTLS. Here: 465 -> implicit TLS; 25/587
    (and other ports) -> STARTTLS when the server offers it (checked after EHLO), else plain;
    a login is never sent in clear text unless ``disable_tls`` is true. Certificates are
    verified as by the provider (``ssl_context`` extra, default: the system's CAs).

    ``SmtpHook.get_conn`` calls ``_build_client`` and then reads ``smtp_starttls`` to decide
    whether to STARTTLS; this class answers that from what the server offered.
    """

    _starttls_next = False

    @property
    def transport(self) -> SmtpTransport:
        return smtp_transport(self.conn.port, self.conn.extra_dejson)

    @property
    def use_ssl(self) -> bool:
        return self.transport.implicit_tls

    @property
    def smtp_starttls(self) -> bool:
        return self._starttls_next

    def _build_client(self):
        t = self.transport
        if t.note:
            self.log.warning("SMTP connection %r: %s", self.smtp_conn_id, t.note)
        client = super()._build_client()
        self._starttls_next = False
        if t.starttls == STARTTLS_OFF:
            if not t.implicit_tls and self.smtp_user:
                self.log.warning("SMTP %s:%s: logging in without TLS (disable_tls is true)", self.host, t.port)
            return client
        client.ehlo()
        if client.has_extn("starttls") or t.starttls == STARTTLS_REQUIRED:
            self._starttls_next = True  # get_conn() now runs starttls() (fails if not offered) and EHLO
        elif self.smtp_user and self.smtp_password:
            client.close()
            raise DeliveryError(
                f"e-mail via {self.host}:{t.port}: the server does not offer STARTTLS; not sending the login "
                "in clear text (set the connection extra disable_tls to true to allow it)"
            )
        else:
            self.log.info("SMTP %s:%s does not offer STARTTLS: sending without TLS", self.host, t.port)
        return client

    async def aget_conn(self) -> SmtpHook:
        raise NotImplementedError("AlertSmtpHook connects synchronously (get_conn); the port rule is not wired for aiosmtplib")


class AlertSmtpNotifier(SmtpNotifier):
    """``SmtpNotifier`` over :class:`AlertSmtpHook`; nothing in it is a Jinja template."""

    template_fields = ()

    @functools.cached_property
    def hook(self) -> SmtpHook:
        return AlertSmtpHook(smtp_conn_id=self.smtp_conn_id, auth_type=self.auth_type)


@functools.cache
def slack_notifier_class() -> type:
    """``SlackWebhookNotifier`` over a hook that also reads a webhook URL from ``host``/``extra``.

    Imported on first use: the Slack provider (slack_sdk, aiohttp) is not needed to parse DAGs.
    """
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
    from airflow.sdk.log import mask_secret

    class AlertSlackWebhookHook(SlackWebhookHook):
        """The provider's hook; a connection without ``password`` may carry the URL elsewhere."""

        def _build_conn_params(self, conn: Any) -> dict[str, Any]:
            if not (conn.password or "").strip():
                url = url_from_connection(conn, extra_key="webhook_url")
                if url:
                    mask_secret(url)  # the provider logs the URL on retries; a password is masked already
                    conn = SimpleNamespace(
                        conn_id=conn.conn_id, password=url, host=None, schema=None, extra_dejson=conn.extra_dejson
                    )
            return super()._build_conn_params(conn)

    class AlertSlackWebhookNotifier(SlackWebhookNotifier):
        """``SlackWebhookNotifier`` over ``AlertSlackWebhookHook``; nothing in it is a template."""

        template_fields = ()

        @functools.cached_property
        def hook(self) -> SlackWebhookHook:
            return AlertSlackWebhookHook(
                slack_webhook_conn_id=self.slack_webhook_conn_id,
                proxy=self.proxy,
                timeout=self.timeout,
                retry_handlers=self.retry_handlers,
            )

    return AlertSlackWebhookNotifier


def _webhook_url_or_none(notifier: Any) -> str | None:
    try:
        return notifier.hook.client.url
    except Exception:
        return None


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


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

