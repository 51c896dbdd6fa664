"""What the open-source KFP 2.17 backend hands a task and how it keys its cache, rebuilt from its Go source.

Read at kubeflow/pipelines tag 2.17.0 (``backend/src/v2``); each shape names the file it comes from:

* ``driver/container.go`` + ``driver/driver.go`` (provisionOutputs): a task's outputs are its
  component's ``outputDefinitions`` artifacts, each named after its key, typed as declared, at
  ``<pipeline root>/<task name>/<uuid>/<key>``; with ``PUBLISH_LOGS=true`` (the API server's default)
  one more, ``executor-logs``, typed ``schemaTitle: system.Artifact``; ``outputFile`` is
  ``LocalPathForURI(<root>/<task>/<uuid>)/output_metadata.json`` (``component/launcher_v2.go``:
  ``gs://b/k`` -> ``/gcs/b/k``); output parameters go to ``/tmp/kfp/outputs/<name>``.
* ``metadata/client.go`` (GetOutputArtifactsByExecutionId, ``Schema: ""``) and
  ``metadata/converter.go`` (toRuntimeArtifact): an input artifact is the producer's MLMD
  artifact: ``name`` its MLMD id in decimal, its URI, its properties and custom properties as
  ``metadata`` (integers as JSON numbers), and ``type: {instanceSchema: ""}``.
* ``driver/resolve.go`` and ``compiler/argocompiler/argo.go``: input parameters are the task's
  constants and the run's parameters, the root's ``defaultValue`` for those a run leaves out.
* ``cacheutils/cache.go`` (GenerateCacheKey, GenerateFingerPrint) with ``driver/cache.go``
  (getFingerPrint): the cache key is the input parameter values, the input artifact *names*
  (MLMD ids), the output artifacts' name/type/metadata (URI wiped), the output parameters'
  types, the container's command + args as written in the spec (placeholders unresolved), the
  image and the PVC names; its SHA-256 is looked up among earlier tasks of the same pipeline and
  namespace. A hit hands the downstream tasks the cached execution's output artifacts.

Only the shapes matter here; the JSON byte layout of the hashed key differs from Go's, which
changes the hex digest but not which keys are equal.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

PIPELINE_ROOT = "gs://example-bucket/pipeline-root"
EXECUTOR_LOGS = "executor-logs"


def local_path_for_uri(uri: str) -> str:
    """``component.LocalPathForURI`` (launcher_v2.go) for the schemes a pipeline root can have."""
    for scheme, mount in (("gs://", "/gcs/"), ("minio://", "/minio/"), ("s3://", "/s3/")):
        if uri.startswith(scheme):
            return mount + uri[len(scheme):]
    raise ValueError(f"unsupported storage scheme: {uri}")


def container_tasks(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{task name: {"component": ..., "container": ...}} for every container task of the root DAG."""
    executors = spec["deploymentSpec"]["executors"]
    out = {}
    for name, task in spec["root"]["dag"]["tasks"].items():
        component = spec["components"][task["componentRef"]["name"]]
        executor = executors[component["executorLabel"]]
        if "container" in executor:
            out[name] = {"task": task, "component": component, "container": executor["container"]}
    return out


def _producers(task: dict[str, Any]) -> set[str]:
    """The tasks whose output artifacts ``task`` reads."""
    return {a["taskOutputArtifact"]["producerTask"]
            for a in task.get("inputs", {}).get("artifacts", {}).values() if "taskOutputArtifact" in a}


def task_order(spec: dict[str, Any]) -> list[str]:
    """The root DAG's tasks, each after the tasks it depends on (``dependentTasks``, producers)."""
    tasks = spec["root"]["dag"]["tasks"]
    done: list[str] = []
    while len(done) < len(tasks):
        ready = sorted(n for n, t in tasks.items()
                       if n not in done and _producers(t) | set(t.get("dependentTasks", [])) <= set(done))
        if not ready:
            raise ValueError("the DAG has a cycle")
        done.extend(ready)
    return done


def run_parameters(spec: dict[str, Any], submitted: dict[str, Any]) -> dict[str, Any]:
    """The run's parameters: what was submitted, else the root's ``defaultValue`` (argo.go)."""
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    unknown = set(submitted) - set(declared)
    if unknown:
        raise ValueError(f"parameters the spec does not declare: {sorted(unknown)}")
    out = {}
    for name, pdef in declared.items():
        if name in submitted:
            out[name] = submitted[name]
        elif "defaultValue" in pdef:
            out[name] = pdef["defaultValue"]
    return out


def input_parameters(task: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The task's resolved input parameter values (resolve.go): constants and run parameters.
    A number is a JSON number (``structpb`` has no integers)."""
    out = {}
    for name, source in task.get("inputs", {}).get("parameters", {}).items():
        if "runtimeValue" in source:
            value = source["runtimeValue"]["constant"]
        elif "componentInputParameter" in source:
            value = params[source["componentInputParameter"]]
        else:
            raise ValueError(f"parameter {name}: source {sorted(source)} not simulated")
        out[name] = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return out


@dataclass
class Artifact:
    """An artifact as MLMD holds it after a task: id, URI and metadata (properties)."""

    id: int
    uri: str
    metadata: dict[str, Any] = field(default_factory=dict)


def executor_input(
    spec: dict[str, Any],
    task_name: str,
    params: dict[str, Any],
    upstream: dict[tuple[str, str], Artifact],
    salt: str,
    publish_logs: bool = True,
) -> dict[str, Any]:
    """The ``ExecutorInput`` (JSON) the 2.17 driver writes for a task, as the launcher passes it to
    the container in ``{{$}}``.

    Args:
        spec: The PipelineSpec.
        task_name: A container task of the root DAG.
        params: The run's parameters (``run_parameters``).
        upstream: {(producer task, output key): the artifact it recorded}.
        salt: The driver's per-execution uuid in output URIs.
        publish_logs: The API server's ``PUBLISH_LOGS`` (true by default).
    """
    entry = container_tasks(spec)[task_name]
    task, component = entry["task"], entry["component"]
    inputs: dict[str, Any] = {"parameterValues": input_parameters(task, params), "artifacts": {}}
    for key, source in task.get("inputs", {}).get("artifacts", {}).items():
        ref = source["taskOutputArtifact"]
        art = upstream[(ref["producerTask"], ref["outputArtifactKey"])]
        inputs["artifacts"][key] = {"artifacts": [{
            "name": str(art.id), "uri": art.uri, "metadata": copy.deepcopy(art.metadata),
            "type": {"instanceSchema": ""},  # metadata/client.go: Schema: "" (a TODO since 2022)
        }]}
    declared = dict(component.get("outputDefinitions", {}).get("artifacts", {}))
    if publish_logs:
        declared[EXECUTOR_LOGS] = {"artifactType": {"schemaTitle": "system.Artifact"}}
    task_root = f"{PIPELINE_ROOT}/{task_name}/{salt}"
    outputs: dict[str, Any] = {
        "artifacts": {key: {"artifacts": [{"name": key, "uri": f"{task_root}/{key}", "type": d["artifactType"],
                                           **({"metadata": d["metadata"]} if "metadata" in d else {})}]}
                      for key, d in declared.items()},
        "parameters": {name: {"outputFile": f"/tmp/kfp/outputs/{name}"}
                       for name in component.get("outputDefinitions", {}).get("parameters", {})},
        "outputFile": f"{local_path_for_uri(task_root)}/output_metadata.json",
    }
    return {"inputs": inputs, "outputs": outputs}


def cache_fingerprint(spec: dict[str, Any], task_name: str, executor_input_json: dict[str, Any]) -> str:
    """The task's cache fingerprint (cacheutils/cache.go GenerateCacheKey + GenerateFingerPrint)."""
    entry = container_tasks(spec)[task_name]
    component, container = entry["component"], entry["container"]
    inputs, outputs = executor_input_json["inputs"], executor_input_json["outputs"]
    output_param_types = {name: p.get("parameterType", "")
                          for name, p in component.get("outputDefinitions", {}).get("parameters", {}).items()}
    key = {
        "inputArtifactNames": {k: {"artifactNames": [a["name"] for a in v["artifacts"]]}
                               for k, v in inputs.get("artifacts", {}).items()},
        "inputParameterValues": inputs.get("parameterValues", {}),
        "outputArtifactsSpec": {k: {f: v["artifacts"][0][f] for f in ("name", "type", "metadata") if f in v["artifacts"][0]}
                                for k, v in outputs.get("artifacts", {}).items() if v["artifacts"]},
        "outputParametersSpec": {name: output_param_types[name] for name in outputs.get("parameters", {})},
        "containerSpec": {"image": container["image"],
                          "cmdArgs": list(container.get("command", [])) + list(container.get("args", [])),
                          "pvcNames": []},
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Cluster:
    """One pipeline's cache on a KFP 2.17 cluster: submissions run every task in DAG order, each
    a hit (the cached execution's artifacts go downstream) or a miss (it executes and records new
    artifacts)."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self._cache: dict[str, dict[str, Artifact]] = {}
        self._ids = itertools.count(1)

    def submit(self, parameters: dict[str, Any]) -> dict[str, bool]:
        """Runs one submission with ``parameters``; returns {task name: cache hit}."""
        params = run_parameters(self.spec, parameters)
        produced: dict[tuple[str, str], Artifact] = {}
        hits = {}
        for name in task_order(self.spec):
            if name not in container_tasks(self.spec):
                continue
            ei = executor_input(self.spec, name, params, produced, salt=f"uuid-{next(self._ids)}")
            fingerprint = cache_fingerprint(self.spec, name, ei)
            hits[name] = fingerprint in self._cache
            if not hits[name]:
                self._cache[fingerprint] = {
                    key: Artifact(next(self._ids), art["artifacts"][0]["uri"])
                    for key, art in ei["outputs"]["artifacts"].items()}
            for key, art in self._cache[fingerprint].items():
                produced[(name, key)] = art
        return hits


def downstream(spec: dict[str, Any], start: str) -> set[str]:
    """``start`` and every task that reads, directly or not, an artifact it produced."""
    tasks = spec["root"]["dag"]["tasks"]
    found = {start}
    changed = True
    while changed:
        changed = False
        for name, task in tasks.items():
            if name not in found and _producers(task) & found:
                found.add(name)
                changed = True
    return found
