"""Reading Airflow connections and Variables at task run time (never at parse time)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def get_connection_or_none(conn_id: str) -> Any | None:
    """The connection, or None when it is not defined anywhere (env, secrets backend, DB)."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException and friends mean "not configured"
        log.debug("connection %s unavailable: %s", conn_id, exc)
        return None


def get_variable(key: str, default: Any = None) -> Any:
    """The Airflow Variable ``key`` (env ``AIRFLOW_VAR_<KEY>``, secrets backend, DB), else ``default``."""
    from airflow.sdk import Variable

    return Variable.get(key, default=default)


def url_from_connection(conn: Any, extra_key: str = "url") -> str | None:
    """A base URL from a connection, whichever way it was written.

    Accepted, in this order: ``extra[extra_key]``; a full URL in ``host`` (JSON form
    ``{"conn_type": "http", "host": "https://kfp.example/pipeline"}``); or an ``http(s)://``
    connection URI, which Airflow splits into conn_type/host/port/schema (the path).
    """
    extra = conn.extra_dejson or {}
    if extra.get(extra_key):
        return str(extra[extra_key])
    host = conn.host or ""
    if "://" in host:
        return host
    scheme = (conn.conn_type or "").lower()
    if host and scheme in ("http", "https"):
        if extra.get("use_https") or extra.get("scheme") == "https":
            scheme = "https"
        port = f":{conn.port}" if conn.port else ""
        path = f"/{conn.schema.lstrip('/')}" if conn.schema else ""
        return f"{scheme}://{host}{port}{path}"
    return None
