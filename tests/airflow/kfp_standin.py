"""A STAND-IN for the Kubeflow Pipelines 2.17 API server, for tests only. It is not KFP.

It serves the ``/apis/v2beta1`` endpoints that the kfp SDK client (``kfp.Client`` 2.17.3, through
kfp-server-api) calls for the kubeflow runner, with the field names and JSON shapes of the v2beta1
API (snake_case, enum names), and it checks what the OSS backend checks, as read in
kubeflow/pipelines at tag 2.17.0:

* ``GET  /healthz``
* ``POST /pipelines/upload`` and ``/pipelines/upload_version`` (multipart ``uploadfile``;
  ``pipeline_upload_server.go``): the spec is parsed like ``template.NewV2SpecTemplate``:
  the YAML document with ``pipelineInfo.name`` and ``root`` is the spec, a second one is
  refused, unknown top-level fields are refused (protojson), and ``schemaVersion`` must be
  ``2.1.0`` ("KFP only supports schema version 2.1.0..."): HTTP 400 with
  ``{"error_message", "error_details"}``. A pipeline or version name taken: HTTP 409.
* ``GET /pipelines``, ``GET /pipelines/{id}/versions``, ``GET/POST /experiments``,
  ``GET /experiments/{id}``, ``GET /runs`` (``filter`` on ``display_name``/``name`` EQUALS,
  ``sort_by=created_at desc``, ``experiment_id``).
* ``POST /runs``: ``validatePipelineJobInputs`` (``v2_template.go``): a parameter the spec does
  not declare, a declared one without ``parameterType``, a value of the wrong kind, or a
  required one missing: HTTP 400 (gRPC InvalidArgument; body ``{"code": 3, "message"}``). Then
  the Argo compile (``compiler/visitor.go``): an executor that is neither ``container`` nor
  ``importer`` (TFX's ``resolver``) fails with HTTP **500** (the backend wraps that compile
  error as an internal error, not a 400).
* ``GET /runs/{id}``: PENDING, then RUNNING, then the final state. What the backend's *driver*
  rejects only when the task starts, the stand-in plays the same way, as a FAILED run with the
  driver's message: a task input given as ``runtimeValue.constantValue`` (the driver reads only
  ``constant``: "param runtime value spec of type ... not implemented"), and a component input
  parameter without ``parameterType`` ("type mismatch: expect PARAMETER_TYPE_ENUM_UNSPECIFIED").
* ``POST /runs/{id}:terminate``: CANCELING, then CANCELED.
* Request bodies (``POST /runs``, ``POST /experiments``) are decoded as the API server decodes
  them: grpc-gateway with ``common.CustomMarshaler()`` (``apiserver/common/utils.go``,
  ``protojson.UnmarshalOptions{DiscardUnknown: false}``, registered in ``apiserver/main.go``),
  so an unknown field at any depth of the ``Run`` / ``RuntimeConfig`` /
  ``PipelineVersionReference`` / ``Experiment`` messages (``backend/api/v2beta1/run.proto``,
  ``runtime_config.proto``, ``experiment.proto``; proto or JSON names) is HTTP 400 with
  protojson's ``unknown field "<name>"``. ``Struct``/``Value`` fields (``pipeline_spec``,
  ``runtime_config.parameters``) take anything, as in protobuf; the output-only messages
  (``error``, ``run_details``, ``state_history``, ``plugins_*``) are not checked field by field.
* The pipeline root, as the v2 root DAG driver resolves it when the run starts
  (``backend/src/v2/driver/root_dag.go``: ``RuntimeConfig.GcsOutputDirectory``, which
  ``apiserver/template/template.go`` fills from the run's ``runtime_config.pipeline_root``;
  else ``config.DefaultPipelineRoot()`` of ``backend/src/v2/config/env.go``: the ``kfp-launcher``
  ConfigMap's ``defaultPipelineRoot``, by default ``minio://mlpipeline/v2/artifacts``). The
  spec's ``defaultPipelineRoot`` is never read. A root that ``objectstore.ParseProviderFromPath``
  (``backend/src/v2/objectstore/config.go``) refuses fails the run in the root driver; a
  ``minio://`` or ``s3://`` root fails the first task, with the error TFX's first file access
  raises in the project image (``tf.io.gfile`` has no such filesystem; TF 2.21, no
  tensorflow-io) on the task's output URI (``driver.go``: ``<root>/<pipeline>/<run id>/<task>/<salt>/<output>``).
  The resolved root is kept as the run's ``_pipeline_root`` (``run_spec`` gives the spec a run
  executes, for its tasks' ``cachingOptions``).

Test hooks: ``final_state``/``final_error``; ``hold_running`` (never finish); ``fail_next`` a
list of ``(method, path regex, status)`` faults served once each (``faults_served`` lists
them); ``calls`` records every request; ``launcher_default_root`` (the ``kfp-launcher``
ConfigMap's root). Nothing is executed; state is in memory. 127.0.0.1 only.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from standin_server import JsonHandler, RunStates, StandInServer, now

PIPELINE_SPEC_FIELDS = {
    "pipelineInfo", "deploymentSpec", "sdkVersion", "schemaVersion", "components", "root", "defaultPipelineRoot",
}  # fmt: skip
# backend/src/v2/config/env.go: defaultPipelineRoot, when the kfp-launcher ConfigMap sets none.
LAUNCHER_DEFAULT_ROOT = "minio://mlpipeline/v2/artifacts"
# backend/src/v2/objectstore/config.go: bucketPattern and the providers ParseBucketPathToConfig accepts.
BUCKET_PATTERN = re.compile(r"(^[a-z][a-z0-9]+:///?)([^/?]+)(/[^?]*)?(\?.+)?$")
PROVIDERS = ("gs://", "s3://", "minio://", "mem://")
# Pipeline roots TF's gfile in the project image opens (TensorFlow 2.21 has GCS, no S3/MinIO).
GFILE_SCHEMES = ("gs://",)

# The v2beta1 request messages' fields (proto names; protojson also takes the JSON names):
# a nested message's name, ANY for Struct/Value/map<string, Value> and output-only messages,
# None for scalars.
ANY = "*"
MESSAGES: dict[str, dict[str, str | None]] = {
    "Run": {
        "experiment_id": None, "run_id": None, "display_name": None, "storage_state": None, "description": None,
        "pipeline_spec": ANY, "pipeline_version_reference": "PipelineVersionReference",
        "runtime_config": "RuntimeConfig", "service_account": None, "created_at": None, "scheduled_at": None,
        "finished_at": None, "state": None, "error": ANY, "run_details": ANY, "recurring_run_id": None,
        "state_history": ANY, "plugins_input": ANY, "plugins_output": ANY,
    },
    "PipelineVersionReference": {"pipeline_id": None, "pipeline_version_id": None},
    "RuntimeConfig": {"parameters": ANY, "pipeline_root": None},
    "Experiment": {
        "experiment_id": None, "display_name": None, "description": None, "created_at": None, "namespace": None,
        "storage_state": None, "last_run_created_at": None,
    },
}  # fmt: skip
PARAMETER_KINDS = {
    "STRING": (str,),
    "NUMBER_INTEGER": (int, float),
    "NUMBER_DOUBLE": (int, float),
    "BOOLEAN": (bool,),
    "LIST": (list,),
    "STRUCT": (dict,),
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, upload: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.upload = upload


class KfpStandIn(StandInServer):
    final_state = "SUCCEEDED"
    #: The kfp-launcher ConfigMap's defaultPipelineRoot (the backend's default when unset).
    launcher_default_root = LAUNCHER_DEFAULT_ROOT
    states = RunStates(pending="PENDING", running="RUNNING", failed="FAILED", cancelling="CANCELING", cancelled="CANCELED")

    def __init__(self, token: str | None = None):
        super().__init__(_Handler)
        self.token = token
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, dict[str, Any]] = {}  # version id -> version (+ "_spec")
        self.experiments: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.terminated: list[str] = []

    def tracked_runs(self) -> dict[str, dict[str, Any]]:
        return self.runs

    def run_spec(self, run_id: str) -> dict[str, Any]:
        """The pipeline spec a run executes: its own ``pipeline_spec``, else its version's."""
        run = self.runs[run_id]
        if run.get("pipeline_spec"):
            return run["pipeline_spec"]
        return self.versions[run["pipeline_version_reference"]["pipeline_version_id"]]["_spec"]


# ------------------------------------------------------------------------------ spec checks


def parse_platform_spec(raw: bytes) -> dict[str, Any]:
    """The package's Kubernetes platform spec (``IsPlatformSpecWithKubernetesConfig``), or {}."""
    for doc in yaml.safe_load_all(raw):
        if isinstance(doc, dict) and "kubernetes" in (doc.get("platforms") or {}):
            return doc["platforms"]["kubernetes"]
    return {}


def parse_pipeline_package(raw: bytes) -> dict[str, Any]:
    """``template.NewV2SpecTemplate``: the pipeline spec document, or ApiError(400). A Kubernetes
    platform spec document beside it is accepted (see :func:`parse_platform_spec`)."""
    try:
        docs = [d for d in yaml.safe_load_all(raw) if d is not None]
    except yaml.YAMLError as exc:
        raise ApiError(400, f"pipeline spec is invalid: unable to decode yaml document: {exc}", upload=True)
    spec = None
    for doc in docs:
        if isinstance(doc, dict) and (doc.get("pipelineInfo") or {}).get("name") and doc.get("root"):
            if spec is not None:
                raise ApiError(400, "pipeline spec is invalid: multiple pipeline specs provided", upload=True)
            unknown = sorted(set(doc) - PIPELINE_SPEC_FIELDS)
            if unknown:
                raise ApiError(400, f"pipeline spec is invalid: invalid v2 pipeline spec: unknown field {unknown[0]!r}", upload=True)
            spec = doc
    if spec is None:
        raise ApiError(400, "pipeline spec is invalid: unknown template format", upload=True)
    if spec.get("schemaVersion") != "2.1.0":
        raise ApiError(
            400,
            "pipeline spec is invalid: KFP only supports schema version 2.1.0, but the pipeline spec has "
            f"version {spec.get('schemaVersion', '')}",
            upload=True,
        )
    return spec


def validate_run_inputs(spec: dict[str, Any], params: dict[str, Any]) -> None:
    """``validatePipelineJobInputs``: ApiError(400) like the backend."""
    declared = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    for name, pspec in declared.items():
        if name not in params:
            if not pspec.get("isOptional") and "defaultValue" not in pspec:
                raise ApiError(400, f"parameter {name} is not optional, yet has neither default value nor user provided value")
            continue
        ptype = pspec.get("parameterType")
        if not ptype:
            raise ApiError(400, f"input parameter {name} has unspecified type")
        kinds = PARAMETER_KINDS.get(ptype)
        value = params[name]
        if kinds is None or isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise ApiError(400, f"input parameter {name} requires type {ptype}, but the parameter value is {type(value).__name__}")
    extra = sorted(set(params) - set(declared))
    if extra:
        raise ApiError(400, f"parameter(s) provided are not required by pipeline: {', '.join(extra)}")


def compile_check(spec: dict[str, Any]) -> None:
    """The Argo compiler's walk (``compiler/visitor.go`` dfs): ApiError(500) like the backend."""
    executors = (spec.get("deploymentSpec") or {}).get("executors") or {}
    components = spec.get("components") or {}
    seen: set[str] = set()

    def visit(name: str, component: dict[str, Any]) -> None:
        if name in seen:
            return
        seen.add(name)
        label = component.get("executorLabel")
        if label:
            executor = executors.get(label)
            if executor is None:
                raise ApiError(500, f'error processing component name="{name}": executor(label="{label}") not found in deployment config')
            if "container" not in executor and "importer" not in executor:
                raise ApiError(
                    500,
                    f'Internal error: Failed to generate the ExecutionSpec: Failed to compile job: error processing component '
                    f'name="{name}": executor(label="{label}"): non-container and non-importer executor not implemented',
                )
            return
        for task_name in sorted((component.get("dag") or {}).get("tasks") or {}):
            ref = ((component["dag"]["tasks"][task_name].get("componentRef") or {}).get("name")) or ""
            if ref not in components:
                raise ApiError(500, f'error processing component name="{name}": cannot find component ref name="{ref}"')
            visit(ref, components[ref])

    visit("root", spec.get("root") or {})


def driver_failure(spec: dict[str, Any]) -> str | None:
    """What the OSS driver refuses when a task starts (``driver/resolve.go``), else None."""
    components = spec.get("components") or {}
    for cname, comp in sorted(components.items()):
        for pname, p in sorted(((comp.get("inputDefinitions") or {}).get("parameters") or {}).items()):
            if not p.get("parameterType"):
                return (
                    f'{cname}: input parameter "{pname}" type mismatch: expect PARAMETER_TYPE_ENUM_UNSPECIFIED, '
                    "got string"
                )

    def tasks(comp: dict[str, Any]):
        for tname, task in sorted(((comp.get("dag") or {}).get("tasks") or {}).items()):
            yield tname, task
            sub = components.get((task.get("componentRef") or {}).get("name") or "")
            if sub and sub.get("dag"):
                yield from tasks(sub)

    for tname, task in tasks(spec.get("root") or {}):
        for pname, p in sorted(((task.get("inputs") or {}).get("parameters") or {}).items()):
            rv = p.get("runtimeValue")
            if rv is not None and "constant" not in rv:
                kind = "ValueOrRuntimeParameter_ConstantValue" if "constantValue" in rv else "<nil>"
                return (
                    f'{tname}: resolving input parameter "{pname}": param runtime value spec of type '
                    f"*pipelinespec.{kind} not implemented"
                )
    return None


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def proto_decode(obj: Any, message: str, raw: bytes) -> Any:
    """protojson with ``DiscardUnknown: false``: the object with proto field names, or
    ApiError(400) naming the first unknown field."""
    if not isinstance(obj, dict):
        return obj
    fields = MESSAGES[message]
    by_name = {**{_json_name(k): k for k in fields}, **{k: k for k in fields}}
    out = {}
    for key, value in obj.items():
        if key not in by_name:
            col = raw.find(json.dumps(key).encode()) + 1
            raise ApiError(400, f'proto: (line 1:{col}): unknown field "{key}"')
        name = by_name[key]
        nested = fields[name]
        out[name] = proto_decode(value, nested, raw) if nested not in (None, ANY) and value is not None else value
    return out


def first_tasks(spec: dict[str, Any]) -> list[str]:
    """Root DAG tasks with no upstream task: what the backend starts first."""
    tasks = ((spec.get("root") or {}).get("dag") or {}).get("tasks") or {}
    return sorted(name for name, task in tasks.items() if not task.get("dependentTasks"))


def root_driver_failure(root: str) -> str | None:
    """``objectstore.ParseProviderFromPath`` in the root DAG driver: the run fails before any task."""
    if not BUCKET_PATTERN.match(root):
        return f'driver.RootDAG failed: parse bucket config failed: unrecognized pipeline root format: "{root}"'
    if not root.startswith(PROVIDERS):
        return f'driver.RootDAG failed: parse bucket config failed: unsupported Cloud bucket: "{root}"'
    return None


def on_pipeline_volume(spec: dict[str, Any], platform: dict[str, Any], root: str) -> bool:
    """Whether the first task reads and writes the root's files on a mounted volume: the platform
    spec mounts a PVC at a path (``kubernetes_platform`` ``pvcMount``) that holds the root's
    launcher path (``launcher_v2.go`` LocalPathForURI), and the task's container names that
    mount in ``MLOPS_PIPELINE_VOLUME``, so the project's entrypoint maps every artifact onto it
    (``pipelines/kubeflow/volume.py``)."""
    from pipelines.kubeflow.volume import ENV, volume_path

    executors = (spec.get("deploymentSpec") or {}).get("executors") or {}
    tasks = ((spec.get("root") or {}).get("dag") or {}).get("tasks") or {}
    components = spec.get("components") or {}
    for name in first_tasks(spec)[:1]:
        executor = (components.get(tasks[name].get("componentRef", {}).get("name", "")) or {}).get("executorLabel", "")
        env = {e.get("name"): e.get("value") for e in ((executors.get(executor) or {}).get("container") or {}).get("env") or []}
        mounts = [m.get("mountPath") for m in
                  (((platform.get("deploymentSpec") or {}).get("executors") or {}).get(executor) or {}).get("pvcMount") or []]
        mount = env.get(ENV)
        return bool(mount) and mount in mounts and volume_path(root, mount) is not None
    return False


def first_task_failure(spec: dict[str, Any], root: str, run_id: str, platform: dict[str, Any] | None = None) -> str | None:
    """A root TFX in the project image cannot open fails the first task's first file access,
    unless the task works on a mounted pipeline volume (:func:`on_pipeline_volume`)."""
    if root.startswith(GFILE_SCHEMES) or on_pipeline_volume(spec, platform or {}, root):
        return None
    task = (first_tasks(spec) or ["root"])[0]
    pipeline = (spec.get("pipelineInfo") or {}).get("name") or "pipeline"
    uri = f"{root.rstrip('/')}/{pipeline}/{run_id}/{task}/{uuid.uuid4()}/output"
    scheme = root.split("://", 1)[0]
    return (
        f"{task}: tensorflow.python.framework.errors_impl.UnimplementedError: File system scheme "
        f"'{scheme}' not implemented (file: '{uri}')"
    )


# ------------------------------------------------------------------------------ HTTP


def _matches(filter_json: str | None, obj: dict[str, Any]) -> bool:
    if not filter_json:
        return True
    for p in json.loads(filter_json).get("predicates", []):
        op = p.get("operation", p.get("op"))
        value = p.get("string_value", p.get("stringValue"))
        key = {"name": "display_name"}.get(p.get("key"), p.get("key"))
        if op not in ("EQUALS", 1) or obj.get(key) != value:
            return False
    return True


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(JsonHandler):
    server: KfpStandIn

    def _error(self, err: ApiError) -> None:
        if err.upload:  # pipeline_upload_server.go writeErrorToResponse
            return self._send(err.status, {"error_message": err.message, "error_details": err.message})
        grpc = {400: 3, 401: 16, 404: 5, 409: 6, 500: 13, 503: 14}.get(err.status, 2)
        self._send(err.status, {"code": grpc, "message": err.message, "details": []})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _uploaded_file(self, body: bytes) -> bytes:
        ctype = self.headers.get("Content-Type") or ""
        if "multipart/form-data" not in ctype:
            raise ApiError(400, "Failed to read pipeline from file", upload=True)
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
        )
        for part in msg.iter_parts():
            if part.get_param("name", header="content-disposition") == "uploadfile":
                return part.get_payload(decode=True)
        raise ApiError(400, "Failed to read pipeline from file", upload=True)

    def _handle(self) -> None:
        u = urlparse(self.path)
        s = self.server
        body = self._body() if self.command == "POST" else b""
        with s.lock:
            status = s.take_fault(self.command, u.path)
            if status is not None:
                return self._send(status, {"code": 14, "message": f"stand-in: injected HTTP {status}", "details": []})
        if s.token and self.headers.get("Authorization") != f"Bearer {s.token}":
            return self._error(ApiError(401, "Unauthenticated: missing or wrong bearer token"))
        prefix = "/apis/v2beta1/"
        if not u.path.startswith(prefix):
            return self._error(ApiError(404, f"stand-in does not serve {u.path}"))
        parts = u.path[len(prefix) :].strip("/").split("/")
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        try:
            with s.lock:
                code, out = self._dispatch(parts, q, body)
        except ApiError as err:
            return self._error(err)
        self._send(code, out)

    do_GET = do_POST = do_DELETE = _handle  # noqa: N815

    def _dispatch(self, parts: list[str], q: dict[str, str], body: bytes) -> tuple[int, Any]:
        s = self.server
        m = self.command
        if m == "GET" and parts == ["healthz"]:
            return 200, {"commit_sha": "stand-in", "tag_name": "2.17.0", "multi_user": False}
        if m == "GET" and parts == ["pipelines"]:
            found = [_public(p) for p in s.pipelines.values() if _matches(q.get("filter"), p)]
            return 200, ({"pipelines": found, "total_size": len(found)} if found else {})
        if m == "POST" and parts == ["pipelines", "upload"]:
            spec = parse_pipeline_package(self._uploaded_file(body))
            platform = parse_platform_spec(self._uploaded_file(body))
            name = q.get("name") or q.get("display_name") or "pipeline"
            if any(p["name"] == name for p in s.pipelines.values()):
                raise ApiError(409, "Failed to create a pipeline and a pipeline version", upload=True)
            pid = str(uuid.uuid4())
            s.pipelines[pid] = {
                "pipeline_id": pid, "name": name, "display_name": q.get("display_name") or name,
                "description": q.get("description") or "", "namespace": q.get("namespace") or "", "created_at": now(),
            }  # fmt: skip
            vid = str(uuid.uuid4())  # the backend creates a first version named like the pipeline
            s.versions[vid] = {
                "pipeline_id": pid, "pipeline_version_id": vid, "name": name, "display_name": name,
                "created_at": now(), "_spec": spec, "_platform": platform,
            }  # fmt: skip
            return 200, _public(s.pipelines[pid])
        if m == "POST" and parts == ["pipelines", "upload_version"]:
            pid = q.get("pipelineid") or ""
            if pid not in s.pipelines:
                raise ApiError(400, f"Failed to create a pipeline version: pipeline {pid!r} not found", upload=True)
            spec = parse_pipeline_package(self._uploaded_file(body))
            platform = parse_platform_spec(self._uploaded_file(body))
            name = q.get("name") or q.get("display_name") or ""
            if any(v["pipeline_id"] == pid and v["name"] == name for v in s.versions.values()):
                raise ApiError(409, "Failed to create a pipeline version", upload=True)
            vid = str(uuid.uuid4())
            s.versions[vid] = {
                "pipeline_id": pid, "pipeline_version_id": vid, "name": name,
                "display_name": q.get("display_name") or name, "created_at": now(), "_spec": spec, "_platform": platform,
            }  # fmt: skip
            return 200, _public(s.versions[vid])
        if m == "GET" and len(parts) == 3 and parts[0] == "pipelines" and parts[2] == "versions":
            found = [
                _public(v) for v in s.versions.values() if v["pipeline_id"] == parts[1] and _matches(q.get("filter"), v)
            ]
            return 200, ({"pipeline_versions": found, "total_size": len(found)} if found else {})
        if m == "GET" and parts == ["experiments"]:
            found = [e for e in s.experiments.values() if _matches(q.get("filter"), e)]
            return 200, ({"experiments": found, "total_size": len(found)} if found else {})
        if m == "GET" and len(parts) == 2 and parts[0] == "experiments":
            if parts[1] not in s.experiments:
                raise ApiError(404, f"experiment {parts[1]} not found")
            return 200, s.experiments[parts[1]]
        if m == "POST" and parts == ["experiments"]:
            req = proto_decode(json.loads(body or b"{}"), "Experiment", body)
            if not req.get("display_name"):
                raise ApiError(400, "Experiment name is empty. Please specify a valid experiment name")
            eid = str(uuid.uuid4())
            s.experiments[eid] = {
                "experiment_id": eid, "display_name": req["display_name"], "namespace": req.get("namespace") or "",
                "created_at": now(), "storage_state": "AVAILABLE",
            }  # fmt: skip
            return 200, s.experiments[eid]
        if m == "GET" and parts == ["runs"]:
            found = [
                _public(r)
                for r in s.runs.values()
                if _matches(q.get("filter"), r) and (not q.get("experiment_id") or r.get("experiment_id") == q["experiment_id"])
            ]
            found.sort(key=lambda r: s.runs[r["run_id"]]["_seq"], reverse="desc" in (q.get("sort_by") or ""))
            return 200, ({"runs": found, "total_size": len(found)} if found else {})
        if m == "POST" and parts == ["runs"]:
            return 200, self._create_run(proto_decode(json.loads(body or b"{}"), "Run", body))
        if len(parts) == 2 and parts[0] == "runs" and m == "GET":
            return 200, self._poll(parts[1])
        if len(parts) == 2 and parts[0] == "runs" and m == "POST" and parts[1].endswith(":terminate"):
            rid = parts[1][: -len(":terminate")]
            run = s.runs.get(rid)
            if run is None:
                raise ApiError(404, f"run {rid} not found")
            s.terminated.append(rid)
            if run["state"] not in ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"):
                run["state"] = "CANCELING"
            return 200, {}
        raise ApiError(404, f"stand-in does not implement {m} {self.path}")

    def _create_run(self, req: dict[str, Any]) -> dict[str, Any]:
        s = self.server
        ref = req.get("pipeline_version_reference") or {}
        ver = s.versions.get(ref.get("pipeline_version_id") or "")
        if ver is None or ver["pipeline_id"] != ref.get("pipeline_id"):
            raise ApiError(500, "Failed to create a run due to error fetching manifest: pipeline version not found")
        if req.get("experiment_id") and req["experiment_id"] not in s.experiments:
            raise ApiError(404, f"experiment {req['experiment_id']} not found")
        spec = ver["_spec"]
        params = (req.get("runtime_config") or {}).get("parameters") or {}
        validate_run_inputs(spec, params)
        compile_check(spec)
        rid = str(uuid.uuid4())
        root = (req.get("runtime_config") or {}).get("pipeline_root") or s.launcher_default_root
        # The root driver runs first, then each task's driver, then the task itself.
        failure = (root_driver_failure(root) or driver_failure(spec)
                   or first_task_failure(spec, root, rid, ver.get("_platform")))
        s.runs[rid] = {
            **req, "run_id": rid, "state": "PENDING", "created_at": now(), "storage_state": "AVAILABLE",
            "_seq": len(s.runs), "_driver_failure": failure, "_pipeline_root": root,
        }  # fmt: skip
        return _public(s.runs[rid])

    def _poll(self, rid: str) -> dict[str, Any]:
        s = self.server
        run = s.runs.get(rid)
        if run is None:
            raise ApiError(404, f"run {rid} not found")
        run["state"], error, ended = s.advance(rid, run["state"], run["_driver_failure"])
        if error:
            run["error"] = {"code": 2, "message": error, "details": []}
        if ended:
            run["finished_at"] = now()
        return _public(run)
