"""training_pipeline: new data -> validate (shared GE suite) -> submit the pipeline -> report.

Schedule: the ``schedule`` key of the default pipeline config (``MLOPS_PIPELINE_CONFIG`` or
``pipelines/configs/penguins.yaml``). Scheduled runs skip when the data at the configured URI
has not changed since the last successful run; manual runs always go ahead.
Also scheduled on the ``penguins_features`` asset: when ``feature_engineering`` publishes a new
feature table, a run trains the ``config`` on the ``data_uri`` that the asset event names
(``mlops_airflow.features``), whatever the params say.

Trigger parameters (UI "Trigger" form, ``airflow dags trigger --conf``, or the REST API):

* ``config``: pipeline config path (relative to the repo root);
* ``data_uri``: data to train on instead of the config's ``data.uri`` (local, s3://, gs://);
* ``runner``: ``local`` (``mlops run`` in the project image), ``kubeflow`` (kfp.Client,
  connection ``kfp_default``), ``vertex`` (Vertex AI Pipelines), ``dry-run`` (validate only),
  or ``auto`` (Variable ``mlops_runner``, else the config's ``runner``, else ``local``);
* ``only_if_new_data``: skip manual runs too when the data is unchanged.

The config is loaded by ``pipelines.config`` (``mlops_airflow.pipeline_config``), the schema ``mlops run``
uses: an unknown or mistyped key fails ``resolve_run`` at once (no retry) with the loader's
message naming the key, and nothing runs.

Failure alerts go through the notifiers in ``mlops_airflow.alerts`` (webhook + e-mail). Bad data fails
``validate_data`` with the failing columns and example values, and nothing is submitted.

Parse time does no I/O except reading the default config's ``schedule`` from the repo.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from mlops_airflow.alerts import AlertingFailure, default_notifiers
from mlops_airflow.features import asset_trigger_params, training_schedule
from mlops_airflow.pipeline_config import RUNNERS, schedule_of
from mlops_airflow.settings import default_config_path

log = logging.getLogger(__name__)

DAG_ID = "training_pipeline"


@dag(
    dag_id=DAG_ID,
    description="Detect new data, validate it with the pipeline's GE suite, run the TFX pipeline, report.",
    schedule=training_schedule(schedule_of(default_config_path())),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["mlops", "training"],
    doc_md=__doc__,
    default_args={"retries": 0, "on_failure_callback": default_notifiers()},
    params={
        "config": Param(default_config_path(), type="string", description="Pipeline config YAML (repo-relative)."),
        "data_uri": Param(None, type=["null", "string"], description="Override data.uri (local path, s3://, gs://)."),
        "runner": Param("auto", type="string", enum=["auto", *RUNNERS], description="Where the pipeline runs."),
        "only_if_new_data": Param(False, type="boolean", description="Skip when the data is unchanged."),
    },
)
def training_pipeline() -> None:
    @task
    def resolve_run() -> dict[str, Any]:
        """Reads the config and the trigger params into one small plan (XCom)."""
        from airflow.sdk import Variable

        from mlops_airflow.pipeline_config import load_pipeline_config
        from mlops_airflow.settings import runs_dir, safe_name

        ctx = get_current_context()
        params = {**ctx["params"], **asset_trigger_params(ctx)}
        cfg = load_pipeline_config(params.get("config"))
        runner = params.get("runner") or "auto"
        if runner == "auto":
            runner = Variable.get("mlops_runner", default=None) or cfg.runner or "local"
        if runner not in RUNNERS:
            raise ValueError(f"unknown runner {runner!r}; use one of {', '.join(RUNNERS)}")
        dag_run = ctx["dag_run"]
        run_type = str(getattr(dag_run, "run_type", "manual")).lower()
        plan = {
            "config": cfg.source_path,
            "dataset": cfg.name,
            "data_uri": params.get("data_uri") or cfg.data.uri,
            "runner": runner,
            "output_dir": f"{runs_dir()}/{cfg.name}/{safe_name(ctx['run_id'])}",
            "run_id": ctx["run_id"],
            "skip_unchanged": "scheduled" in run_type or bool(params.get("only_if_new_data")),
        }
        log.info("plan: %s", plan)
        return plan

    @task.short_circuit
    def detect_new_data(plan: dict[str, Any]) -> dict[str, Any] | None:
        """Stats the data; returns None (skips the rest) when unchanged and skipping is asked."""
        import mlops_airflow  # noqa: F401
        from components.common import storage

        from mlops_airflow.tracking import is_new_data, last_trained

        info = storage.stat(plan["data_uri"])
        last = last_trained(plan["dataset"])
        new = is_new_data(last, plan["data_uri"], info.version)
        log.info("data %s: version %s, size %d, new=%s (last trained: %s)", info.uri, info.version, info.size, new, last)
        if not new and plan["skip_unchanged"]:
            log.info("no new data since run %s; skipping", last.get("run_id"))
            return None
        return {**plan, "data_version": info.version, "data_size": info.size, "new_data": new}

    @task
    def validate_data(plan: dict[str, Any]) -> dict[str, Any]:
        """Runs the pipeline's GE suite on the data; bad data fails here and alerts."""
        from mlops_airflow.pipeline_config import load_pipeline_config
        from mlops_airflow.settings import resolve_repo_path
        from mlops_airflow.validation import validate_data as run_validation

        cfg = load_pipeline_config(plan["config"])
        docs_dir = resolve_repo_path(plan["output_dir"]) / "data_docs"
        summary = run_validation(cfg, plan["data_uri"], docs_dir)
        if not summary.success:
            links = {"Data Docs": Path(summary.data_docs).resolve().as_uri()} if summary.data_docs else {}
            cols = sorted({f["column"] for f in summary.failures if f.get("column")})
            raise AlertingFailure(
                f"data validation failed for {plan['data_uri']}: {len(summary.failures)} check(s) "
                f"on column(s) {', '.join(cols) or '-'}; the pipeline was not submitted",
                {
                    "kind": "data_validation_failed",
                    "dataset": plan["dataset"],
                    "failures": summary.failures,
                    "data_uri": plan["data_uri"],
                    "runner": plan["runner"],
                    "facts": {"Rows checked": summary.rows, "Rows dropped (incomplete)": summary.dropped_rows},
                    "links": links,
                    "max_examples": cfg.validation.max_example_values,
                },
            )
        return summary.to_dict()

    @task(execution_timeout=timedelta(hours=8))
    def submit_pipeline(plan: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any]:
        """Runs the pipeline on the configured runner and waits for its outcome."""
        from mlops_airflow.runners import submit

        outcome = submit(plan)
        return outcome.to_dict()

    @task
    def report_outcome(plan: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
        """Logs pushed version, key metrics and report links; remembers the trained data."""
        from mlops_airflow.tracking import record_trained

        pushed = outcome.get("pushed") or {}
        lines = [f"{plan['dataset']} via {outcome['runner']}: {outcome['status']}"]
        if pushed:
            lines.append(f"pushed version {pushed.get('version')} to {pushed.get('path')}")
        for name, value in sorted((outcome.get("metrics") or {}).items()):
            lines.append(f"metric {name} = {value:.4f}")
        mlflow = {k: v for k, v in (outcome.get("links") or {}).items() if k.startswith("MLflow")}
        for name, url in mlflow.items():  # the MLflow run and registered version first (pipelines/tracking)
            lines.append(f"{name}: {url}")
        for name, url in sorted((outcome.get("links") or {}).items()):
            if name not in mlflow:
                lines.append(f"{name}: {url}")
        registry = (outcome.get("tracking") or {}).get("registry") or {}
        if registry and not registry.get("updated"):
            lines.append(f"registry: {registry.get('reason')}")
        log.info("\n".join(lines))
        if outcome["status"] == "succeeded":
            record_trained(
                plan["dataset"],
                {
                    "data_uri": plan["data_uri"],
                    "data_version": plan.get("data_version"),
                    "run_id": plan["run_id"],
                    "runner": outcome["runner"],
                    "pushed": pushed or None,
                },
            )
        return {
            "dataset": plan["dataset"],
            "status": outcome["status"],
            "runner": outcome["runner"],
            "pushed_version": pushed.get("version"),
            "pushed_path": pushed.get("path"),
            "metrics": outcome.get("metrics") or {},
            "links": outcome.get("links") or {},
            "mlflow": mlflow,
            "summary": "\n".join(lines),
        }

    plan = detect_new_data(resolve_run())
    validation = validate_data(plan)
    outcome = submit_pipeline(plan, validation)
    report_outcome(plan, outcome)


training_pipeline()
