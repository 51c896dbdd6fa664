"""What was last trained, kept in one Airflow Variable per pipeline (runtime only).

``mlops_last_trained_<name>`` holds JSON ``{"data_uri", "data_version", "run_id", "pushed"}``.
``training_pipeline`` writes it after a successful run and reads it to skip scheduled runs
when the data has not changed; ``model_monitoring`` reads its ``data_uri`` as the drift
reference (the snapshot the serving model was trained on).
"""

from __future__ import annotations

import json
import re
from typing import Any


def variable_key(pipeline_name: str) -> str:
    return "mlops_last_trained_" + re.sub(r"[^A-Za-z0-9_]", "_", pipeline_name)


def last_trained(pipeline_name: str) -> dict[str, Any]:
    from airflow.sdk import Variable

    raw = Variable.get(variable_key(pipeline_name), default=None)
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def record_trained(pipeline_name: str, record: dict[str, Any]) -> None:
    from airflow.sdk import Variable

    Variable.set(variable_key(pipeline_name), json.dumps(record, sort_keys=True, default=str))


def is_new_data(last: dict[str, Any], data_uri: str, data_version: str) -> bool:
    """True unless the same URI at the same content version was already trained on."""
    return not (last.get("data_uri") == data_uri and last.get("data_version") == data_version)
