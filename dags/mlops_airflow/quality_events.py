"""Monitoring results from Kafka as an Airflow Asset: the watcher's filter and the event reader.

``mlops monitor --stream`` publishes one ``mlops.monitoring_result`` event per window
(``monitoring/events.py``). The asset :data:`MONITORING_RESULTS` has an ``AssetWatcher`` whose
``MessageQueueTrigger`` (common-messaging, ``scheme="kafka"``, the Kafka provider's
``AwaitMessageTrigger`` underneath) reads that topic in the triggerer and calls
:func:`breach_or_none` on every message: a window that broke a quality or drift threshold
becomes an asset event (its compact form is the event's ``payload``), which schedules the
``model_quality_events`` DAG; an ``ok`` window or a malformed record is passed over.

Import-safe and light: the triggerer imports this module; no I/O at import.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping

log = logging.getLogger(__name__)

#: Connection holding the librdkafka settings of the watcher's consumer (``extra``:
#: ``bootstrap.servers``, ``group.id``, SASL/SSL keys); docs/monitoring.md.
KAFKA_CONN_ID = "mlops_kafka"
RESULT_SCHEMA = "mlops.monitoring_result"
#: What the DAG needs of a result; the full result stays in its report and on the topic.
_KEEP = ("window_id", "model", "config", "window", "metrics", "breaches", "drift", "reports", "verdict", "created_at")


def compact(event: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a result event that travels in the asset event (no per-class or slice tables)."""
    out = {k: event[k] for k in _KEEP if k in event}
    metrics = dict(out.get("metrics") or {})
    metrics.pop("per_class", None)
    out["metrics"] = metrics
    drift = dict(out.get("drift") or {})
    drift.pop("scores", None)
    out["drift"] = drift
    return out


def breach_or_none(message: Any) -> dict[str, Any] | None:
    """The watcher's ``apply_function``: the compact result of a breaching window, else None."""
    try:
        event = json.loads(message.value())
    except (TypeError, ValueError, UnicodeDecodeError):
        log.warning("monitoring results: a record at offset %s is not JSON; passed over", getattr(message, "offset", lambda: "?")())
        return None
    if not isinstance(event, dict) or event.get("schema") != RESULT_SCHEMA or event.get("schema_version") != 1:
        log.warning("monitoring results: a record is not a %s v1 event; passed over", RESULT_SCHEMA)
        return None
    if event.get("verdict") != "breach" or not event.get("window_id"):
        return None
    return compact(event)


def result_from_context(context: Mapping[str, Any], asset_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The breaching window this run is for: the newest event of the asset, else ``params["result"]``
    (a manual run with the result event as conf).

    Raises:
        ValueError: Neither is there, or the result lacks ``window_id`` / ``breaches``.
    """
    result = None
    events = context.get("triggering_asset_events") or {}
    for asset, asset_events in events.items():
        if getattr(asset, "name", None) == asset_name and asset_events:
            extra = dict(asset_events[-1].extra or {})
            result = extra.get("payload", extra)
    if result is None:
        result = params.get("result") or None
    if isinstance(result, str):
        result = json.loads(result)
    if not isinstance(result, dict) or not result.get("window_id") or "breaches" not in result:
        raise ValueError("no monitoring result to act on: the run was neither triggered by the "
                         f"{asset_name} asset nor given a result event as conf 'result'")
    return result


def breach_failures(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """The alert's failure lines, one per broken threshold."""
    out = []
    for b in result.get("breaches") or []:
        if b.get("kind") == "drift":
            for feature in b.get("features") or []:
                out.append({"column": feature, "check": "drift",
                            "observed": f"drifted (max score {b.get('max_score', 0):.3f} > {b.get('threshold')})"})
        else:
            out.append({"column": b.get("metric", "?"), "check": "served quality",
                        "observed": f"{b.get('metric')} {b.get('value', float('nan')):.4f}: {b.get('rule')}"})
    return out


def breach_keys(result: Mapping[str, Any]) -> list[str]:
    """What re-alert suppression compares: ``accuracy``, ``drift:body_mass_g``, ..."""
    keys = []
    for b in result.get("breaches") or []:
        if b.get("kind") == "drift":
            keys += [f"drift:{f}" for f in b.get("features") or []]
        else:
            keys.append(str(b.get("metric")))
    return sorted(set(keys))


def results_topic_of(config_path: str) -> str:
    """The results topic of the default config (parse time: one local YAML read, like ``schedule_of``)."""
    import yaml

    from mlops_airflow.settings import resolve_repo_path

    default = "mlops.monitoring-results"
    try:
        raw = yaml.safe_load(resolve_repo_path(config_path).read_text()) or {}
        return str(((raw.get("monitoring") or {}).get("stream") or {}).get("results_topic") or default)
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        log.warning("%s: cannot read monitoring.stream.results_topic (%s); watching %s", config_path, exc, default)
        return default
