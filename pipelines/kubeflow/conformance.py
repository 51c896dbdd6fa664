"""What open-source KFP 2.x and Vertex AI require of a compiled PipelineSpec, checked before upload.

The rules come from the backends' sources (kubeflow/pipelines ``backend/src/v2``, read at 2.17 and
at HEAD; see ../shared/notes/kubeflow.md and docs/kubeflow.md):

* ``schemaVersion`` 2.1.0: the typed parameter encoding both backends read;
* executors are ``container`` or ``importer`` only: the Argo compiler rejects ``resolver``
  ("resolver not implemented yet") before any task starts;
* every task parameter is a ``runtimeValue.constant``, a component input or a task output: the
  driver reads no other runtime value ("param runtime value spec of type %T not implemented");
  every declared parameter has a ``parameterType``;
* every artifact type title imports in the image as TFX's entrypoint will import it;
* every container runs the project entrypoint (``pipelines.kubeflow.entrypoint``), which restores
  the input types the backends lose and drops the outputs they add;
* the pipeline root is one TFX and TF can open in the image (``gs://`` or a local path), or one
  whose launcher path is the volume every container mounts (``pipelines/kubeflow/volume.py``).

``mlops compile`` refuses to write a spec that breaks a rule; ``tests/e2e/test_kubeflow_conformance.py``
runs the same check on the golden specs and a fresh compile.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import yaml

from pipelines.kubeflow import volume
from pipelines.kubeflow.entrypoint import COMMAND, type_title

SCHEMA_VERSION = "2.1.0"
EXECUTOR_KINDS = {"container", "importer"}
PARAMETER_SOURCES = {"runtimeValue", "componentInputParameter", "taskOutputParameter", "taskFinalStatus"}
ROOT_SCHEMES = ("gs://",)


class NonConformingSpec(ValueError):
    """The compiled spec would be rejected or fail on a backend; ``problems`` says where."""

    def __init__(self, problems: list[str]):
        super().__init__("the compiled pipeline would not run on Kubeflow Pipelines / Vertex AI:\n  - "
                         + "\n  - ".join(problems))
        self.problems = problems


def pipeline_root_problem(root: str, volume_mount: str | None = None) -> str | None:
    """Why a pipeline root cannot work, or None.

    TF's gfile in the project image opens ``gs://`` and local paths, not ``s3://`` (no
    tensorflow-io for Python 3.13) nor ``minio://`` (open-source KFP's default root); TFX
    components open ``artifact.uri`` with it directly, so such a root fails in the first task,
    unless every task mounts a volume at the root's launcher path (``volume_mount``) and the
    entrypoint hands TFX the paths there.
    """
    if "://" not in root or root.startswith(ROOT_SCHEMES):
        return None
    if volume_mount and volume.volume_path(root, volume_mount) is not None:
        return None
    scheme = root.split("://", 1)[0]
    return (
        f"pipeline root {root!r}: TFX and TensorFlow in the project image cannot open {scheme}:// "
        "URIs (no S3 filesystem in TF 2.21 without tensorflow-io). Use a gs:// root (Vertex AI, or "
        "Kubeflow Pipelines with a GCS bucket: set the run's pipeline root or kubeflow.pipeline_root), "
        "or a path on a volume every task mounts; on MinIO-only clusters, put the pipeline root in "
        "GCS or a GCS-compatible gateway"
    )


def load_spec(text: str) -> dict[str, Any]:
    """The PipelineSpec (first YAML document) of a compiled file."""
    return next(iter(yaml.safe_load_all(text)))


def artifact_titles(spec: dict[str, Any]) -> set[str]:
    """Every artifact type title declared by a component or the root."""
    titles = set()
    defs = [c for c in spec.get("components", {}).values()] + [spec.get("root", {})]
    for comp in defs:
        for side in ("inputDefinitions", "outputDefinitions"):
            for art in comp.get(side, {}).get("artifacts", {}).values():
                title = type_title(art.get("artifactType"))
                if title:
                    titles.add(title)
    return titles


def _task_parameters(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    dags = [("root", spec.get("root", {}).get("dag", {}))]
    dags += [(name, c["dag"]) for name, c in spec.get("components", {}).items() if "dag" in c]
    for dag_name, dag in dags:
        for task_name, task in dag.get("tasks", {}).items():
            for pname, pspec in task.get("inputs", {}).get("parameters", {}).items():
                yield f"{dag_name}/{task_name}", pname, pspec


def problems(spec: dict[str, Any], importable: Callable[[str], bool] | None = None) -> list[str]:
    """Every rule the spec breaks (empty: it conforms).

    Args:
        spec: The PipelineSpec as a dict.
        importable: Whether TFX's entrypoint can import an artifact title; None skips that rule
            (it needs the image's TFX).
    """
    out = []
    if spec.get("schemaVersion") != SCHEMA_VERSION:
        out.append(f"schemaVersion is {spec.get('schemaVersion')!r}, not {SCHEMA_VERSION!r}")
    for name, executor in spec.get("deploymentSpec", {}).get("executors", {}).items():
        kinds = set(executor) - EXECUTOR_KINDS
        if kinds:
            out.append(f"executor {name} is a {', '.join(sorted(kinds))} executor (only container and importer run)")
        container = executor.get("container")
        if container is not None and list(container.get("command", [])) != COMMAND:
            out.append(f"executor {name} runs {container.get('command')}, not the project entrypoint {COMMAND}")
    for where, pname, pspec in _task_parameters(spec):
        source = set(pspec) & PARAMETER_SOURCES
        if not source:
            out.append(f"task {where} parameter {pname} has no supported source: {sorted(pspec)}")
        runtime = pspec.get("runtimeValue")
        if runtime is not None and set(runtime) != {"constant"}:
            out.append(f"task {where} parameter {pname} is {sorted(runtime)}, not runtimeValue.constant")
    defs = list(spec.get("components", {}).items()) + [("root", spec.get("root", {}))]
    for cname, comp in defs:
        for pname, pdef in comp.get("inputDefinitions", {}).get("parameters", {}).items():
            if not pdef.get("parameterType"):
                out.append(f"{cname} input parameter {pname} has no parameterType")
    if importable is not None:
        for title in sorted(artifact_titles(spec)):
            if not importable(title):
                out.append(f"artifact type {title!r} cannot be imported by TFX's entrypoint in the image")
    root_problem = pipeline_root_problem(spec.get("defaultPipelineRoot", ""), spec_volume_mount(spec))
    if root_problem:
        out.append(root_problem)
    return out


def spec_volume_mount(spec: dict[str, Any]) -> str | None:
    """The pipeline volume's mount path when every container of the spec names the same one."""
    mounts = {
        next((e.get("value") for e in ex["container"].get("env", []) if e.get("name") == volume.ENV), None)
        for ex in spec.get("deploymentSpec", {}).get("executors", {}).values() if "container" in ex
    }
    return mounts.pop() if len(mounts) == 1 else None


def tfx_importable(title: str) -> bool:
    """Whether TFX's Kubeflow entrypoint can import the class a schema title names (image only)."""
    from tfx.orchestration.kubeflow.v2 import compiler_utils
    from tfx.utils import import_utils

    path = compiler_utils.TITLE_TO_CLASS_PATH.get(title, title)
    try:
        import_utils.import_class_by_path(path)
    except (ImportError, AttributeError, ValueError):
        return False
    return True


def check(spec: dict[str, Any], importable: Callable[[str], bool] | None = tfx_importable) -> None:
    """Raises ``NonConformingSpec`` listing every broken rule."""
    found = problems(spec, importable)
    if found:
        raise NonConformingSpec(found)
