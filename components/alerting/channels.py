"""What the alert channels share, without Airflow: the error type and the SMTP transport rule.

The delivery itself goes through the Airflow providers' notifiers (``SlackWebhookNotifier``,
``SmtpNotifier``) in ``dags/mlops_airflow/alerts.py``; nothing outside Airflow sends alerts. This module
decides *how* to talk to an SMTP server, so the rule is plain data that can be tested anywhere.
Standard library only.

SMTP: the port decides TLS (:func:`smtp_transport`)
===================================================

============  ==============================================================================
port          transport
============  ==============================================================================
465           implicit TLS (SMTPS, RFC 8314), unless ``disable_ssl`` is set to true
25, 587       never implicit TLS (both ports speak plain SMTP first): STARTTLS when the server
              offers it, else plain; an explicit ``disable_ssl: false`` is ignored here
other         like 587, or implicit TLS if ``disable_ssl`` is explicitly ``false``
============  ==============================================================================

STARTTLS (when there is no implicit TLS): extra ``disable_tls`` absent -> when offered;
``false`` -> required (fail if the server does not offer it); ``true`` -> never. With login
credentials, a server that does not offer STARTTLS is refused unless ``disable_tls`` is
``true``: the password is never sent in clear text because STARTTLS was stripped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

SMTPS_PORT = 465
PLAIN_FIRST_PORTS = (25, 587)

STARTTLS_OFF = "off"
STARTTLS_IF_OFFERED = "if_offered"
STARTTLS_REQUIRED = "required"


class DeliveryError(RuntimeError):
    """An alert could not be delivered; the message names the channel (never the secret URL)."""


@dataclass(frozen=True)
class SmtpTransport:
    """How to connect: ``implicit_tls`` (SSL from the first byte) or a STARTTLS mode."""

    port: int
    implicit_tls: bool
    starttls: str  # STARTTLS_OFF / STARTTLS_IF_OFFERED / STARTTLS_REQUIRED
    note: str = ""  # why an extra was ignored, for the log

    def describe(self) -> str:
        if self.implicit_tls:
            return f"port {self.port}: implicit TLS"
        return f"port {self.port}: STARTTLS {self.starttls.replace('_', ' ')}"


def smtp_transport(port: Any, extra: Mapping[str, Any] | None = None) -> SmtpTransport:
    """The transport for an SMTP connection's port and extras (``disable_ssl``, ``disable_tls``).

    A missing port is 25, as for :class:`smtplib.SMTP`. See the module docstring for the rule.
    """
    extra = extra or {}
    p = int(port) if port not in (None, "") else 25
    disable_ssl = _explicit_bool(extra.get("disable_ssl"))
    disable_tls = _explicit_bool(extra.get("disable_tls"))
    note = ""
    if p == SMTPS_PORT:
        implicit = disable_ssl is not True
    elif p in PLAIN_FIRST_PORTS:
        implicit = False
        if disable_ssl is False:
            note = f"disable_ssl=false ignored: port {p} speaks plain SMTP first (STARTTLS is used when offered)"
    else:
        implicit = disable_ssl is False
    if implicit:
        mode = STARTTLS_OFF
    elif disable_tls is True:
        mode = STARTTLS_OFF
    elif disable_tls is False:
        mode = STARTTLS_REQUIRED
    else:
        mode = STARTTLS_IF_OFFERED
    return SmtpTransport(port=p, implicit_tls=implicit, starttls=mode, note=note)


def _explicit_bool(v: Any) -> bool | None:
    """True/False when the extra was set (bool or a string such as "true"/"0"), None when absent."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")
