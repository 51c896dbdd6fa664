"""A STAND-IN for the Vertex AI Pipelines REST API (v1), for tests only. It is not Vertex AI.

There is no Vertex emulator. This server answers the calls that ``aiplatform.PipelineJob`` makes
over the REST transport (``aiplatform.init(api_endpoint=..., api_transport="rest")`` with
anonymous credentials):

* ``POST /v1/projects/{p}/locations/{l}/pipelineJobs?pipelineJobId=`` (create),
* ``GET  /v1/projects/{p}/locations/{l}/pipelineJobs/{id}`` (get; the job's ``name`` uses a
  project *number*, as Vertex does, and both forms are accepted),
* ``POST /v1/.../pipelineJobs/{id}:cancel``,

plus the Cloud Storage JSON API calls that ``PipelineJob.submit`` makes for the pipeline root's
bucket when ``STORAGE_EMULATOR_HOST`` points here (get; create and IAM get/set when it is missing,
which is what tests use: for an existing bucket aiplatform asks the Resource Manager API for the
project number, which no stand-in serves).

On create it rejects, with Vertex's error shape (``{"error": {"code", "message", "status"}}``),
what Vertex rejects and is cheap to check: a job id outside ``[a-z][-a-z0-9]{0,127}``, an
existing job id (409 ALREADY_EXISTS), a spec whose ``schemaVersion`` is not 2.0.0/2.1.0 or that
lacks ``pipelineInfo.name``/``root``/``deploymentSpec``, a component whose executor is missing,
a ``gcsOutputDirectory`` that is not ``gs://``, a parameter value the spec does not declare or of
the wrong kind, a required parameter without a value, malformed labels, a service account that
is not an e-mail, an executor whose accelerator type is not a Vertex ``AcceleratorType``
(``google/cloud/aiplatform_v1/types/accelerator_type.py`` of google-cloud-aiplatform 1.165.1;
a Kubernetes resource name such as ``nvidia.com/gpu`` is not one; the message is the stand-in's). It does not run anything, check images, IAM or quotas. Jobs go PENDING,
RUNNING, then ``final_state`` (with ``final_error``); ``hold_running`` keeps them running;
``fail_next`` serves one injected error per entry ``(method, path regex, status)``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from standin_server import JsonHandler, RunStates, StandInServer, now

PROJECT_NUMBER = "123456789012"
JOB_ID = re.compile(r"^[a-z][-a-z0-9]{0,127}$")
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KINDS = {
    "STRING": (str,), "NUMBER_INTEGER": (int,), "NUMBER_DOUBLE": (int, float), "BOOLEAN": (bool,),
    "LIST": (list,), "STRUCT": (dict,), "INT": (int,), "DOUBLE": (int, float),
}  # fmt: skip
# google/cloud/aiplatform_v1/types/accelerator_type.py (google-cloud-aiplatform 1.165.1), without UNSPECIFIED.
ACCELERATOR_TYPES = {
    "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "NVIDIA_L4", "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB",
    "NVIDIA_H200_141GB", "NVIDIA_B200", "NVIDIA_GB200", "NVIDIA_RTX_PRO_6000", "TPU_V2", "TPU_V3", "TPU_V4_POD",
    "TPU_V5_LITEPOD",
}  # fmt: skip
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip


class VertexError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_job(job_id: str, job: dict[str, Any]) -> None:
    """Raises VertexError(400) for what Vertex would refuse (see the module docstring)."""
    if not JOB_ID.match(job_id or ""):
        raise VertexError(400, f"Invalid pipeline job id {job_id!r}: must match {JOB_ID.pattern}")
    if len(job.get("displayName") or "") > 128:
        raise VertexError(400, "displayName is longer than 128 characters")
    spec = job.get("pipelineSpec") or {}
    if spec.get("schemaVersion") not in ("2.0.0", "2.1.0"):
        raise VertexError(400, f"Unsupported PipelineSpec schemaVersion {spec.get('schemaVersion')!r}")
    if not (spec.get("pipelineInfo") or {}).get("name") or not spec.get("root"):
        raise VertexError(400, "pipelineSpec needs pipelineInfo.name and root")
    executors = (spec.get("deploymentSpec") or {}).get("executors")
    if not executors:
        raise VertexError(400, "pipelineSpec.deploymentSpec.executors is empty")
    for name, comp in (spec.get("components") or {}).items():
        label = comp.get("executorLabel")
        if label and label not in executors:
            raise VertexError(400, f"component {name}: executor {label!r} not found in deploymentSpec")
    for label, executor in sorted(executors.items()):
        resources = (executor.get("container") or {}).get("resources") or {}
        for kind in ((resources.get("accelerator") or {}).get("type"), resources.get("resourceAcceleratorType")):
            if kind and kind not in ACCELERATOR_TYPES:
                raise VertexError(400, f"executor {label}: accelerator type {kind!r} is not a Vertex AI AcceleratorType")
    rc = job.get("runtimeConfig") or {}
    if not str(rc.get("gcsOutputDirectory") or "").startswith("gs://"):
        raise VertexError(400, f"runtimeConfig.gcsOutputDirectory must be a gs:// URI, got {rc.get('gcsOutputDirectory')!r}")
    declared = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    values = rc.get("parameterValues") or {}
    for name, value in values.items():
        if name not in declared:
            raise VertexError(400, f"The pipeline parameter {name} is not found in the pipeline job input definitions")
        ptype = declared[name].get("parameterType") or declared[name].get("type")
        kinds = KINDS.get(ptype or "")
        if ptype in ("NUMBER_INTEGER", "INT") and isinstance(value, float) and value.is_integer():
            value = int(value)  # a protobuf Value's number is a double on the wire: 0 arrives as 0.0
        if kinds is None or isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise VertexError(400, f"parameter {name}: value {value!r} is not of type {ptype}")
    for name, p in declared.items():
        if name not in values and not p.get("isOptional") and "defaultValue" not in p:
            raise VertexError(400, f"parameter {name} is required and has no default value")
    for k, v in (job.get("labels") or {}).items():
        if not LABEL_KEY.match(k) or not LABEL_VALUE.match(str(v)):
            raise VertexError(400, f"invalid label {k}={v}")
    sa = job.get("serviceAccount")
    if sa and not EMAIL.match(sa):
        raise VertexError(400, f"serviceAccount {sa!r} is not a service account e-mail")


class VertexStandIn(StandInServer):
    final_state = "PIPELINE_STATE_SUCCEEDED"
    states = RunStates(
        pending="PIPELINE_STATE_PENDING",
        running="PIPELINE_STATE_RUNNING",
        failed="PIPELINE_STATE_FAILED",
        cancelling="PIPELINE_STATE_CANCELLING",
        cancelled="PIPELINE_STATE_CANCELLED",
    )

    def __init__(self, project: str = "proj-1", location: str = "europe-west4"):
        super().__init__(_Handler)
        self.project = project
        self.location = location
        self.jobs: dict[str, dict[str, Any]] = {}  # job id -> job
        self.buckets: set[str] = set()
        self.cancelled: list[str] = []
        self.rejections: list[str] = []

    def tracked_runs(self) -> dict[str, dict[str, Any]]:
        return self.jobs


class _Handler(JsonHandler):
    server: VertexStandIn

    def _handle(self) -> None:
        s = self.server
        u = urlparse(self.path)
        path = unquote(u.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with s.lock:
            status = s.take_fault(self.command, path)
            if status is not None:
                msg = f"stand-in: injected HTTP {status}"
                return self._send(status, {"error": {"code": status, "message": msg, "status": STATUS.get(status, "UNKNOWN")}})
            try:
                code, out = self._dispatch(path, parse_qs(u.query), body)
            except VertexError as err:
                if err.code == 400:
                    s.rejections.append(err.message)
                code, out = err.code, {"error": {"code": err.code, "message": err.message, "status": STATUS.get(err.code, "UNKNOWN")}}
        self._send(code, out)

    do_GET = do_POST = do_PUT = _handle  # noqa: N815

    def _dispatch(self, path: str, q: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        s = self.server
        m = self.command
        # Cloud Storage (STORAGE_EMULATOR_HOST): the pipeline root bucket check of PipelineJob.submit
        if m == "GET" and (b := re.fullmatch(r"/storage/v1/b/([^/]+)", path)):
            if b.group(1) not in s.buckets:
                raise VertexError(404, f"bucket {b.group(1)} not found")
            return 200, {"kind": "storage#bucket", "name": b.group(1), "id": b.group(1)}
        if (b := re.fullmatch(r"/storage/v1/b/([^/]+)/iam", path)) and m in ("GET", "PUT"):
            if b.group(1) not in s.buckets:
                raise VertexError(404, f"bucket {b.group(1)} not found")
            policy = json.loads(body or b"{}") if m == "PUT" else {"bindings": []}
            return 200, {"kind": "storage#policy", "resourceId": f"projects/_/buckets/{b.group(1)}", "etag": "CAE=", **policy}
        if m == "POST" and path == "/storage/v1/b":
            name = json.loads(body or b"{}").get("name")
            s.buckets.add(name)
            return 200, {"kind": "storage#bucket", "name": name, "id": name}
        prefix = rf"/v1/projects/(?:{re.escape(s.project)}|{PROJECT_NUMBER})/locations/{re.escape(s.location)}/pipelineJobs"
        if m == "POST" and re.fullmatch(prefix, path):
            job_id = (q.get("pipelineJobId") or [""])[0]
            job = json.loads(body or b"{}")
            if job_id in s.jobs:
                raise VertexError(409, f"PipelineJob {job_id} already exists")
            check_job(job_id, job)
            job.update(
                name=f"projects/{PROJECT_NUMBER}/locations/{s.location}/pipelineJobs/{job_id}",
                state="PIPELINE_STATE_PENDING",
                createTime=now(),
            )
            s.jobs[job_id] = job
            return 200, job
        if jm := re.fullmatch(prefix + r"/([^/:]+)(:cancel)?", path):
            job_id, cancel = jm.group(1), jm.group(2)
            job = s.jobs.get(job_id)
            if job is None:
                raise VertexError(404, f"PipelineJob {job_id} not found")
            if m == "POST" and cancel:
                s.cancelled.append(job_id)
                if job["state"] not in ("PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"):
                    job["state"] = "PIPELINE_STATE_CANCELLING"
                return 200, {}
            if m == "GET" and not cancel:
                job["state"], error, ended = s.advance(job_id, job["state"])
                if ended:
                    job["endTime"] = now()
                if error:
                    job["error"] = {"code": 9, "message": error}
                return 200, job
        raise VertexError(404, f"stand-in does not implement {m} {path}")
