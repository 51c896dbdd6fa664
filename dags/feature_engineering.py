"""feature_engineering: raw penguins export -> Spark -> date-partitioned Parquet -> ``penguins_features`` asset.

The data engineers' step before any model sees the data: ``spark_jobs.build_penguins_features``
cleans the raw export (``penguins-raw.csv``: long species names, free text, ``NA``), renames
columns, derives ``bill_ratio`` / ``mass_flipper_ratio`` / ``year``, drops duplicate records and
writes Parquet partitioned by ``egg_date`` with ``_SUCCESS`` and ``_summary.json`` (row and null
counts). On success the ``penguins_features`` asset gets an event, and ``training_pipeline``
(scheduled on its cron **or** that asset) trains ``training_config`` on the new table.

Tasks:

* ``plan``: the params as paths Spark reads and writes (repo-relative paths are taken from the
  repository root) and the Spark session settings;
* ``build_features`` (``PySparkOperator``, the operator of ``@task.pyspark``): the job, on a local master (``local[*]`` inside this
  worker) when ``spark_conn_id`` is empty, else on the cluster that Spark connection names
  (``spark://`` standalone, ``yarn``, ``k8s://``, or Spark Connect ``sc://``: docs/spark.md);
* ``publish``: checks ``_SUCCESS`` and ``_summary.json`` and records the asset event, whose
  ``extra`` carries ``data_uri``, ``config`` and the summary's counts.

Trigger parameters: ``raw_uri`` (CSV: local path, ``package://``, or what the cluster reads:
``s3a://``, ``gs://``, ``hdfs://``), ``output_uri`` (the table's folder, replaced as a whole:
a local folder, ``s3a://`` or ``gs://``, what training reads),
``training_config`` (the pipeline config that trains on it) and ``spark_conn_id``.

Bad input (missing columns, values that do not parse) fails ``build_features`` without retries,
naming the column and example values, and alerts; nothing is published. Validating the
table's values stays the training pipeline's job (its Great Expectations suite).

Manual runs only (``schedule=None``): give it a schedule when new raw exports arrive on one.
Parse time does no I/O.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow.providers.apache.spark.operators.spark_pyspark import PySparkOperator
from airflow.sdk import Param, dag, get_current_context, task

from mlops_airflow.alerts import default_notifiers
from mlops_airflow.features import DEFAULT_FEATURES_URI, DEFAULT_RAW_URI, DEFAULT_TRAINING_CONFIG, PENGUINS_FEATURES

log = logging.getLogger(__name__)

DAG_ID = "feature_engineering"
_PLAN = "ti.xcom_pull(task_ids='plan')"


def build_features(plan: dict[str, Any], spark: Any = None) -> dict[str, Any]:
    """Runs the Spark job on the session the provider opened; returns the table's summary."""
    from mlops_airflow.alerts import AlertingFailure
    from spark_jobs.build_penguins_features import FeatureJobError, run

    log.info("Spark %s, master %s", spark.version, spark.conf.get("spark.master", "(Spark Connect)"))
    try:
        return run(spark, plan["raw_uri"], plan["output_uri"])
    except FeatureJobError as exc:
        raise AlertingFailure(
            f"feature table not built from {plan['raw_uri']}: {exc}",
            {"kind": "task_failed", "dataset": "penguins_features", "reason": str(exc), "data_uri": plan["raw_uri"]},
        ) from exc


@dag(
    dag_id=DAG_ID,
    description="Build the penguins feature table with Spark (partitioned Parquet) and signal training.",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["mlops", "features", "spark"],
    doc_md=__doc__,
    default_args={"retries": 0, "on_failure_callback": default_notifiers()},
    # The Spark task's settings come from `plan` as a dict (a template renders to the object).
    render_template_as_native_obj=True,
    params={
        "raw_uri": Param(DEFAULT_RAW_URI, type="string", description="Raw export (CSV): local path, package://, s3a://, gs://, hdfs://."),
        "output_uri": Param(DEFAULT_FEATURES_URI, type="string", description="Feature table folder: repo-relative, s3a://, gs://."),
        "training_config": Param(DEFAULT_TRAINING_CONFIG, type="string", description="Pipeline config that trains on the table."),
        "spark_conn_id": Param("", type="string", description="Spark connection; empty: a local master in the worker."),
    },
)
def feature_engineering() -> None:
    @task
    def plan() -> dict[str, Any]:
        """The params as absolute paths for Spark, and the session settings."""
        from mlops_airflow.features import spark_conf
        from mlops_airflow.settings import repo_relative, resolve_repo_path

        params = get_current_context()["params"]

        def for_spark(uri: str) -> str:
            return uri if "://" in uri else str(resolve_repo_path(uri))

        output = for_spark(params["output_uri"])
        if "://" in output and not output.startswith(("s3a://", "s3://", "gs://")):
            raise ValueError(
                f"output_uri {params['output_uri']!r}: training reads the table from a local folder or an "
                "s3a:// (s3://) or gs:// prefix; write it to one of those"
            )
        conn_id = params.get("spark_conn_id") or ""
        result = {
            "raw_uri": for_spark(params["raw_uri"]),
            "output_uri": output,
            # What the pipeline reads: repo-relative (the image sees the repo at /src); s3a:// is
            # Hadoop's name for what boto3 calls s3://.
            # A remote folder is a prefix ending in "/" (components.common.storage.is_folder).
            "data_uri": repo_relative(output) if "://" not in output else output.replace("s3a://", "s3://", 1).rstrip("/") + "/",
            "config": params["training_config"],
            "spark_conn_id": conn_id,
            "spark_conf": spark_conf(conn_id),
        }
        log.info("plan: %s", result)
        return result

    @task(outlets=[PENGUINS_FEATURES])
    def publish(plan: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
        """Checks the committed table and records the asset event that schedules training."""
        from spark_jobs.build_penguins_features import SUCCESS_MARKER, SUMMARY_FILE

        import mlops_airflow  # noqa: F401
        from components.common import storage

        out = plan["data_uri"] if "://" in plan["data_uri"] else plan["output_uri"]
        for name in (SUCCESS_MARKER, SUMMARY_FILE):
            if not storage.exists(storage.join(out, name)):
                raise FileNotFoundError(f"{storage.join(out, name)} is missing: the table is not complete; not publishing")
        extra = {
            "data_uri": plan["data_uri"],
            "config": plan["config"],
            "rows": summary["rows_out"],
            "duplicates_dropped": summary["duplicates_dropped"],
            "dates": summary["dates"],
        }
        get_current_context()["outlet_events"][PENGUINS_FEATURES].extra = extra
        log.info("published %s: %s", PENGUINS_FEATURES.name, extra)
        return extra

    p = plan()
    # The provider's PySparkOperator (what @task.pyspark wraps): the decorator form does not
    # template conn_id / config_kwargs, which come from `plan` at run time.
    built = PySparkOperator(
        task_id="build_features",
        python_callable=build_features,
        op_kwargs={"plan": p},
        conn_id=f"{{{{ {_PLAN}['spark_conn_id'] }}}}",
        config_kwargs=f"{{{{ {_PLAN}['spark_conf'] }}}}",
    )
    publish(p, built.output)


feature_engineering()
