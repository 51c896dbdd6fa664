"""Alert delivery: each function sends an already-built :class:`AlertMessage` and nothing else.

Where the webhook URL, SMTP server and recipients come from is the caller's business (the
Airflow notifiers read them from connections/variables); nothing here reads configuration.
Standard library only.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Sequence

from components.alerting.message import AlertMessage


class DeliveryError(RuntimeError):
    """An alert could not be delivered; the message names the channel (never the secret URL)."""


def post_webhook(url: str, message: AlertMessage, timeout: float = 10.0) -> int:
    """POSTs the message as Slack-compatible JSON; returns the HTTP status.

    Raises:
        DeliveryError: Non-2xx answer or connection failure.
    """
    body = json.dumps(message.to_webhook_payload()).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URL is operator-configured)
            return resp.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from exc


def send_email(
    message: AlertMessage,
    *,
    to: Sequence[str],
    sender: str,
    host: str,
    port: int = 25,
    username: str | None = None,
    password: str | None = None,
    starttls: bool = False,
    use_ssl: bool = False,
    timeout: float = 10.0,
) -> None:
    """Sends the message as a plain-text e-mail over SMTP.

    Raises:
        DeliveryError: No recipients, or the SMTP exchange failed.
    """
    if not to:
        raise DeliveryError("e-mail: no recipients")
    subject, body = message.to_email()
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail.set_content(body)
    try:
        if use_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if starttls and not use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password or "")
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"e-mail via {host}:{port} failed: {exc}") from exc
