"""Run state kept in Airflow Variables, one per pipeline (runtime only).

``mlops_last_trained_<name>`` holds JSON ``{"data_uri", "data_version", "run_id", "pushed"}``.
``training_pipeline`` writes it after a successful run and reads it to skip scheduled runs
when the data has not changed; ``model_monitoring`` reads its ``data_uri`` as the drift
reference (the snapshot the serving model was trained on).

``mlops_last_drift_alert_<name>`` holds JSON ``{"window_end", "columns", "at", "run_id",
"current_uri"}`` of
the last drift alert, so an hourly check does not alert and retrain again on the same window,
or on the same drifted features within ``monitoring.realert_after_hours``.

``mlops_last_quality_alert_<name>`` holds the same for the streaming monitor's breaching windows
(``model_quality_events``): ``{"window_end": <window id>, "columns": <broken thresholds>, ...}``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any


def variable_key(pipeline_name: str, kind: str = "last_trained") -> str:
    return f"mlops_{kind}_" + re.sub(r"[^A-Za-z0-9_]", "_", pipeline_name)


def _get(key: str) -> dict[str, Any]:
    from airflow.sdk import Variable

    raw = Variable.get(key, default=None)
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _set(key: str, record: dict[str, Any]) -> None:
    from airflow.sdk import Variable

    Variable.set(key, json.dumps(record, sort_keys=True, default=str))


def last_trained(pipeline_name: str) -> dict[str, Any]:
    return _get(variable_key(pipeline_name))


def record_trained(pipeline_name: str, record: dict[str, Any]) -> None:
    _set(variable_key(pipeline_name), record)


def last_drift_alert(pipeline_name: str) -> dict[str, Any]:
    return _get(variable_key(pipeline_name, "last_drift_alert"))


def record_drift_alert(pipeline_name: str, record: dict[str, Any]) -> None:
    _set(variable_key(pipeline_name, "last_drift_alert"), record)


def last_quality_alert(pipeline_name: str) -> dict[str, Any]:
    return _get(variable_key(pipeline_name, "last_quality_alert"))


def record_quality_alert(pipeline_name: str, record: dict[str, Any]) -> None:
    _set(variable_key(pipeline_name, "last_quality_alert"), record)


def repeat_alert_reason(
    previous: dict[str, Any], window_end: str, columns: list[str], now: dt.datetime, realert_after_hours: float
) -> str | None:
    """Why a drift alert would repeat the previous one (None: alert).

    The same window (no new data since) never alerts twice; drifted features that were all in
    the previous alert alert again only after ``realert_after_hours``, so persistent drift in
    hourly checks gives one alert and one retraining a day, not one an hour. A newly drifting
    feature alerts at once.
    """
    if not previous:
        return None
    if previous.get("window_end") == window_end:
        return f"no new data since the alert of run {previous.get('run_id')} (window ending {window_end})"
    try:
        at = dt.datetime.fromisoformat(str(previous.get("at")))
    except ValueError:
        return None
    hours = (now - at).total_seconds() / 3600
    if set(columns) <= set(previous.get("columns") or []) and hours < realert_after_hours:
        return (
            f"these features ({', '.join(sorted(columns))}) were alerted {hours:.1f} h ago "
            f"(run {previous.get('run_id')}); monitoring.realert_after_hours is {realert_after_hours:g}"
        )
    return None


def is_new_data(last: dict[str, Any], data_uri: str, data_version: str) -> bool:
    """True unless the same URI at the same content version was already trained on."""
    return not (last.get("data_uri") == data_uri and last.get("data_version") == data_version)
