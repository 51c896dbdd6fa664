"""pipelines.kubeflow.entrypoint: input artifact types restored from the task's own arguments.

The executor inputs are shaped as the two backends send them (read from their sources, see
docs/kubeflow.md): open-source KFP's driver builds upstream artifacts with an empty
``instanceSchema``; kfp.local types them ``system.Artifact``. The declared types come from the
golden compiled spec, i.e. what the task really receives in ``--json_serialized_inputs_spec_args``.
"""

from __future__ import annotations

import json

import pytest

from pipelines.kubeflow import entrypoint
from pipelines.kubeflow.conformance import load_spec
from tests import golden


def _component(name: str) -> dict:
    spec = load_spec((golden.GOLDEN_DIR / "penguins_pipeline.yaml").read_text())
    return spec["components"][name]


def _executor_input(artifact_type: dict | None) -> dict:
    art = {"name": "projects/p/locations/l/metadataStores/default/artifacts/7", "uri": "gs://b/root/DataIngest/examples",
           "metadata": {"split_names": '["train", "eval"]'}}
    if artifact_type is not None:
        art["type"] = artifact_type
    return {"inputs": {"artifacts": {"examples": {"artifacts": [art]}}},
            "outputs": {"artifacts": {}, "outputFile": "/tmp/out.json"}}


@pytest.mark.parametrize("runtime_type", [
    {"instanceSchema": ""},              # open-source KFP's driver
    {"schemaTitle": "system.Artifact"},  # kfp.local
    None,                                # no type at all
], ids=["oss-kfp-empty-schema", "kfp-local-system-artifact", "missing"])
def test_lost_input_type_gets_the_declared_type(runtime_type):
    inputs_spec = _component("StatisticsGen")["inputDefinitions"]
    executor_input = _executor_input(runtime_type)
    changed = entrypoint.restore_input_types(executor_input, inputs_spec)
    restored = executor_input["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"]
    assert entrypoint.type_title(restored) == "tfx.Examples"
    assert changed == [f"examples: {entrypoint.type_title(runtime_type) or 'no type'} -> tfx.Examples"]


def test_restored_input_parses_in_tfx_entrypoint():
    """What TFX's own entrypoint does with the repaired input: a real Examples artifact."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as utils
    from tfx.types import standard_artifacts

    executor_input = _executor_input({"instanceSchema": ""})
    argv = ["prog", "--executor_class_path", "x.Y",
            entrypoint.INVOCATION_FLAG, json.dumps(executor_input),
            f"{entrypoint.INPUTS_SPEC_FLAG}={json.dumps(_component('StatisticsGen')['inputDefinitions'])}"]
    patched, changed = entrypoint.patch_argv(argv)
    assert changed and patched[:3] == argv[:3] and patched[5] == argv[5]
    proto = pipeline_spec_pb2.ExecutorInput()
    json_format.Parse(patched[4], proto, ignore_unknown_fields=True)
    (examples,) = utils.parse_raw_artifact_dict(proto.inputs.artifacts)["examples"]
    assert isinstance(examples, standard_artifacts.Examples) and examples.uri == "gs://b/root/DataIngest/examples"


def test_custom_type_is_restored_and_imports():
    """DataGate's GE result is one of our mlops.* types: restored, then importable by its title."""
    from tfx.utils import import_utils

    inputs_spec = _component("DataGate")["inputDefinitions"]
    executor_input = {"inputs": {"artifacts": {"ge_result": {"artifacts": [
        {"name": "a/1", "uri": "/r/ge", "type": {"schemaTitle": "system.Artifact"}}]}}}}
    entrypoint.restore_input_types(executor_input, inputs_spec)
    title = entrypoint.type_title(executor_input["inputs"]["artifacts"]["ge_result"]["artifacts"][0]["type"])
    assert title == "mlops.GreatExpectationsResult"
    assert import_utils.import_class_by_path(title).TYPE_NAME == title


def test_contradicting_runtime_type_is_refused_with_the_input_named():
    inputs_spec = _component("StatisticsGen")["inputDefinitions"]
    executor_input = _executor_input({"schemaTitle": "tfx.Model"})
    with pytest.raises(entrypoint.InputTypeMismatch, match=r"'examples' arrived as type 'tfx.Model'.*declares 'tfx.Examples'"):
        entrypoint.restore_input_types(executor_input, inputs_spec)


def test_correct_runtime_type_is_left_alone():
    inputs_spec = _component("StatisticsGen")["inputDefinitions"]
    executor_input = _executor_input({"schemaTitle": "tfx.Examples"})
    argv = ["prog", f"{entrypoint.INVOCATION_FLAG}={json.dumps(executor_input)}",
            entrypoint.INPUTS_SPEC_FLAG, json.dumps(inputs_spec)]
    assert entrypoint.patch_argv(argv) == (argv, [])


def test_outputs_a_backend_adds_are_dropped_and_declared_ones_kept():
    """OSS KFP's driver adds `executor-logs` (system.Artifact) with PUBLISH_LOGS=true (driver.go,
    provisionOutputs); TFX's compiler types every declared output with its class's title."""
    declared = _component("StatisticsGen")["outputDefinitions"]["artifacts"]["statistics"]["artifactType"]
    executor_input = {"outputs": {"artifacts": {
        "statistics": {"artifacts": [{"name": "statistics", "uri": "gs://b/r/StatisticsGen/u/statistics", "type": declared}]},
        "executor-logs": {"artifacts": [{"name": "executor-logs", "uri": "gs://b/r/StatisticsGen/u/executor-logs",
                                         "type": {"schemaTitle": "system.Artifact"}}]},
        "untyped": {"artifacts": [{"name": "untyped", "uri": "gs://b/r/x"}]},
    }, "outputFile": "/gcs/b/r/StatisticsGen/u/output_metadata.json"}}
    assert entrypoint.drop_added_outputs(executor_input) == ["executor-logs: system.Artifact", "untyped: no type"]
    assert list(executor_input["outputs"]["artifacts"]) == ["statistics"]
