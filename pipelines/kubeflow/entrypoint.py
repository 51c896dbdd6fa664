"""The command of every task in the compiled spec: TFX's executor entrypoint, with the backend's additions undone.

TFX's ``kubeflow_v2_run_executor`` rebuilds each input artifact's Python class from the type the
backend hands it in the executor input. Backends lose that type between tasks: open-source KFP's
driver sends ``instanceSchema: ""`` (``backend/src/v2/metadata/client.go``), kfp.local sends
``schemaTitle: system.Artifact``; TFX then fails (AttributeError / ImportError). The task's own
arguments carry every input's declared type (``--json_serialized_inputs_spec_args``, the
component's ``inputDefinitions``), so this entrypoint puts the declared type on each input whose
runtime type is missing or generic, refuses one whose runtime type contradicts the declaration,
and hands over to TFX's entrypoint unchanged.

Backends also add outputs: open-source KFP 2.5+ with the API server's default ``PUBLISH_LOGS=true``
gives every task an ``executor-logs`` output typed ``system.Artifact``
(``backend/src/v2/driver/driver.go``, provisionOutputs), whose class TFX cannot import. TFX's
compiler types every output a component declares with that component's artifact title, so an
output with a missing or generic type is one the backend added: it is left out of what TFX sees
(the launcher writes and uploads the logs itself, from its own copy of the executor input).

Set as the tasks' command by ``KubeflowV2DagRunnerConfig(default_commands=COMMAND)``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml

from pipelines.kubeflow import volume

COMMAND = ["python", "-m", "pipelines.kubeflow.entrypoint"]
INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"
# Runtime types that carry no information: the declared type replaces them.
_GENERIC_TITLES = {"", "system.Artifact", "tfx.Artifact"}


class InputTypeMismatch(ValueError):
    """A backend handed an input artifact whose type contradicts the component's declaration."""


def type_title(artifact_type: dict[str, Any] | None) -> str:
    """The schema title of an ``ArtifactTypeSchema`` (JSON form): ``schemaTitle`` or the title in
    ``instanceSchema``; '' when there is none."""
    if not artifact_type:
        return ""
    if artifact_type.get("schemaTitle"):
        return artifact_type["schemaTitle"]
    schema = artifact_type.get("instanceSchema")
    if schema:
        data = yaml.safe_load(schema)
        if isinstance(data, dict):
            return str(data.get("title") or "")
    return ""


def restore_input_types(executor_input: dict[str, Any], inputs_spec: dict[str, Any]) -> list[str]:
    """Gives every input artifact its declared type where the runtime type is missing or generic.

    Args:
        executor_input: The task's ``ExecutorInput`` as JSON (modified in place).
        inputs_spec: The component's ``inputDefinitions`` as JSON.

    Returns:
        ``"<input>: <runtime title or 'no type'> -> <declared title>"`` for each input changed.

    Raises:
        InputTypeMismatch: A runtime type names another type than the declaration.
    """
    declared = inputs_spec.get("artifacts", {})
    changed = []
    for key, artifact_list in executor_input.get("inputs", {}).get("artifacts", {}).items():
        spec = declared.get(key, {}).get("artifactType")
        want = type_title(spec)
        if not want:
            continue  # nothing declared: leave what the backend sent
        for artifact in artifact_list.get("artifacts", []):
            have = type_title(artifact.get("type"))
            if have in _GENERIC_TITLES:
                artifact["type"] = dict(spec)
                changed.append(f"{key}: {have or 'no type'} -> {want}")
            elif have != want:
                raise InputTypeMismatch(
                    f"input artifact '{key}' arrived as type {have!r}, but the component declares {want!r}: "
                    "the compiled spec and the task do not match (recompile the pipeline with `mlops compile`)"
                )
    return changed


def drop_added_outputs(executor_input: dict[str, Any]) -> list[str]:
    """Removes output artifacts the backend added (missing or generic type) from the executor input.

    Args:
        executor_input: The task's ``ExecutorInput`` as JSON (modified in place).

    Returns:
        ``"<output>: <runtime title or 'no type'>"`` for each output removed.
    """
    outputs = executor_input.get("outputs", {}).get("artifacts", {})
    dropped = []
    for key in sorted(outputs):
        titles = {type_title(a.get("type")) for a in outputs[key].get("artifacts", [])}
        if titles and titles <= _GENERIC_TITLES:
            del outputs[key]
            dropped.append(f"{key}: {' '.join(sorted(t or 'no type' for t in titles))}")
    return dropped


def local_output_parents(executor_input: dict[str, Any]) -> list[str]:
    """Parent folders of local output artifact URIs.

    kfp.local (and KFP on a mounted volume) hands out paths whose folders may not exist; TFX's
    value artifacts (a component's ``OutputDict``) write ``<uri>`` with no ``makedirs``. Object
    store URIs need no folders.
    """
    import os

    parents = set()
    for artifact_list in executor_input.get("outputs", {}).get("artifacts", {}).values():
        for artifact in artifact_list.get("artifacts", []):
            uri = artifact.get("uri", "")
            if uri and "://" not in uri:
                parents.add(os.path.dirname(uri.rstrip("/")))
    return sorted(p for p in parents if p)


def _flag_value(argv: list[str], flag: str) -> tuple[int, str] | None:
    """(index of the value, value) of ``--flag value`` or ``--flag=value`` in argv."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return i + 1, argv[i + 1]
        if arg.startswith(flag + "="):
            return i, arg[len(flag) + 1:]
    return None


def patch_argv(argv: list[str], volume_mount: str | None = None) -> tuple[list[str], list[str]]:
    """argv with the invocation's input types restored and added outputs dropped; also returns what changed.

    With ``volume_mount`` (the spec's ``MLOPS_PIPELINE_VOLUME``), every artifact URI becomes its
    path on that mounted volume (``pipelines/kubeflow/volume.py``).
    """
    invocation = _flag_value(argv, INVOCATION_FLAG)
    if invocation is None:
        return list(argv), []
    executor_input = json.loads(invocation[1])
    spec = _flag_value(argv, INPUTS_SPEC_FLAG)
    changed = restore_input_types(executor_input, json.loads(spec[1])) if spec is not None else []
    changed += [f"output dropped (added by the backend, not declared): {line}" for line in drop_added_outputs(executor_input)]
    if volume_mount:
        changed += [f"artifact on the pipeline volume: {line}" for line in volume.map_artifacts(executor_input, volume_mount)]
    if not changed:
        return list(argv), []
    out = list(argv)
    value = json.dumps(executor_input)
    i = invocation[0]
    out[i] = f"{INVOCATION_FLAG}={value}" if argv[i].startswith(INVOCATION_FLAG + "=") else value
    return out, changed


def main(argv: list[str] | None = None) -> None:
    """Restores input types, drops added outputs, then runs TFX's ``kubeflow_v2_run_executor``."""
    from absl import app, logging
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entrypoint

    import os

    argv = list(sys.argv if argv is None else argv)
    # Components that act differently inside a compiled pipeline (no `mlops run` around it): the
    # VersionedPusher logs the MLflow run itself (pipelines/tracking).
    os.environ.setdefault("MLOPS_RUNNER", "kubeflow")
    try:
        patched, changed = patch_argv(argv, os.environ.get(volume.ENV) or None)
    except (InputTypeMismatch, volume.NotOnVolume) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    invocation = _flag_value(patched, INVOCATION_FLAG)
    if invocation is not None:
        for parent in local_output_parents(json.loads(invocation[1])):
            os.makedirs(parent, exist_ok=True)
    for line in changed:
        logging.info("executor input repaired: %s", line)
    # _parse_flags is TFX's own parser for this entrypoint; we keep its flags exactly.
    app.run(tfx_entrypoint.main, argv=patched, flags_parser=tfx_entrypoint._parse_flags)  # noqa: SLF001


if __name__ == "__main__":
    main()
