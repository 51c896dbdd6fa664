"""The feature table as an Airflow Asset: who produces it, how training is scheduled on it.

``feature_engineering`` builds the table with Spark and, on success, records an event on
:data:`PENGUINS_FEATURES` whose ``extra`` says where the table is and which pipeline config
trains on it. ``training_pipeline`` is scheduled on the config's cron **or** that asset
(:func:`training_schedule`); an asset-triggered run takes ``config`` and ``data_uri`` from the
event (:func:`asset_trigger_params`), every other run from its params as before.

Import-safe: no I/O at import.
"""

from __future__ import annotations

from typing import Any, Mapping

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable

#: The engineered penguins table (Parquet, partitioned by egg_date). Its location travels in
#: each event's ``extra["data_uri"]``: the same asset can live under runs/ locally and in a
#: bucket in production.
PENGUINS_FEATURES = Asset(name="penguins_features", uri="mlops://feature-tables/penguins", group="feature_tables")

DEFAULT_RAW_URI = "package://palmerpenguins/data/penguins-raw.csv"
DEFAULT_FEATURES_URI = "runs/features/penguins"
DEFAULT_TRAINING_CONFIG = "pipelines/configs/penguins_features.yaml"



def training_schedule(cron: str | None):
    """``training_pipeline``'s schedule: the config's cron or a new feature table, whichever
    comes first; only the feature table when the config has no cron."""
    if not cron:
        return PENGUINS_FEATURES
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=PENGUINS_FEATURES)


def spark_conf(conn_id: str | None) -> dict[str, str]:
    """Session settings of the Spark task (the job's own): the local-master ones (loopback, no web
    UI) only without a connection, so a cluster connection's extras are not overridden."""
    from spark_jobs.build_penguins_features import LOCAL_CONF, SESSION_CONF  # lazy: imports pyspark

    return {**SESSION_CONF, **({} if conn_id else LOCAL_CONF)}


def asset_trigger_params(context: Mapping[str, Any]) -> dict[str, str]:
    """``config`` and ``data_uri`` of the newest feature-table event that triggered this run.

    Returns:
        ``{}`` when the run was not triggered by :data:`PENGUINS_FEATURES` (cron, manual, API).

    Raises:
        ValueError: The event does not say where the table is (an event not sent by
            ``feature_engineering``, e.g. one posted by hand without ``extra``).
    """
    events = context.get("triggering_asset_events") or {}
    try:
        ours = list(events[PENGUINS_FEATURES])
    except KeyError:
        return {}
    if not ours:
        return {}
    extra = dict(ours[-1].extra or {})
    missing = [k for k in ("data_uri", "config") if not extra.get(k)]
    if missing:
        raise ValueError(
            f"asset event of {PENGUINS_FEATURES.name} lacks extra key(s) {', '.join(missing)} "
            f"(it has {sorted(extra) or 'none'}); feature_engineering sends data_uri and config"
        )
    return {"config": str(extra["config"]), "data_uri": str(extra["data_uri"])}
