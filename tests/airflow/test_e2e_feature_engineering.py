"""End to end: feature_engineering on real Spark -> the penguins_features asset -> training_pipeline
trains on the new table in the project image and pushes a model.

What runs for real: ``dag.test()`` of feature_engineering (pyspark's Spark on a local master,
the raw export shipped with palmerpenguins), the asset event it records, the scheduler's own
code that turns that event into an asset-triggered run of training_pipeline
(``DagModel.dags_needing_dagruns`` + ``SchedulerJobRunner._create_dag_runs_asset_triggered``),
and that run, executed by ``dag.test()``, through the local runner (``mlops run`` in the image,
via docker). The only stand-in: ``dag.test()`` always creates a new manual run, so for the
second DAG it is handed the run the scheduler created instead (``get_or_create_dagrun``, the
helper that exists only for ``dag.test()``); no scheduler process runs in tests.

Needs Docker and the image (``make image``); the push destination is moved under the gitignored
runs/airflow-test/, so it never touches the models of ``make demo``.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from unittest import mock

import pandas as pd
import pytest
import yaml

import support
from conftest import REPO_ROOT, webhook_receiver
from support import run_dag, xcom
from tests.configs import extras_off

pytestmark = pytest.mark.slow


def _set_paused(dag_id: str, paused: bool) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({"is_paused": paused})


def _asset_triggered_run(dag_id: str) -> str:
    """What the scheduler does with queued asset events: the run it creates, by its own code."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType

    with create_session() as session:
        query, triggered = DagModel.dags_needing_dagruns(session)
        assert dag_id in triggered, f"no asset-triggered run due for {dag_id}: {triggered}"
        due = [d for d in query.all() if d.dag_id == dag_id]
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(dag_models=due, session=session)
        session.flush()
        run = (
            session.query(DagRun)
            .filter(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
            .order_by(DagRun.id.desc())
            .first()
        )
        return run.run_id


def _run_existing(dag, run_id: str):
    """``dag.test()`` of the run ``run_id`` (params at the DAG-file defaults, as a scheduled run has)."""
    import airflow.models.dagrun as dagrun_mod
    from airflow.models.dagrun import DagRun

    defaults = support._PARAM_DEFAULTS.setdefault(dag.dag_id, copy.deepcopy(dict(dag.params.dump())))

    def existing(*, dag, session, **_):
        run = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id).one()
        run.dag, run.state, run.conf = dag, "running", defaults
        session.commit()
        return run

    with mock.patch.object(dagrun_mod, "get_or_create_dagrun", existing):
        dr = dag.test()
    return dr, {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}


def test_feature_table_asset_triggers_training_on_it(dagbag, project_image):
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db

    runs_rel = os.environ["MLOPS_AIRFLOW_RUNS_DIR"]
    work = REPO_ROOT / runs_rel / "features-e2e"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cfg = yaml.safe_load((REPO_ROOT / "pipelines" / "configs" / "penguins_features.yaml").read_text())
    cfg["push"]["destination"] = f"{runs_rel}/features-e2e/models"
    # Under test is the asset path to training; the optional steps only add minutes here.
    cfg = extras_off(cfg)
    config = work / "penguins_features.yaml"  # inside the repo: the container sees it under /src
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    config_rel = str(config.relative_to(REPO_ROOT))
    table_rel = f"{runs_rel}/features-e2e/table"

    # The scheduler queues runs only for unpaused DAGs: register the DAGs, unpause training as a user would.
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(dagbag, "dags-folder", None)
    _set_paused("training_pipeline", False)
    try:
        with pytest.MonkeyPatch.context() as mp, webhook_receiver(mp) as alerts:
            dr, states = run_dag(
                dagbag.dags["feature_engineering"], {"output_uri": table_rel, "training_config": config_rel}
            )
            assert states == {"plan": "success", "build_features": "success", "publish": "success"}, alerts
            table = REPO_ROOT / table_rel
            summary = json.loads((table / "_summary.json").read_text())
            assert (table / "_SUCCESS").is_file() and len(list(table.glob("egg_date=*"))) == summary["dates"] == 50
            assert len(pd.read_parquet(table)) == summary["rows_out"] == 344
            published = xcom(dr, "publish")
            assert published["data_uri"] == table_rel and published["config"] == config_rel

            run_id = _asset_triggered_run("training_pipeline")
            dr2, states2 = _run_existing(dagbag.dags["training_pipeline"], run_id)
            plan, report = xcom(dr2, "resolve_run"), xcom(dr2, "report_outcome")
            run_json = REPO_ROOT / plan["output_dir"] / "run.json"
            detail = run_json.read_text()[:3000] if run_json.exists() else "no run.json"
            assert set(states2.values()) == {"success"}, f"{states2}\n{detail}\nalerts: {[a['json'] for a in alerts]}"
            assert alerts == []
    finally:
        _set_paused("training_pipeline", True)

    assert dr2.run_type == "asset_triggered"
    # The run trained what the asset event named, not the DAG's default config and data.
    assert (plan["config"], plan["data_uri"], plan["dataset"]) == (config_rel, table_rel, "penguins_features")
    assert xcom(dr2, "validate_data")["rows"] == 333  # 344 records, 11 without sex dropped
    assert report["status"] == "succeeded" and report["pushed_version"] >= 1
    pushed = REPO_ROOT / report["pushed_path"] if not os.path.isabs(report["pushed_path"]) else report["pushed_path"]
    assert str(pushed).startswith(str(work / "models" / "penguins_features")), pushed
    manifest = json.loads((pushed / "manifest.json").read_text())
    assert manifest["data_uri"].endswith(table_rel), manifest.get("data_uri")
