"""TFX adapter: derive a GE suite from the schema and run it on every split, with Data Docs."""

import dataclasses
import json
import os

from tfx import v1 as tfx
from tfx.utils import io_utils

from components.common import examples_io
from components.common.artifacts import GreatExpectationsResult
from components.ge_validation import suite as suite_lib
from components.ge_validation import validate


@tfx.dsl.components.component
def GreatExpectationsValidation(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    schema: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Schema],
    result: tfx.dsl.components.OutputArtifact[GreatExpectationsResult],
    dataset: tfx.dsl.components.Parameter[str] = "data",
    max_examples: tfx.dsl.components.Parameter[int] = 5,
    report_dir: tfx.dsl.components.Parameter[str] = "",
) -> tfx.dsl.components.OutputDict(success=int, failures=int):
    """Writes ``result.json`` (failures per split), ``expectation_suite.json`` and ``data_docs/``."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema_proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
    suite = suite_lib.suite_from_schema(schema_proto, f"{dataset}-suite")
    suite_lib.write_suite(suite, os.path.join(result.uri, "expectation_suite.json"))
    numeric = [f.name for f in schema_proto.feature if f.type in (schema_pb2.FLOAT, schema_pb2.INT)]
    splits = json.loads(examples.split_names)
    per_split, failures = {}, 0
    for split in splits:
        frame = examples_io.numeric_like(examples_io.read_split(examples.uri, split), numeric)
        docs = os.path.join(report_dir or result.uri, "data_docs", split)
        report = validate.validate_dataframe(frame, suite, docs, dataset_name=f"{dataset}-{split}", max_examples=max_examples)
        report.failures = [dataclasses.replace(f, detail=f"[{split}] {f.detail}".strip()) for f in report.failures]
        per_split[split] = report.to_dict()
        failures += len(report.failures)
    with open(os.path.join(result.uri, "result.json"), "w") as fh:
        json.dump({"success": failures == 0, "splits": per_split}, fh, indent=2, default=str)
    return {"success": int(failures == 0), "failures": failures}
