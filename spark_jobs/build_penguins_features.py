"""Entry point of the penguins feature job: raw export in, partitioned Parquet table out.

The output folder holds the table as Parquet partitioned by ``egg_date`` (``egg_date=YYYY-MM-DD/``
folders), Spark's ``_SUCCESS`` marker, and ``_summary.json``: rows in and out, duplicates
dropped, null count per column, distinct dates. Files starting with ``_`` or ``.`` are not data
to Parquet readers (Spark, pyarrow, pandas), so the marker and the summary do not get in the way.
The folder is replaced as a whole (``overwrite``); a reader waits for ``_SUCCESS``.

Run it (from the repository root; ``feature_engineering`` DAG does this with ``@task.pyspark``):

    .venv-airflow/bin/python -m spark_jobs.build_penguins_features \\
        --input package://palmerpenguins/data/penguins-raw.csv --output runs/features/penguins

or on a cluster, shipping the package (paths are then the cluster's: hdfs://, s3a://, gs://):

    zip -r spark_jobs.zip spark_jobs && spark-submit --master yarn --py-files spark_jobs.zip \\
        spark_jobs/build_penguins_features.py --input s3a://raw/penguins-raw.csv --output s3a://features/penguins

Exit codes: 0 written; 2 usage (the input does not exist); 3 bad data (columns missing, values
that do not parse: named with examples); 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from spark_jobs import penguins_features as pf

log = logging.getLogger(__name__)
# py4j logs every gateway connection it closes at INFO, also from __del__ at interpreter exit
# (after logging's streams are closed: "--- Logging error ---"); its warnings still show.
logging.getLogger("py4j").setLevel(logging.WARNING)

EXIT_USAGE, EXIT_DATA = 2, 3
SUCCESS_MARKER = "_SUCCESS"
SUMMARY_FILE = "_summary.json"
#: Session settings for every master, Spark Connect included (a runtime SQL setting): dates are
#: parsed the same whatever the machine's zone.
SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}
#: Extra settings for a local master: the driver listens on loopback only, no web UI, and no
#: progress bars or INFO lines in task logs. A cluster keeps its own (its connection's extras).
LOCAL_CONF = {
    "spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1", "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false", "spark.log.level": "WARN",
}


class FeatureJobError(Exception):
    """The job cannot build the table from this input; ``exit_code`` says why (2 usage, 3 data)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def spark_path(uri: str) -> str:
    """What Spark reads for a URI: ``package://`` and relative local paths become absolute paths.

    Other schemes (``s3a://``, ``gs://``, ``hdfs://``, ``file:``) are passed on as they are.

    Raises:
        FeatureJobError: A local input that does not exist (exit 2).
    """
    if uri.startswith("package://"):
        from components.common import storage  # lazy: only this scheme needs the repo's packages

        return str(storage.local_path(uri))
    if "://" in uri or uri.startswith("file:"):
        return uri
    return str(Path(uri).resolve())


def _is_local(path: str) -> bool:
    return "://" not in path and not path.startswith("file:")


def read_raw(spark: Any, path: str) -> Any:
    """The raw export as an all-string DataFrame (RFC 4180 quoting: ``""`` escapes a quote)."""
    if _is_local(path) and not os.path.exists(path):
        raise FeatureJobError(f"input {path} does not exist", EXIT_USAGE)
    return spark.read.options(header=True, inferSchema=False, escape='"', mode="FAILFAST").csv(path)


def check_parsable(text: Any) -> int:
    """Counts the input rows; refuses values that would silently become null when typed.

    Returns:
        The number of input rows.

    Raises:
        FeatureJobError: A typed column holds text that does not parse (exit 3), with examples.
    """
    counts = pf.parse_problems(text)
    rows = counts.pop("rows")
    if rows == 0:
        raise FeatureJobError("the raw export has a header but no data rows", EXIT_DATA)
    bad = {col: n for col, n in counts.items() if n}
    if bad:
        parts = []
        for col, n in sorted(bad.items()):
            examples = ", ".join(repr(v) for v in pf.unparsable_examples(text, col))
            kind = "a date (yyyy-MM-dd)" if col == pf.PARTITION_COLUMN else "a number"
            parts.append(f"{col}: {n} value(s) not {kind}, e.g. {examples}")
        raise FeatureJobError(f"{len(bad)} column(s) of {rows} rows hold values that do not parse: " + "; ".join(parts), EXIT_DATA)
    return rows


def _object_store_uri(uri: str) -> str | None:
    """The ``components.common.storage`` URI of an s3a:// / s3:// / gs:// path, else None."""
    if uri.startswith("s3a://"):
        return "s3://" + uri[len("s3a://"):]
    return uri if uri.startswith(("s3://", "gs://")) else None


def write_summary(output: str, summary: dict[str, Any]) -> None:
    """Writes ``_summary.json`` next to the data: a local folder, s3a:// (s3://) or gs://.

    Elsewhere (hdfs://) the summary is only logged: the table itself is complete.
    """
    text = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    target = f"{output.rstrip('/')}/{SUMMARY_FILE}"
    if _is_local(output):
        tmp = Path(f"{target}.tmp-{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, target)
        return
    remote = _object_store_uri(target)
    if remote is None:
        log.warning("%s not written (no client for this scheme here); summary: %s", target, text)
        return
    from components.common import storage

    storage.write_bytes(remote, text.encode())


def success_marker_written(output: str) -> bool:
    """True when Spark committed the output (its ``_SUCCESS`` marker is there).

    Where this process cannot look (hdfs://), Spark's own commit, which raised otherwise, stands.
    """
    target = f"{output.rstrip('/')}/{SUCCESS_MARKER}"
    if _is_local(output):
        return os.path.isfile(target)
    remote = _object_store_uri(target)
    if remote is None:
        return True
    from components.common import storage

    return storage.exists(remote)


def run(spark: Any, input_uri: str, output_uri: str) -> dict[str, Any]:
    """Builds the feature table from ``input_uri`` into ``output_uri``; returns the summary.

    Raises:
        FeatureJobError: Missing input (2) or bad data (3); nothing is written then.
        pyspark.errors.PySparkException: Spark itself failed.
    """
    started = time.monotonic()
    src, out = spark_path(input_uri), spark_path(output_uri)
    raw = read_raw(spark, src)
    try:
        text = pf.normalize_text(pf.rename_columns(raw))
    except pf.RawSchemaError as exc:
        raise FeatureJobError(f"{input_uri}: {exc}", EXIT_DATA) from exc
    rows_in = check_parsable(text)
    table = pf.feature_table(raw)
    # One task per date: one file per partition folder instead of one per (task, date).
    table.repartition(pf.PARTITION_COLUMN).write.mode("overwrite").partitionBy(pf.PARTITION_COLUMN).parquet(out)
    if not success_marker_written(out):
        raise FeatureJobError(f"{output_uri}: Spark finished but wrote no {SUCCESS_MARKER} marker", 1)
    written = spark.read.parquet(out)
    prof = pf.profile(written)
    summary = {
        "input": input_uri,
        "output": output_uri,
        "rows_in": rows_in,
        "rows_out": prof["rows"],
        "duplicates_dropped": rows_in - prof["rows"],
        "partition_column": pf.PARTITION_COLUMN,
        "dates": prof["dates"],
        "null_counts": prof["null_counts"],
        "columns": dict(written.dtypes),
        "spark_version": spark.version,
        "seconds": round(time.monotonic() - started, 2),
    }
    write_summary(out, summary)
    log.info("feature table %s: %d rows in, %d out (%d duplicates), %d dates", output_uri, rows_in,
             prof["rows"], summary["duplicates_dropped"], prof["dates"])
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, help="raw export: CSV path, package://, s3a://, gs://, hdfs://")
    p.add_argument("--output", required=True, help="output folder (replaced as a whole)")
    p.add_argument("--master", default=None,
                   help="Spark master when run with python (default local[*]); spark-submit sets its own")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    try:
        source = spark_path(args.input)
    except Exception as exc:  # e.g. package:// of a package that is not installed
        print(f"penguins_features: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if _is_local(source) and not os.path.exists(source):  # before paying for a JVM
        print(f"penguins_features: input {source} does not exist", file=sys.stderr)
        return EXIT_USAGE

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("penguins_features")
    conf = dict(SESSION_CONF)
    # Under spark-submit (its JVM started this Python: PYSPARK_GATEWAY_PORT) the master is the
    # one spark-submit was given; run with python, it is --master.
    if args.master or "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = args.master or "local[*]"
        builder = builder.master(master)
        if master.startswith("local"):
            conf.update(LOCAL_CONF)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        summary = run(spark, args.input, args.output)
    except FeatureJobError as exc:
        print(f"penguins_features: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        spark.stop()
    print(json.dumps({k: summary[k] for k in ("output", "rows_in", "rows_out", "duplicates_dropped", "dates")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
