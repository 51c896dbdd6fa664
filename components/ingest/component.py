"""TFX adapter for ingest: an ExampleGen for CSV/Parquet on local disk, S3, GCS or a package.

Standard ExampleGens read through ``tf.io.gfile``, which has no ``s3://`` in TF 2.21; this one
reads through ``components.common.storage`` and writes the usual Examples layout
(``Split-train``/``Split-eval`` gzipped TFRecords), so every standard component downstream works.
"""

import json
import os

from tfx.dsl.component.experimental.annotations import OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.types import artifact_utils

from components.common import report_names as rn
from components.common.errors import DataValidationError
from components.data_gate import logic as gate_logic
from components.ingest import logic


@component
def DataIngest(
    examples: OutputArtifact[standard_artifacts.Examples],
    data_uri: Parameter[str],
    data_format: Parameter[str],
    feature_types_json: Parameter[str],
    label: Parameter[str],
    eval_fraction: Parameter[float],
    seed: Parameter[int],
    drop_incomplete_rows: Parameter[int],
    max_dropped_fraction: Parameter[float],
    data_fingerprint: Parameter[str] = "",
    report_dir: Parameter[str] = "",
    column_map_json: Parameter[str] = "",
    impute_columns_json: Parameter[str] = "",
) -> OutputDict(rows_read=int, rows_dropped=int, fingerprint=str):
    """Reads ``data_uri``, drops incomplete rows, splits deterministically, writes Examples.

    ``impute_columns_json`` lists the features with ``missing: impute``: a row missing only
    those is kept (the model imputes them), so it never counts as incomplete.

    ``data_fingerprint`` is not read: it is part of the cache key, so changed data at the same
    URI re-runs the pipeline instead of hitting the cache. ``column_map_json`` is the config's
    ``data.rename`` (source header -> pipeline name), applied right after reading.
    """
    del data_fingerprint
    try:
        train, evaluation, stats = logic.ingest(
            data_uri,
            data_format,
            json.loads(feature_types_json),
            label,
            eval_fraction,
            seed,
            bool(drop_incomplete_rows),
            max_dropped_fraction,
            json.loads(column_map_json) if column_map_json else None,
            json.loads(impute_columns_json) if impute_columns_json else (),
        )
    except DataValidationError as exc:
        if report_dir:
            # The gate never runs when ingest fails: leave the same report it would have written.
            gate_logic.enforce(exc.failures, data_uri, [os.path.join(report_dir, rn.GATE_JSON)])
        raise
    logic.write_split(train, os.path.join(examples.uri, "Split-train"))
    logic.write_split(evaluation, os.path.join(examples.uri, "Split-eval"))
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    examples.span = 0
    examples.set_string_custom_property("data_uri", data_uri)
    examples.set_string_custom_property("fingerprint", stats.fingerprint)
    examples.set_int_custom_property("rows_dropped", stats.rows_dropped)
    examples.set_int_custom_property("rows_read", stats.rows_read)
    return {"rows_read": stats.rows_read, "rows_dropped": stats.rows_dropped, "fingerprint": stats.fingerprint}
