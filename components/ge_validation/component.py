"""TFX adapter: derive a GE suite from the schema and run it on every split, with Data Docs."""

import dataclasses
import json
import os
import tempfile

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.utils import io_utils

from components.common import examples_io, gfile_io
from components.common import report_names as rn
from components.common.artifacts import GreatExpectationsResult
from components.ge_validation import suite as suite_lib
from components.ge_validation import validate


@component
def GreatExpectationsValidation(
    examples: InputArtifact[standard_artifacts.Examples],
    schema: InputArtifact[standard_artifacts.Schema],
    result: OutputArtifact[GreatExpectationsResult],
    dataset: Parameter[str] = "data",
    max_examples: Parameter[int] = 5,
    report_dir: Parameter[str] = "",
) -> OutputDict(success=int, failures=int):
    """Writes ``result.json`` (failures per split), ``expectation_suite.json`` and ``data_docs/``."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema_proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
    suite = suite_lib.suite_from_schema(schema_proto, f"{dataset}-suite")
    gfile_io.write_text(gfile_io.join(result.uri, "expectation_suite.json"), suite_lib.suite_json(suite))
    numeric = [f.name for f in schema_proto.feature if f.type in (schema_pb2.FLOAT, schema_pb2.INT)]
    splits = json.loads(examples.split_names)
    per_split, failures = {}, 0
    for split in splits:
        frame = examples_io.numeric_like(examples_io.read_split(examples.uri, split), numeric)
        # The Data Docs are part of the artifact (the KFP/Vertex run page and `mlops run` read them
        # there); a local run also gets them in report_dir, which failure messages point at.
        docs = gfile_io.join(result.uri, rn.DATA_DOCS, split)
        # GE writes Data Docs with plain file I/O: render them locally, then ship the folder.
        with tempfile.TemporaryDirectory(prefix="gx-docs-") as tmp:
            report = validate.validate_dataframe(
                frame, suite, os.path.join(tmp, "docs"), dataset_name=f"{dataset}-{split}", max_examples=max_examples
            )
            gfile_io.copy_dir_to(os.path.join(tmp, "docs"), docs)
            if report_dir:
                docs = gfile_io.join(report_dir, rn.DATA_DOCS, split)
                gfile_io.copy_dir_to(os.path.join(tmp, "docs"), docs)
        report.data_docs = gfile_io.join(docs, rn.INDEX_HTML)
        report.failures = [dataclasses.replace(f, detail=f"[{split}] {f.detail}".strip()) for f in report.failures]
        per_split[split] = report.to_dict()
        failures += len(report.failures)
    gfile_io.write_json(gfile_io.join(result.uri, "result.json"), {"success": failures == 0, "splits": per_split}, default=str)
    return {"success": int(failures == 0), "failures": failures}
