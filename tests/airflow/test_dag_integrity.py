"""Every DAG file imports cleanly and does no connection, network or DB access at parse time.

Like Airflow's own example-DAG tests (importable + no DB queries), but stricter: parsing runs
in a fresh interpreter where sockets, the metadata DB, connections and variables all raise, so
any parse-time access shows up as an import error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta

from conftest import DAGS_DIR, REPO_ROOT

EXPECTED_DAGS = {"training_pipeline", "model_monitoring", "feature_engineering", "model_quality_events"}

PARSE_WITH_EVERYTHING_BLOCKED = textwrap.dedent(
    """
    import json, socket, sys
    from pathlib import Path

    calls = []

    def forbid(what):
        def _raise(*a, **k):
            calls.append(what)
            raise RuntimeError(f"parse-time {what} is not allowed")
        return _raise

    socket.socket.connect = forbid("socket connect")
    socket.socket.connect_ex = forbid("socket connect")
    socket.create_connection = forbid("network connection")
    socket.getaddrinfo = forbid("DNS lookup")

    import sqlalchemy.engine
    sqlalchemy.engine.Engine.connect = forbid("metadata DB access")
    from airflow.sdk import BaseHook, Variable
    BaseHook.get_connection = classmethod(forbid("Airflow connection lookup"))
    Variable.get = staticmethod(forbid("Airflow variable lookup"))

    from airflow.dag_processing.dagbag import BundleDagBag
    dags_dir = Path(sys.argv[1])
    bag = BundleDagBag(dag_folder=str(dags_dir), bundle_path=dags_dir)
    print("RESULT " + json.dumps({
        "dags": sorted(bag.dags),
        "import_errors": bag.import_errors,
        "files": sorted(s.file for s in bag.dagbag_stats),
        "forbidden_calls": calls,
    }))
    """
)


def _parse_isolated() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    # A DB URL that cannot be opened: any parse-time query would fail loudly.
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "sqlite:////nonexistent-dir/never.db"
    res = subprocess.run(
        [sys.executable, "-c", PARSE_WITH_EVERYTHING_BLOCKED, str(DAGS_DIR)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=180,
    )
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stdout[-3000:] + res.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def test_dag_files_import_without_errors_or_parse_time_access():
    result = _parse_isolated()
    assert result["import_errors"] == {}, json.dumps(result["import_errors"], indent=2)
    assert result["forbidden_calls"] == []
    assert set(result["dags"]) == EXPECTED_DAGS
    # dags/mlops_airflow holds helpers, not DAGs: .airflowignore keeps the processor out of it.
    assert not any(f.startswith("mlops_airflow") for f in result["files"]), result["files"]


def test_training_pipeline_shape(dagbag):
    from mlops_airflow.alerts import EmailAlertNotifier, WebhookAlertNotifier
    from mlops_airflow.pipeline_config import schedule_of

    dag = dagbag.dags["training_pipeline"]
    assert [t.task_id for t in dag.topological_sort()] == [
        "resolve_run",
        "detect_new_data",
        "validate_data",
        "submit_pipeline",
        "report_outcome",
    ]
    assert set(dag.params) == {"config", "data_uri", "runner", "only_if_new_data"}
    assert dag.params.get_param("runner").schema["enum"] == ["auto", "local", "kubeflow", "vertex", "dry-run"]
    # The config's cron, or a new feature table from feature_engineering, whichever comes first.
    from airflow.sdk import AssetOrTimeSchedule

    from mlops_airflow.features import PENGUINS_FEATURES

    assert isinstance(dag.schedule, AssetOrTimeSchedule)
    assert dag.schedule.timetable.expression == schedule_of("pipelines/configs/penguins.yaml")
    assert dag.schedule.asset_condition == PENGUINS_FEATURES
    assert dag.max_active_runs == 1 and not dag.catchup
    for t in dag.tasks:
        kinds = {type(cb) for cb in t.on_failure_callback}
        assert kinds == {WebhookAlertNotifier, EmailAlertNotifier}, t.task_id


def test_feature_engineering_shape(dagbag):
    from airflow.providers.apache.spark.operators.spark_pyspark import PySparkOperator

    from mlops_airflow.features import PENGUINS_FEATURES

    dag = dagbag.dags["feature_engineering"]
    assert [t.task_id for t in dag.topological_sort()] == ["plan", "build_features", "publish"]
    assert isinstance(dag.get_task("build_features"), PySparkOperator)
    assert dag.get_task("publish").outlets == [PENGUINS_FEATURES]
    assert set(dag.params) == {"raw_uri", "output_uri", "training_config", "spark_conn_id"}
    assert dag.params["spark_conn_id"] == ""  # a local master unless a Spark connection is named
    assert dag.schedule is None and dag.max_active_runs == 1


def test_model_monitoring_shape(dagbag):
    dag = dagbag.dags["model_monitoring"]
    assert {t.task_id for t in dag.tasks} == {"compute_drift", "alert_if_drifted", "trigger_training"}
    trigger = dag.get_task("trigger_training")
    assert trigger.trigger_dag_id == "training_pipeline"
    assert dag.schedule == timedelta(hours=1)
