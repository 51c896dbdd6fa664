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

Test hooks: ``final_state``/``final_error``; ``hold_running`` (never finish); ``fail_next`` a
list of ``(method, path regex, status)`` faults served once each (``faults_served`` lists
them); ``calls`` records every request. Nothing is executed; state is in memory. 127.0.0.1 only.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from standin_server import JsonHandler, RunStates, StandInServer, now

PIPELINE_SPEC_FIELDS = {
    "pipelineInfo", "deploymentSpec", "sdkVersion", "schemaVersion", "components", "root", "defaultPipelineRoot",
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


# ------------------------------------------------------------------------------ spec checks


def parse_pipeline_package(raw: bytes) -> dict[str, Any]:
    """``template.NewV2SpecTemplate``: the pipeline spec document, or ApiError(400)."""
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
                "created_at": now(), "_spec": spec,
            }  # fmt: skip
            return 200, _public(s.pipelines[pid])
        if m == "POST" and parts == ["pipelines", "upload_version"]:
            pid = q.get("pipelineid") or ""
            if pid not in s.pipelines:
                raise ApiError(400, f"Failed to create a pipeline version: pipeline {pid!r} not found", upload=True)
            spec = parse_pipeline_package(self._uploaded_file(body))
            name = q.get("name") or q.get("display_name") or ""
            if any(v["pipeline_id"] == pid and v["name"] == name for v in s.versions.values()):
                raise ApiError(409, "Failed to create a pipeline version", upload=True)
            vid = str(uuid.uuid4())
            s.versions[vid] = {
                "pipeline_id": pid, "pipeline_version_id": vid, "name": name,
                "display_name": q.get("display_name") or name, "created_at": now(), "_spec": spec,
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
            req = json.loads(body or b"{}")
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
            return 200, self._create_run(json.loads(body or b"{}"))
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
        s.runs[rid] = {
            **req, "run_id": rid, "state": "PENDING", "created_at": now(), "storage_state": "AVAILABLE",
            "_seq": len(s.runs), "_driver_failure": driver_failure(spec),
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
