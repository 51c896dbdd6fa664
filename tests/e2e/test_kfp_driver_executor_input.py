"""Every task of every golden spec parses in TFX's entrypoint when fed what the KFP 2.17 driver sends.

For each container task, in DAG order, ``tests.kfp_backend.executor_input`` builds the executor
input the open-source 2.17 driver and launcher hand the container (each shape with the Go source
it comes from in that module's docstring): inputs as the producer's MLMD artifact with a blank
``instanceSchema`` (``metadata/client.go``), the declared outputs plus ``executor-logs`` typed
``system.Artifact`` (``driver/driver.go``, PUBLISH_LOGS=true), gs:// URIs and the ``/gcs/``
``outputFile`` (``component/launcher_v2.go``), run parameters resolved as ``driver/resolve.go``
does. The test substitutes it for ``{{$}}`` in the compiled args as the launcher does, runs
``pipelines.kubeflow.entrypoint.patch_argv``, then TFX's own flag parser,
``parse_raw_artifact_dict`` (inputs and outputs) and ``parse_execution_properties``, the first
steps of ``kubeflow_v2_run_executor``. What a task records for its outputs (TFX's
``translate_executor_output``) is what the next task receives.
"""

from __future__ import annotations

import json

import pytest

from pipelines.kubeflow import entrypoint
from pipelines.kubeflow.conformance import load_spec
from tests import golden
from tests import kfp_backend as kfp

pytestmark = pytest.mark.e2e

RUN = {"data_uri": "gs://example-bucket/data/penguins.csv", "data_fingerprint": "gs-generation:7 md5:abc",
       "serving_version": 3}


def _argv(container: dict, executor_input: dict) -> list[str]:
    """The container's argv after the launcher's placeholder substitution (compileCmdAndArgs)."""
    payload = json.dumps(executor_input)
    return [*container["command"], *(a.replace("{{$}}", payload) for a in container["args"])]


def _parse(argv: list[str]):
    """TFX's entrypoint up to the executor: its flag parser, then the artifact and property parsing."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as utils
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entrypoint

    args, _beam_args = tfx_entrypoint._parse_flags(argv[len(entrypoint.COMMAND):])  # noqa: SLF001
    proto = pipeline_spec_pb2.ExecutorInput()
    json_format.Parse(args.json_serialized_invocation_args, proto, ignore_unknown_fields=True)
    inputs_spec = pipeline_spec_pb2.ComponentInputsSpec()
    json_format.Parse(args.json_serialized_inputs_spec_args, inputs_spec, ignore_unknown_fields=True)
    names: dict = {}
    inputs = utils.parse_raw_artifact_dict(proto.inputs.artifacts, names)
    outputs = utils.parse_raw_artifact_dict(proto.outputs.artifacts, names)
    props = utils.parse_execution_properties(proto.inputs.parameter_values, proto.inputs.parameters, inputs_spec)
    return proto, inputs, outputs, props, names


def _recorded(outputs: dict, names: dict, ids) -> dict[str, kfp.Artifact]:
    """What the launcher records in MLMD for the task's outputs: TFX's own executor output
    (``translate_executor_output``), after the executor set what TFX executors set (split names)."""
    from google.protobuf import json_format
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as utils

    for (artifact,) in outputs.values():
        if "split_names" in artifact.artifact_type.properties:
            artifact.split_names = '["train", "eval"]'
        artifact.set_int_custom_property("rows_read", 333)  # an integer arrives downstream as a JSON number
    out = {}
    for key, artifact_list in utils.translate_executor_output(outputs, names).items():
        runtime = json_format.MessageToDict(artifact_list.artifacts[0])
        out[key] = kfp.Artifact(next(ids), runtime["uri"], runtime.get("metadata", {}))
    return out


def _declared_class(artifact_type: dict) -> type:
    """The class a declared type names, as TFX's entrypoint resolves a title (first-party titles
    through ``TITLE_TO_CLASS_PATH``: ``tfx.Integer`` is ``Integer``, TYPE_NAME without the prefix)."""
    from tfx.orchestration.kubeflow.v2 import compiler_utils
    from tfx.utils import import_utils

    title = entrypoint.type_title(artifact_type)
    return import_utils.import_class_by_path(compiler_utils.TITLE_TO_CLASS_PATH.get(title, title))


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_every_task_parses_what_the_driver_sends(name):
    import itertools

    spec = load_spec((golden.GOLDEN_DIR / name).read_text())
    params = kfp.run_parameters(spec, RUN)
    produced: dict = {}
    ids = itertools.count(101)
    tasks = kfp.container_tasks(spec)
    assert len(tasks) >= 15, sorted(tasks)
    for task in kfp.task_order(spec):
        container, component = tasks[task]["container"], tasks[task]["component"]
        executor_input = kfp.executor_input(spec, task, params, produced, salt=f"uuid-{task}")
        assert kfp.EXECUTOR_LOGS in executor_input["outputs"]["artifacts"]
        assert executor_input["outputs"]["outputFile"].startswith("/gcs/example-bucket/pipeline-root/")
        raw = _argv(container, executor_input)
        # Unrepaired, TFX cannot import the class of the driver's executor-logs output (nor of a
        # blank input schema): the reason the entrypoint exists.
        with pytest.raises((ImportError, AttributeError)):
            _parse(raw)

        patched, changed = entrypoint.patch_argv(raw)
        assert any(kfp.EXECUTOR_LOGS in line for line in changed), changed
        proto, inputs, outputs, props, names = _parse(patched)

        declared_in = component.get("inputDefinitions", {}).get("artifacts", {})
        declared_out = component.get("outputDefinitions", {}).get("artifacts", {})
        assert set(inputs) == set(executor_input["inputs"]["artifacts"]) <= set(declared_in), task
        for key, (artifact,) in inputs.items():
            assert type(artifact) is _declared_class(declared_in[key]["artifactType"]), (task, key)
            upstream = executor_input["inputs"]["artifacts"][key]["artifacts"][0]
            assert artifact.uri == upstream["uri"] and artifact.uri.startswith("gs://"), (task, key)
            if "split_names" in artifact.artifact_type.properties:
                assert json.loads(artifact.split_names) == ["train", "eval"], (task, key)
        assert set(outputs) == set(declared_out), (task, sorted(outputs))
        for key, (artifact,) in outputs.items():
            assert type(artifact) is _declared_class(declared_out[key]["artifactType"]), (task, key)
            assert artifact.uri == f"{kfp.PIPELINE_ROOT}/{task}/uuid-{task}/{key}"
        # Nothing to create locally: every output is in the bucket.
        assert entrypoint.local_output_parents(json.loads(patched[patched.index(entrypoint.INVOCATION_FLAG) + 1])) == []
        _check_run_parameters(task, props)
        for key, artifact in _recorded(outputs, names, ids).items():
            produced[(task, key)] = artifact


def _check_run_parameters(task: str, props: dict) -> None:
    """The run parameters reach the components typed as declared (NUMBER_INTEGER -> int)."""
    if task == "DataIngest":
        assert props["data_fingerprint"] == RUN["data_fingerprint"] and props["data_uri"] == RUN["data_uri"]
    if task in ("ServingModelBaseline", "DriftCheck"):
        assert props["serving_version"] == 3 and isinstance(props["serving_version"], int), props
