"""The ``vertex`` runner: the compiled spec on Vertex AI Pipelines, through ``aiplatform.PipelineJob``.

Airflow side (:class:`VertexRunner`, in the task): Variables ``mlops_vertex_project``,
``mlops_vertex_location``, ``mlops_vertex_pipeline_root`` (gs://), ``mlops_vertex_service_account``,
``mlops_vertex_api_endpoint``, ``mlops_vertex_poll_seconds``, ``mlops_vertex_anonymous_credentials``,
``mlops_vertex_enable_caching``, falling back to the config's ``vertex:`` section (``project``,
``location``/``region``, ``pipeline_root``, ``service_account``, ``api_endpoint``,
``poll_seconds``, ``anonymous_credentials``, ``enable_caching``, ``timeout_seconds``,
``retry_*_seconds``, ``parameters``); credentials
are Application Default Credentials (``anonymous_credentials`` true only for a local stand-in).
It sends the client request to the clients' venv (:func:`mlops_airflow.runners.remote.run_remote`).

Client side (:class:`VertexBackend`, google-cloud-aiplatform 1.165.1, inside
:mod:`mlops_airflow.runners.remote_client` in the clients' venv). The compiled spec is submitted
as a PipelineJob with the runtime parameters (the cache parameters included:
:mod:`mlops_airflow.runners.cache`) and the caching choice, over the REST transport
(``api_transport="rest"``, here and in tests alike). Job ids are deterministic:
``<name>-<airflow run id>`` slugged; a retry gets the job of that id and re-attaches unless it
ended FAILED/CANCELLED (or is CANCELLING): then the next free id ``<id>-r2``, ``-r3``... is used.
Cancel = ``PipelineJob.cancel()``.

Request section ``vertex``: ``project``, ``location``, ``job_id``, ``labels``,
``api_endpoint`` (optional override, e.g. a private endpoint or a local stand-in),
``anonymous_credentials`` (stand-ins only; otherwise Application Default Credentials).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping

from mlops_airflow.runners.cache import truthy
from mlops_airflow.runners.interface import RunRequest
from mlops_airflow.runners.outcome import RunnerError
from mlops_airflow.runners.remote import RemoteRun, RemoteRunner, RunStatus
from mlops_airflow.runners.retry import RetryPolicy, call_with_retry, retry_settings
from mlops_airflow.runners.spec import compiled_spec, yaml_documents

log = logging.getLogger("mlops.vertex")

JOB_ID = re.compile(r"^[a-z][-a-z0-9]{0,127}$")
SUCCEEDED = {"PIPELINE_STATE_SUCCEEDED"}
ENDED = SUCCEEDED | {"PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"}
NOT_REATTACHED = {"PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED", "PIPELINE_STATE_CANCELLING"}
MAX_JOBS_PER_RUN = 20


def vertex_job_id(pipeline_name: str, run_id: str) -> str:
    """A PipelineJob id: a lowercase letter first, then letters, digits and '-'; at most 128."""
    slug = re.sub(r"[^a-z0-9-]+", "-", f"{pipeline_name}-{run_id}".lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"p-{slug}"
    return slug[:128].rstrip("-")


def console_url(project: str, location: str, job_id: str) -> str:
    return f"https://console.cloud.google.com/vertex-ai/locations/{location}/pipelines/runs/{job_id}?project={project}"


# --------------------------------------------------------------------------------------------
# client side (the clients' venv)
# --------------------------------------------------------------------------------------------


class VertexBackend:
    """``aiplatform.PipelineJob`` calls for :func:`mlops_airflow.runners.remote_client.drive` (module docstring)."""

    runner = "vertex"
    label = "Vertex AI run"

    def __init__(self, req: Mapping[str, Any], policy: RetryPolicy):
        from google.cloud import aiplatform

        v = dict(req.get("vertex") or {})
        missing = [k for k in ("project", "location", "job_id") if not v.get(k)]
        if missing:
            raise RunnerError(f"vertex runner: {', '.join(missing)} missing from the request")
        root = str(req.get("pipeline_root") or "")
        if not root.startswith("gs://"):
            raise RunnerError(f"vertex runner: pipeline_root must be a gs:// URI, got {root!r}")
        self.req = req
        self.policy = policy
        self.project = str(v["project"])
        self.location = str(v["location"])
        self.base_id = str(v["job_id"])
        if not JOB_ID.match(self.base_id):
            raise RunnerError(f"vertex runner: {self.base_id!r} is not a valid PipelineJob id ({JOB_ID.pattern})")
        self.labels = dict(v.get("labels") or {})
        credentials = None
        if v.get("anonymous_credentials"):
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        aiplatform.init(
            project=self.project,
            location=self.location,
            credentials=credentials,
            api_endpoint=v.get("api_endpoint") or None,
            api_transport="rest",
        )
        self.aiplatform = aiplatform
        self.started: RemoteRun | None = None

    def transient(self, exc: BaseException) -> str | None:
        import requests
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc

        if isinstance(
            exc, (gexc.TooManyRequests, gexc.InternalServerError, gexc.BadGateway, gexc.ServiceUnavailable, gexc.GatewayTimeout)
        ):
            return f"HTTP {exc.code}: {exc.message}"
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, auth_exc.TransportError)):
            return f"{type(exc).__name__}: {exc}"
        return None

    def _call(self, what: str, fn: Any) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return call_with_retry(fn, what=f"Vertex AI {what}", transient=self.transient, policy=self.policy)
        except gexc.GoogleAPICallError as exc:
            raise RunnerError(f"Vertex AI {what} -> HTTP {exc.code}: {exc.message}") from exc

    def _name(self, job_id: str) -> str:
        return f"projects/{self.project}/locations/{self.location}/pipelineJobs/{job_id}"

    def _get(self, job_id: str) -> Any | None:
        from google.api_core import exceptions as gexc

        try:
            return self.aiplatform.PipelineJob.get(self._name(job_id))
        except gexc.NotFound:
            return None

    @staticmethod
    def _state(job: Any) -> str:
        return job.gca_resource.state.name

    def _job_ids(self) -> list[str]:
        ids = [self.base_id]
        for n in range(2, MAX_JOBS_PER_RUN + 1):
            suffix = f"-r{n}"
            ids.append(self.base_id[: 128 - len(suffix)].rstrip("-") + suffix)
        return ids

    def _create(self, job_id: str) -> Any:
        try:
            job = self.aiplatform.PipelineJob(
                display_name=str(self.req["run_name"])[:128],
                template_path=str(self.req["package"]),
                job_id=job_id,
                pipeline_root=str(self.req["pipeline_root"]),
                parameter_values=dict(self.req.get("parameters") or {}),
                # PipelineJob writes it into every task's cachingOptions of the spec it sends.
                enable_caching=bool(self.req.get("enable_caching", True)),
                labels=self.labels or None,
                project=self.project,
                location=self.location,
            )
        except ValueError as exc:  # undeclared parameter, bad label, bad id: PipelineJob checks before sending
            raise RunnerError(f"Vertex AI PipelineJob {job_id}: {exc}") from exc
        job.submit(service_account=self.req.get("service_account") or None, create_request_timeout=120)
        log.info("created PipelineJob %s with parameters %s", job.resource_name, self.req.get("parameters"))
        return job

    def start(self) -> RemoteRun:
        from google.api_core import exceptions as gexc

        for job_id in self._job_ids():

            def get_or_create() -> tuple[Any, bool]:
                job = self._get(job_id)
                if job is not None:
                    return job, True
                try:
                    return self._create(job_id), False
                except gexc.AlreadyExists:  # a create whose answer was lost
                    found = self._get(job_id)
                    if found is None:
                        raise
                    return found, True

            job, attached = self._call(f"PipelineJob {job_id}", get_or_create)
            if attached and self._state(job) in NOT_REATTACHED:
                log.info("PipelineJob %s ended %s; starting a new job", job_id, self._state(job))
                continue
            self.started = RemoteRun(
                run_id=job.resource_name,
                url=console_url(self.project, self.location, job_id),
                attached=attached,
                name=job_id,
            )
            return self.started
        raise RunnerError(f"vertex runner: {MAX_JOBS_PER_RUN} jobs for {self.base_id} already ended; not starting more")

    def status(self, run: RemoteRun) -> RunStatus:
        from google.api_core import exceptions as gexc

        try:
            job = self.aiplatform.PipelineJob.get(run.run_id)
        except gexc.GoogleAPICallError as exc:
            if self.transient(exc):
                raise
            raise RunnerError(f"Vertex AI get {run.run_id} -> HTTP {exc.code}: {exc.message}") from exc
        res = job.gca_resource
        state = res.state.name
        message = res.error.message if res.error and res.error.message else None
        return RunStatus(state=state, done=state in ENDED, ok=state in SUCCEEDED, message=message)

    def cancel(self, run: RemoteRun | None) -> str | None:
        if run is None:
            # Stopped while starting: cancel the job of this run that is still active, if any.
            for job_id in self._job_ids():
                job = self._get(job_id)
                if job is None:
                    return None
                if self._state(job) not in ENDED:
                    job.cancel()
                    return job.resource_name
            return None
        self.aiplatform.PipelineJob.get(run.run_id).cancel()
        return run.run_id


# --------------------------------------------------------------------------------------------
# Airflow side (the task)
# --------------------------------------------------------------------------------------------


class VertexRunner(RemoteRunner):
    """Submits the compiled spec as a Vertex AI PipelineJob and waits."""

    name = "vertex"
    backend = VertexBackend

    def client_request(self, request: RunRequest) -> dict[str, Any]:
        """The client process's request: Variables over the config, and the spec's declared parameters.

        Raises:
            RunnerError: project, location or a gs:// pipeline root missing, or no ``data_uri``
                parameter in the spec; nothing was sent.
        """
        from mlops_airflow.connections import get_variable

        cfg = request.pipeline
        vx = cfg.vertex

        def setting(var: str, configured: Any) -> Any:
            """Variable ``mlops_vertex_<var>`` (per deployment), else the config's value."""
            value = get_variable(f"mlops_vertex_{var}")
            return configured if value in (None, "") else value

        project = setting("project", vx.project)
        location = setting("location", vx.location_or_region)
        root = setting("pipeline_root", vx.pipeline_root)
        missing = [n for n, v in (("project", project), ("location", location), ("pipeline_root", root)) if not v]
        if missing:
            raise RunnerError(
                f"vertex runner: set {', '.join('mlops_vertex_' + m for m in missing)} (Variables) "
                "or the config's vertex: section"
            )
        if not str(root).startswith("gs://"):
            raise RunnerError(f"vertex runner: pipeline_root must be a gs:// URI, got {root!r}")
        package = compiled_spec(request)
        documents = yaml_documents(package)
        if documents != 1:
            # aiplatform reads the template with yaml.safe_load (utils/yaml_utils.py): one document.
            raise RunnerError(
                f"vertex runner: {package} holds {documents} YAML documents (a spec compiled for "
                "open-source KFP carries a Kubernetes platform spec); Vertex AI takes one pipeline spec. "
                "Compile it for Vertex (docs/kubeflow.md) and point kubeflow.package_path at that file"
            )
        caching = truthy(setting("enable_caching", vx.enable_caching))
        common, _spec = self.submission(request, vx.parameters, caching, "vertex.enable_caching")
        anonymous = truthy(setting("anonymous_credentials", vx.anonymous_credentials))
        sa = setting("service_account", vx.service_account)
        return {
            **common,
            "pipeline_root": str(root),
            "service_account": str(sa) if sa else None,
            "poll_s": float(setting("poll_seconds", vx.poll_seconds)),
            "timeout_s": vx.timeout_seconds,
            "retry": retry_settings(lambda name: getattr(vx, name)),
            "vertex": {
                "project": str(project),
                "location": str(location),
                "job_id": vertex_job_id(cfg.name, request.run_id),
                "labels": {"mlops-pipeline": re.sub(r"[^a-z0-9_-]", "-", cfg.name.lower())[:63]},
                "api_endpoint": setting("api_endpoint", vx.api_endpoint),
                "anonymous_credentials": anonymous,
            },
        }
