"""dags/mlops_airflow/features.py: how training is scheduled on the feature table and reads its events."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


def test_training_schedule_is_cron_or_asset_and_asset_alone_without_cron():
    from airflow.sdk import AssetOrTimeSchedule

    from mlops_airflow.features import PENGUINS_FEATURES, training_schedule

    both = training_schedule("0 3 * * *")
    assert isinstance(both, AssetOrTimeSchedule)
    assert both.timetable.expression == "0 3 * * *" and both.asset_condition == PENGUINS_FEATURES
    assert training_schedule(None) == PENGUINS_FEATURES


def test_asset_trigger_params_take_the_newest_event_and_ignore_other_runs():
    from mlops_airflow.features import PENGUINS_FEATURES, asset_trigger_params

    older = SimpleNamespace(extra={"data_uri": "runs/features/old", "config": "a.yaml"})
    newer = SimpleNamespace(extra={"data_uri": "runs/features/new", "config": "b.yaml", "rows": 344})
    ctx = {"triggering_asset_events": {PENGUINS_FEATURES: [older, newer]}}
    assert asset_trigger_params(ctx) == {"data_uri": "runs/features/new", "config": "b.yaml"}
    assert asset_trigger_params({"triggering_asset_events": {}}) == {}  # cron / manual / API runs
    assert asset_trigger_params({}) == {}


def test_an_event_without_location_is_refused_by_name():
    from mlops_airflow.features import PENGUINS_FEATURES, asset_trigger_params

    ctx = {"triggering_asset_events": {PENGUINS_FEATURES: [SimpleNamespace(extra={"rows": 3})]}}
    with pytest.raises(ValueError, match=r"penguins_features lacks extra key\(s\) data_uri, config \(it has \['rows'\]\)"):
        asset_trigger_params(ctx)


def test_local_spark_settings_only_without_a_connection():
    from mlops_airflow.features import spark_conf

    local, cluster = spark_conf(""), spark_conf("spark_cluster")
    assert local["spark.driver.bindAddress"] == "127.0.0.1" and local["spark.ui.enabled"] == "false"
    assert cluster == {"spark.sql.session.timeZone": "UTC"}  # the connection's extras are not overridden
