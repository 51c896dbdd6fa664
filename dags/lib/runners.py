"""Submitting the training pipeline: local (docker), Kubeflow Pipelines v2 REST, Vertex AI REST.

Every runner returns a :class:`RunOutcome`. A run that did not succeed raises
:class:`lib.alerts.AlertingFailure` from :func:`raise_for_outcome`, so the task fails and the
notifiers receive the pipeline's own reason (failing gate columns, the KFP error message...).

Why REST and not ``kfp.Client`` / ``google-cloud-aiplatform``: kfp 2.17.3 pins requests,
urllib3 and kubernetes<31, which would hold Airflow's providers back; aiplatform pulls in the
2 GB google provider stack. The few endpoints used are stable (KFP ``/apis/v2beta1``, Vertex
``v1``), and the clients below take an injectable session so tests use stand-in servers or fake
transports.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import re
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from lib import REPO_ROOT

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "mlops-pipelines:latest"
PASS_THROUGH_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "STORAGE_EMULATOR_HOST",
)
EXIT_STATUS = {0: "succeeded", 2: "failed", 3: "gate_failed", 4: "not_blessed"}


@dataclass
class RunOutcome:
    """What a runner reports, whatever ran the pipeline.

    Attributes:
        runner: ``local``, ``kubeflow``, ``vertex`` or ``dry-run``.
        status: ``succeeded``, ``gate_failed``, ``not_blessed``, ``failed`` or ``skipped``.
        reason: One human paragraph when not succeeded.
        run_id: Remote run id (KFP/Vertex) or the local output dir.
        links: Name -> URL (remote run UI, reports as file:// URLs).
        pushed: ``{"version": int, "path": str}`` when a model was pushed.
        metrics: Key metrics from ``run.json``.
        reports: Report name -> path.
        gate_failures: ``run.json`` ``gate.failures`` (column, check, source, examples).
        components: Per-component seconds/state from ``run.json``.
        output_dir: Local output directory (local runner).
        exit_code: Process exit code (local runner).
    """

    runner: str
    status: str
    reason: str | None = None
    run_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    pushed: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    components: dict[str, Any] = field(default_factory=dict)
    output_dir: str | None = None
    exit_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunOutcome":
        known = {f for f in cls.__dataclass_fields__}  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in d.items() if k in known})


class RunnerError(RuntimeError):
    """The runner itself failed (bad configuration, API error) before a run outcome existed."""


# --------------------------------------------------------------------------------------------
# local: `mlops run` in the project image
# --------------------------------------------------------------------------------------------


def docker_command(
    *,
    image: str,
    config_rel: str,
    output_rel: str,
    data_uri: str | None = None,
    repo_root: Path = REPO_ROOT,
    environ: Mapping[str, str] | None = None,
    docker: str = "docker",
    name: str | None = None,
) -> list[str]:
    """The ``docker run`` command line of the project image's ``mlops run`` (the host contract).

    A config or local data file outside the repository is mounted read-only at the same path
    (relative paths are relative to the repository, which is the container's working dir).
    """
    environ = os.environ if environ is None else environ
    cmd = [docker, "run", "--rm", "--network", "host", "-v", f"{repo_root}:/src", "-w", "/src", "-e", "HOME=/tmp"]
    if name:
        cmd += ["--name", name]
    for var in PASS_THROUGH_ENV:
        if environ.get(var):
            cmd += ["-e", var]  # value taken from the docker client's environment, not the argv
    mounted: set[Path] = set()
    for local in (config_rel, data_uri):
        if not local or "://" in local or not Path(local).is_absolute():
            continue
        parent = Path(local).resolve().parent
        try:
            parent.relative_to(Path(repo_root).resolve())
        except ValueError:
            if parent not in mounted:
                cmd += ["-v", f"{parent}:{parent}:ro"]
                mounted.add(parent)
    cmd += [image, "mlops", "run", "--config", config_rel, "--output-dir", output_rel]
    if data_uri:
        cmd += ["--data-uri", data_uri]
    return cmd


def image_name() -> str:
    return os.environ.get("MLOPS_IMAGE") or DEFAULT_IMAGE


def run_local(
    *,
    config_rel: str,
    output_rel: str,
    data_uri: str | None = None,
    image: str | None = None,
    repo_root: Path = REPO_ROOT,
    timeout_s: float | None = None,
    docker: str = "docker",
    container_name: str | None = None,
) -> RunOutcome:
    """Runs the pipeline in the project image and reads its ``run.json``.

    Output (stdout and stderr) is streamed to the task log line by line; the last stderr
    paragraph becomes the reason on failure.
    """
    cmd = docker_command(
        image=image or image_name(),
        config_rel=config_rel,
        output_rel=output_rel,
        data_uri=data_uri,
        repo_root=repo_root,
        docker=docker,
        name=container_name,
    )
    out_dir = repo_root / output_rel
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("local runner: %s", " ".join(cmd))
    tail: collections.deque[str] = collections.deque(maxlen=60)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    except FileNotFoundError as exc:
        raise RunnerError(f"local runner: `{docker}` not found; install Docker or pick another runner") from exc

    def pump_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.info("[mlops] %s", line.rstrip())

    t = threading.Thread(target=pump_stdout, daemon=True)
    t.start()
    assert proc.stderr is not None
    for line in proc.stderr:
        log.info("[mlops] %s", line.rstrip())
        tail.append(line.rstrip("\n"))
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        if container_name:
            subprocess.run([docker, "rm", "-f", container_name], capture_output=True)
        code = proc.wait()
        tail.append(f"local runner: timed out after {timeout_s:.0f} s")
    t.join(timeout=5)
    return outcome_from_run_dir(out_dir, code, list(tail), runner="local")


def outcome_from_run_dir(out_dir: Path, exit_code: int, stderr_tail: list[str], runner: str = "local") -> RunOutcome:
    """Reads ``run.json`` (if any) and combines it with the exit code."""
    summary: dict[str, Any] = {}
    run_json = out_dir / "run.json"
    if run_json.is_file():
        try:
            summary = json.loads(run_json.read_text())
        except ValueError:
            log.warning("%s is not valid JSON", run_json)
    status = summary.get("status") or EXIT_STATUS.get(exit_code, "failed")
    if exit_code != 0 and status == "succeeded":  # the process is the last word
        status = EXIT_STATUS.get(exit_code, "failed")
    reason = summary.get("reason")
    if status != "succeeded" and not reason:
        reason = last_paragraph(stderr_tail) or f"mlops run exited with code {exit_code}"
    reports = {str(k): str(v) for k, v in (summary.get("reports") or {}).items()}
    links = {f"report: {k}": _file_url(out_dir, v) for k, v in reports.items()}
    return RunOutcome(
        runner=runner,
        status=status,
        reason=reason,
        run_id=str(out_dir),
        links=links,
        pushed=summary.get("pushed"),
        metrics={k: float(v) for k, v in (summary.get("metrics") or {}).items() if _is_number(v)},
        reports=reports,
        gate_failures=list((summary.get("gate") or {}).get("failures") or []),
        components=dict(summary.get("components") or {}),
        output_dir=str(out_dir),
        exit_code=exit_code,
    )


def last_paragraph(lines: list[str]) -> str:
    """The last block of non-empty lines (the CLI's human explanation on failure)."""
    block: list[str] = []
    for line in reversed(lines):
        if line.strip():
            block.append(line.strip())
        elif block:
            break
    return "\n".join(reversed(block))


# --------------------------------------------------------------------------------------------
# compiled pipeline spec (shared by kubeflow and vertex)
# --------------------------------------------------------------------------------------------


def default_package_path(config_rel: str) -> str:
    """Where ``make compile`` writes the spec: ``build/<config stem>_pipeline.yaml``."""
    return f"build/{Path(config_rel).stem}_pipeline.yaml"


def compile_pipeline(config_rel: str, package_rel: str, image: str | None = None, repo_root: Path = REPO_ROOT) -> Path:
    """Runs ``mlops compile`` in the project image (used when no compiled spec exists yet)."""
    (repo_root / package_rel).parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "docker", "run", "--rm", "--network", "host", "-v", f"{repo_root}:/src", "-w", "/src", "-e", "HOME=/tmp",
        image or image_name(), "mlops", "compile", "--config", config_rel, "--output", package_rel,
    ]  # fmt: skip
    log.info("compiling: %s", " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RunnerError(f"mlops compile failed ({res.returncode}): {last_paragraph(res.stderr.splitlines())}")
    return repo_root / package_rel


def load_pipeline_spec(path: str | Path) -> dict[str, Any]:
    """The PipelineSpec (first YAML document; KFP may append a platform spec)."""
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    if not docs or not isinstance(docs[0], dict):
        raise RunnerError(f"{path}: not a compiled pipeline spec")
    return docs[0]


def declared_parameters(spec: Mapping[str, Any]) -> set[str]:
    """Names of the pipeline's runtime parameters (``root.inputDefinitions.parameters``)."""
    params = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    return set(params)


def pick_parameters(spec: Mapping[str, Any], candidates: Mapping[str, Any]) -> dict[str, Any]:
    """Keeps only the candidates that the compiled pipeline declares (others would be rejected)."""
    declared = declared_parameters(spec)
    return {k: v for k, v in candidates.items() if k in declared and v is not None}


def _log_dropped(offered: Mapping[str, Any], sent: Mapping[str, Any]) -> None:
    dropped = sorted(k for k, v in offered.items() if v is not None and k not in sent)
    if dropped:
        log.info(
            "not sent (the compiled pipeline declares no such runtime parameter; the values "
            "compiled into the spec apply): %s",
            ", ".join(dropped),
        )


def spec_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# kubeflow: KFP v2 REST API (/apis/v2beta1)
# --------------------------------------------------------------------------------------------

KFP_TERMINAL = {"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"}


class KfpRestClient:
    """The handful of KFP v2beta1 REST calls the DAG needs (what ``kfp.Client`` does underneath).

    Args:
        host: API base URL, e.g. ``http://127.0.0.1:8888`` or ``https://<kfp-host>/pipeline``.
        token: Optional bearer token (Kubeflow with Dex/oauth2-proxy, or a service-account token).
        ui_url: Base URL of the KFP UI for run links; defaults to ``host``.
        session: A ``requests.Session``-like object (tests inject one).
    """

    def __init__(
        self,
        host: str,
        *,
        token: str | None = None,
        namespace: str | None = None,
        ui_url: str | None = None,
        verify: bool | str = True,
        timeout_s: float = 30.0,
        session: Any = None,
    ):
        import requests

        self.host = host.rstrip("/")
        self.ui_url = (ui_url or host).rstrip("/")
        self.namespace = namespace
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        self.session.verify = verify
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    # -- plumbing --
    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.host}/apis/v2beta1/{path.lstrip('/')}"
        try:
            resp = self.session.request(method, url, timeout=self.timeout_s, **kwargs)
        except Exception as exc:
            raise RunnerError(f"KFP API {method} {url} unreachable: {exc}") from exc
        if resp.status_code >= 400:
            raise RunnerError(f"KFP API {method} {url} -> HTTP {resp.status_code}: {_error_text(resp)}")
        return resp.json() if resp.content else {}

    @staticmethod
    def _name_filter(name: str) -> str:
        return json.dumps({"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": name}]})

    # -- pipelines --
    def find_pipeline(self, name: str) -> dict[str, Any] | None:
        params = {"filter": self._name_filter(name), "page_size": 10}
        if self.namespace:
            params["namespace"] = self.namespace
        found = self._call("GET", "pipelines", params=params).get("pipelines") or []
        return next((p for p in found if p.get("display_name") == name), None)

    def upload_pipeline(self, package: Path, name: str, description: str = "") -> dict[str, Any]:
        params = {"name": name, "display_name": name, "description": description}
        if self.namespace:
            params["namespace"] = self.namespace
        with open(package, "rb") as fh:
            return self._call("POST", "pipelines/upload", params=params, files={"uploadfile": (package.name, fh)})

    def find_version(self, pipeline_id: str, version_name: str) -> dict[str, Any] | None:
        params = {"filter": self._name_filter(version_name), "page_size": 10}
        found = self._call("GET", f"pipelines/{pipeline_id}/versions", params=params).get("pipeline_versions") or []
        return next((v for v in found if v.get("display_name") == version_name), None)

    def upload_version(self, package: Path, pipeline_id: str, version_name: str) -> dict[str, Any]:
        params = {"name": version_name, "display_name": version_name, "pipelineid": pipeline_id}
        with open(package, "rb") as fh:
            return self._call(
                "POST", "pipelines/upload_version", params=params, files={"uploadfile": (package.name, fh)}
            )

    def ensure_pipeline_version(self, package: Path, pipeline_name: str) -> tuple[str, str]:
        """Reuses the pipeline version whose name is the spec's digest, or uploads it.

        Returns:
            (pipeline_id, pipeline_version_id)
        """
        version_name = f"{pipeline_name}-{spec_digest(package)[:12]}"
        pipeline = self.find_pipeline(pipeline_name)
        if pipeline is None:
            pipeline = self.upload_pipeline(package, pipeline_name)
            log.info("KFP: uploaded pipeline %s (%s)", pipeline_name, pipeline.get("pipeline_id"))
        pipeline_id = pipeline["pipeline_id"]
        version = self.find_version(pipeline_id, version_name)
        if version is None:
            version = self.upload_version(package, pipeline_id, version_name)
            log.info("KFP: uploaded version %s (%s)", version_name, version.get("pipeline_version_id"))
        else:
            log.info("KFP: reusing version %s (%s)", version_name, version.get("pipeline_version_id"))
        return pipeline_id, version["pipeline_version_id"]

    # -- experiments and runs --
    def ensure_experiment(self, name: str) -> str:
        params = {"filter": self._name_filter(name), "page_size": 10}
        if self.namespace:
            params["namespace"] = self.namespace
        found = self._call("GET", "experiments", params=params).get("experiments") or []
        exp = next((e for e in found if e.get("display_name") == name), None)
        if exp is None:
            body = {"display_name": name}
            if self.namespace:
                body["namespace"] = self.namespace
            exp = self._call("POST", "experiments", json=body)
        return exp["experiment_id"]

    def create_run(
        self,
        *,
        display_name: str,
        pipeline_id: str,
        version_id: str,
        parameters: Mapping[str, Any],
        pipeline_root: str | None = None,
        experiment_id: str | None = None,
        service_account: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "display_name": display_name,
            "pipeline_version_reference": {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
            "runtime_config": {"parameters": dict(parameters)},
        }
        if pipeline_root:
            body["runtime_config"]["pipeline_root"] = pipeline_root
        if experiment_id:
            body["experiment_id"] = experiment_id
        if service_account:
            body["service_account"] = service_account
        return self._call("POST", "runs", json=body)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"runs/{run_id}")

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url}/#/runs/details/{run_id}"

    def wait_for_run(
        self, run_id: str, *, poll_s: float = 15.0, timeout_s: float = 6 * 3600, sleep: Callable[[float], None] = time.sleep
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        last_state = None
        while True:
            run = self.get_run(run_id)
            state = run.get("state") or "PENDING"
            if state != last_state:
                log.info("KFP run %s: %s", run_id, state)
                last_state = state
            if state in KFP_TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise RunnerError(f"KFP run {run_id} still {state} after {timeout_s:.0f} s: {self.run_url(run_id)}")
            sleep(poll_s)


def run_kubeflow(
    client: KfpRestClient,
    *,
    package: Path,
    pipeline_name: str,
    run_name: str,
    parameters: Mapping[str, Any],
    pipeline_root: str | None = None,
    experiment: str | None = None,
    service_account: str | None = None,
    poll_s: float = 15.0,
    timeout_s: float = 6 * 3600,
) -> RunOutcome:
    """Uploads (or reuses) the compiled pipeline, starts a run and waits for its end."""
    spec = load_pipeline_spec(package)
    params = pick_parameters(spec, parameters)
    _log_dropped(parameters, params)
    pipeline_id, version_id = client.ensure_pipeline_version(package, pipeline_name)
    experiment_id = client.ensure_experiment(experiment) if experiment else None
    run = client.create_run(
        display_name=run_name,
        pipeline_id=pipeline_id,
        version_id=version_id,
        parameters=params,
        pipeline_root=pipeline_root,
        experiment_id=experiment_id,
        service_account=service_account,
    )
    run_id = run["run_id"]
    url = client.run_url(run_id)
    log.info("KFP: started run %s with %s: %s", run_id, params, url)
    final = client.wait_for_run(run_id, poll_s=poll_s, timeout_s=timeout_s)
    state = final.get("state")
    status = "succeeded" if state in ("SUCCEEDED", "SKIPPED") else "failed"
    reason = None
    if status != "succeeded":
        err = final.get("error") or {}
        reason = f"KFP run {run_id} {state}: {err.get('message') or 'no error message'} ({url})"
    return RunOutcome(runner="kubeflow", status=status, reason=reason, run_id=run_id, links={"KFP run": url})


# --------------------------------------------------------------------------------------------
# vertex: Vertex AI Pipelines REST (v1 projects.locations.pipelineJobs)
# --------------------------------------------------------------------------------------------

VERTEX_TERMINAL = {"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"}


class VertexRestClient:
    """Creates and polls a Vertex AI PipelineJob from a compiled KFP v2 spec.

    Args:
        project, location: GCP project id and region (``europe-west4``).
        session: An authorised ``requests.Session``-like object. Default: google-auth's
            ``AuthorizedSession`` with Application Default Credentials (Workload Identity on
            Composer/GKE, a key file locally). Tests pass a fake transport.
        api_endpoint: Override of ``https://<location>-aiplatform.googleapis.com``.
    """

    def __init__(self, project: str, location: str, *, session: Any = None, api_endpoint: str | None = None):
        self.project = project
        self.location = location
        self.endpoint = (api_endpoint or f"https://{location}-aiplatform.googleapis.com").rstrip("/")
        if session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            creds, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            session = AuthorizedSession(creds)
        self.session = session

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.endpoint}/v1/{path}"
        resp = self.session.request(method, url, timeout=60, **kwargs)
        if resp.status_code >= 400:
            raise RunnerError(f"Vertex AI {method} {url} -> HTTP {resp.status_code}: {_error_text(resp)}")
        return resp.json()

    def create_pipeline_job(
        self,
        *,
        job_id: str,
        display_name: str,
        pipeline_spec: Mapping[str, Any],
        parameter_values: Mapping[str, Any],
        gcs_output_directory: str,
        service_account: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "displayName": display_name,
            "pipelineSpec": dict(pipeline_spec),
            "runtimeConfig": {"gcsOutputDirectory": gcs_output_directory, "parameterValues": dict(parameter_values)},
        }
        if service_account:
            body["serviceAccount"] = service_account
        if labels:
            body["labels"] = dict(labels)
        return self._call("POST", f"{self.parent}/pipelineJobs", params={"pipelineJobId": job_id}, json=body)

    def get_pipeline_job(self, name: str) -> dict[str, Any]:
        return self._call("GET", name)

    def console_url(self, job_id: str) -> str:
        return (
            f"https://console.cloud.google.com/vertex-ai/locations/{self.location}/pipelines/runs/{job_id}"
            f"?project={self.project}"
        )

    def wait(
        self, name: str, *, poll_s: float = 30.0, timeout_s: float = 6 * 3600, sleep: Callable[[float], None] = time.sleep
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            job = self.get_pipeline_job(name)
            state = job.get("state", "PIPELINE_STATE_UNSPECIFIED")
            if state != last:
                log.info("Vertex job %s: %s", name, state)
                last = state
            if state in VERTEX_TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise RunnerError(f"Vertex job {name} still {state} after {timeout_s:.0f} s")
            sleep(poll_s)


def vertex_job_id(pipeline_name: str, run_id: str) -> str:
    """A PipelineJob id: lowercase letters, digits and '-', at most 128 characters."""
    slug = re.sub(r"[^a-z0-9-]+", "-", f"{pipeline_name}-{run_id}".lower()).strip("-")
    return slug[:128]


def run_vertex(
    client: VertexRestClient,
    *,
    package: Path,
    pipeline_name: str,
    job_id: str,
    parameters: Mapping[str, Any],
    pipeline_root: str,
    service_account: str | None = None,
    poll_s: float = 30.0,
    timeout_s: float = 6 * 3600,
) -> RunOutcome:
    """Submits the compiled spec as a Vertex AI PipelineJob and waits for its end."""
    if not pipeline_root.startswith("gs://"):
        raise RunnerError(f"vertex runner: pipeline_root must be a gs:// URI, got {pipeline_root!r}")
    spec = load_pipeline_spec(package)
    params = pick_parameters(spec, parameters)
    _log_dropped(parameters, params)
    job = client.create_pipeline_job(
        job_id=job_id,
        display_name=f"{pipeline_name} {job_id}",
        pipeline_spec=spec,
        parameter_values=params,
        gcs_output_directory=pipeline_root,
        service_account=service_account,
        labels={"mlops-pipeline": re.sub(r"[^a-z0-9_-]", "-", pipeline_name.lower())[:63]},
    )
    name = job.get("name") or f"{client.parent}/pipelineJobs/{job_id}"
    url = client.console_url(job_id)
    log.info("Vertex: started %s: %s", name, url)
    final = client.wait(name, poll_s=poll_s, timeout_s=timeout_s)
    state = final.get("state")
    ok = state == "PIPELINE_STATE_SUCCEEDED"
    reason = None
    if not ok:
        reason = f"Vertex job {job_id} {state}: {(final.get('error') or {}).get('message') or 'no error message'} ({url})"
    return RunOutcome(
        runner="vertex", status="succeeded" if ok else "failed", reason=reason, run_id=name, links={"Vertex AI run": url}
    )


# --------------------------------------------------------------------------------------------


def outcome_alert(outcome: RunOutcome, dataset: str, data_uri: str | None) -> dict[str, Any]:
    """``build_alert`` keyword arguments for a run that did not succeed."""
    kind = {"gate_failed": "data_gate_failed", "not_blessed": "not_blessed"}.get(outcome.status, "pipeline_failed")
    failures = outcome.gate_failures or []
    if kind == "data_gate_failed" and failures and all(
        isinstance(f, Mapping) and f.get("source") == "drift_check" for f in failures
    ):
        kind = "drift_hold"
    facts: dict[str, Any] = {}
    if outcome.exit_code not in (None, 0):
        facts["Exit code"] = outcome.exit_code
    if outcome.metrics:
        facts["Metrics"] = outcome.metrics
    return {
        "kind": kind,
        "dataset": dataset,
        "failures": outcome.gate_failures,
        "reason": outcome.reason,
        "data_uri": data_uri,
        "runner": outcome.runner,
        "facts": facts,
        "links": dict(outcome.links),
    }


def raise_for_outcome(outcome: RunOutcome, dataset: str, data_uri: str | None) -> None:
    """Fails the task (with the right alert) unless the run succeeded."""
    if outcome.status in ("succeeded", "skipped"):
        return
    from lib.alerts import AlertingFailure

    raise AlertingFailure(
        f"{outcome.runner} run {outcome.status}: {outcome.reason or ''}".strip(),
        outcome_alert(outcome, dataset, data_uri),
    )


def _error_text(resp: Any) -> str:
    try:
        body = resp.json()
    except Exception:
        return (getattr(resp, "text", "") or "")[:500]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)[:500]
        return str(body.get("message") or err or body)[:500]
    return str(body)[:500]


def _file_url(base: Path, path: str) -> str:
    p = Path(path)
    if "://" in path:
        return path
    if not p.is_absolute():
        # run.json paths are relative to the repo (the container's /src) or to the run dir
        cand = REPO_ROOT / p
        p = cand if cand.exists() or not (base / p).exists() else base / p
    return p.resolve().as_uri()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
