"""The ``kubeflow`` runner: the compiled spec on Kubeflow Pipelines v2, through ``kfp.Client`` (kfp 2.17.3).

Airflow side (:class:`KubeflowRunner`, in the task): settings from the connection ``kfp_default``
(API URL in host, bearer token in password; extras ``namespace``, ``ui_url``, ``verify``,
``experiment``, ``service_account``, ``poll_seconds``, ``timeout_seconds``,
``retry_initial_seconds``, ``retry_max_seconds``, ``retry_budget_seconds``) and the config's
``kubeflow:`` section (``package_path``, ``pipeline_root``, ``enable_caching``, ``parameters``,
``experiment``, ``service_account``; the Variables ``mlops_kubeflow_pipeline_root`` and
``mlops_kubeflow_enable_caching`` win over the first two); it sends the client request to the
clients' venv (:func:`mlops_airflow.runners.remote.run_remote`).

Every run is sent a ``gs://`` pipeline root: the OSS backend never reads the spec's
``defaultPipelineRoot`` (``backend/src/v2/driver/root_dag.go``: the run's own root, else the
``kfp-launcher`` ConfigMap's, by default ``minio://mlpipeline/v2/artifacts``), and TFX in the
project image opens neither ``minio://`` nor ``s3://``. Without one the runner refuses before
anything is sent (:func:`pipeline_root_or_refuse`).

Client side (:class:`KubeflowBackend`, inside :mod:`mlops_airflow.runners.remote_client` in the
clients' venv, never in the Airflow venv). Steps:

1. find the pipeline (named after the config's ``name``) or upload it;
2. reuse the pipeline version named ``<name>-<sha256 of the spec>[:12]`` or upload it. A run
   created from a version takes its tasks' caching options from that version's spec (the API's
   run has no caching field; kfp 2.17.3 applies ``enable_caching`` only to an inline spec), so
   when the caching choice differs from the compiled one, a copy with every root task's
   ``cachingOptions.enableCache`` set as kfp's ``_override_caching_options`` does is uploaded as
   ``<name>-<sha256>[:12]-cache-on|off`` (:func:`with_caching`);
3. get or create the experiment, if one is configured;
4. re-attach to the newest run whose display name is ``<name> <airflow run id>`` unless it ended
   FAILED/CANCELED (or is CANCELING), else create the run with the runtime parameters;
5. (:func:`mlops_airflow.runners.remote_client.drive`) poll it; cancel = ``terminate_run``.

Request section ``kubeflow``: ``host``, ``token``, ``namespace``, ``ui_url``, ``verify``; the
request's ``pipeline_root`` (always ``gs://``) and ``enable_caching`` go to ``run_pipeline``.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any, Mapping

from mlops_airflow.runners.cache import truthy
from mlops_airflow.runners.interface import RunRequest
from mlops_airflow.runners.outcome import RunnerError
from mlops_airflow.runners.remote import RemoteRun, RemoteRunner, RunStatus
from mlops_airflow.runners.retry import RetryPolicy, call_with_retry, retry_settings
from mlops_airflow.runners.spec import spec_digest

log = logging.getLogger("mlops.kubeflow")


# --------------------------------------------------------------------------------------------
# client side (the clients' venv)
# --------------------------------------------------------------------------------------------

SUCCEEDED = {"SUCCEEDED", "SKIPPED"}
ENDED = SUCCEEDED | {"FAILED", "CANCELED"}
NOT_REATTACHED = {"FAILED", "CANCELED", "CANCELING"}


def _state(run: Any) -> str:
    state = getattr(run, "state", None)
    return str(state) if state else "PENDING"


def api_error_message(exc: Any) -> str:
    """The server's own message from a ``kfp_server_api.ApiException``."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            return str(body).strip()[:500]
        if isinstance(data, dict):
            for key in ("error_message", "message", "error"):
                if data.get(key):
                    return str(data[key])[:500]
        return str(data)[:500]
    return str(getattr(exc, "reason", None) or exc)[:500]


def _name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": name}]})


def with_caching(package: Path, enable: bool, workdir: Path) -> tuple[Path, str]:
    """The spec to upload for the caching choice ``enable``, and its version name suffix.

    The compiled file itself (suffix ``""``) when every root task's
    ``cachingOptions.enableCache`` already is ``enable``; else a copy under ``workdir`` with
    them set (suffix ``-cache-on``/``-cache-off``). Other YAML documents (a platform spec) are
    kept as they are.
    """
    import yaml

    docs = [d for d in yaml.safe_load_all(package.read_text()) if d is not None]
    spec = next((d for d in docs if isinstance(d, dict) and "root" in d), None)
    tasks = (((spec or {}).get("root") or {}).get("dag") or {}).get("tasks") or {}
    if all(bool((t.get("cachingOptions") or {}).get("enableCache")) == enable for t in tasks.values()):
        return package, ""
    for task in tasks.values():
        task.setdefault("cachingOptions", {})["enableCache"] = enable
    out = workdir / f"{package.stem}-cache-{'on' if enable else 'off'}.yaml"
    out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return out, f"-cache-{'on' if enable else 'off'}"


class KubeflowBackend:
    """``kfp.Client`` calls for :func:`mlops_airflow.runners.remote_client.drive` (steps: module docstring)."""

    runner = "kubeflow"
    label = "KFP run"

    def __init__(self, req: Mapping[str, Any], policy: RetryPolicy):
        import kfp

        k = dict(req.get("kubeflow") or {})
        if not k.get("host"):
            raise RunnerError("kubeflow runner: no KFP API host in the request")
        self.req = req
        self.policy = policy
        self.namespace = k.get("namespace") or None
        self.package = Path(req["package"])
        self.pipeline_name = str(req["pipeline_name"])
        self.run_name = str(req["run_name"])
        self.parameters = dict(req.get("parameters") or {})
        self.enable_caching = bool(req.get("enable_caching", True))
        self.pipeline_root = str(req.get("pipeline_root") or "")
        # The task refuses first (pipeline_root_or_refuse); a request by hand too.
        if not self.pipeline_root.startswith("gs://") and not (k.get("pipeline_volume") and "://" in self.pipeline_root):
            raise RunnerError(f"kubeflow runner: pipeline_root must be a gs:// URI (or on kubeflow.pipeline_volume), "
                              f"got {self.pipeline_root!r}")
        verify = k.get("verify", True)
        kwargs: dict[str, Any] = {
            "host": str(k["host"]),
            "existing_token": k.get("token") or None,
            "ui_host": k.get("ui_url") or None,
        }
        if self.namespace:
            kwargs["namespace"] = self.namespace
        if isinstance(verify, str):
            kwargs["ssl_ca_cert"] = verify
        elif verify is False:
            kwargs["verify_ssl"] = False
        # kfp.Client asks /healthz when it has no namespace: retry that like any call.
        self.client = self._call("connect", lambda: kfp.Client(**kwargs))
        self.ui = self.client._get_url_prefix().rstrip("/")  # the UI base kfp.Client links to
        self.experiment_id: str | None = None

    # -- plumbing --
    def transient(self, exc: BaseException, creating: bool = False) -> str | None:
        import kfp_server_api
        import urllib3

        if isinstance(exc, kfp_server_api.ApiException):
            status = int(exc.status or 0)
            # KFP answers 500 when it cannot compile a spec it accepted: not worth retrying a create.
            if status == 429 or status in (502, 503, 504) or (status >= 500 and not creating):
                return f"HTTP {status}: {api_error_message(exc)}"
            return None
        if isinstance(exc, TimeoutError) and str(exc).startswith("Failed getting healthz"):
            return None  # kfp.Client already tried /healthz 5 times
        if isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
            return f"{type(exc).__name__}: {exc}"
        return None

    def _call(self, what: str, fn: Any, creating: bool = False) -> Any:
        import kfp_server_api

        try:
            return call_with_retry(
                fn,
                what=f"KFP {what}",
                transient=lambda e: self.transient(e, creating=creating),
                policy=self.policy,
            )
        except kfp_server_api.ApiException as exc:
            raise RunnerError(f"KFP {what} -> HTTP {exc.status}: {api_error_message(exc)}") from exc

    def run_url(self, run_id: str) -> str:
        return f"{self.ui}/#/runs/details/{run_id}"

    # -- pipeline and version --
    def ensure_version(self) -> tuple[str, str]:
        with tempfile.TemporaryDirectory(prefix="mlops-kfp-") as workdir:
            package, suffix = with_caching(self.package, self.enable_caching, Path(workdir))
            return self._ensure_version(package, f"{self.pipeline_name}-{spec_digest(self.package)[:12]}{suffix}")

    def _ensure_version(self, package: Path, version_name: str) -> tuple[str, str]:

        def find_or_upload_pipeline() -> str:
            found = self.client.list_pipelines(filter=_name_filter(self.pipeline_name), namespace=self.namespace)
            for p in found.pipelines or []:
                if p.display_name == self.pipeline_name:
                    return p.pipeline_id
            p = self.client.upload_pipeline(str(package), pipeline_name=self.pipeline_name, namespace=self.namespace)
            log.info("uploaded pipeline %s (%s)", self.pipeline_name, p.pipeline_id)
            return p.pipeline_id

        pipeline_id = self._call(f"find/upload pipeline {self.pipeline_name}", find_or_upload_pipeline, creating=True)

        def find_or_upload_version() -> str:
            found = self.client.list_pipeline_versions(pipeline_id, filter=_name_filter(version_name))
            for v in found.pipeline_versions or []:
                if v.display_name == version_name:
                    log.info("reusing pipeline version %s (%s)", version_name, v.pipeline_version_id)
                    return v.pipeline_version_id
            v = self.client.upload_pipeline_version(str(package), version_name, pipeline_id=pipeline_id)
            log.info("uploaded pipeline version %s (%s)", version_name, v.pipeline_version_id)
            return v.pipeline_version_id

        version_id = self._call(f"find/upload pipeline version {version_name}", find_or_upload_version, creating=True)
        return pipeline_id, version_id

    # -- runs --
    def find_run(self) -> Any | None:
        kwargs: dict[str, Any] = {"filter": _name_filter(self.run_name), "sort_by": "created_at desc", "page_size": 10}
        if self.experiment_id:
            kwargs["experiment_id"] = self.experiment_id
        elif self.namespace:
            kwargs["namespace"] = self.namespace
        runs = [r for r in (self.client.list_runs(**kwargs).runs or []) if r.display_name == self.run_name]
        runs.sort(key=lambda r: str(r.created_at or ""), reverse=True)
        return runs[0] if runs else None

    def start(self) -> RemoteRun:
        pipeline_id, version_id = self.ensure_version()
        experiment = self.req.get("experiment")
        if experiment:
            exp = self._call(
                f"experiment {experiment}",
                lambda: self.client.create_experiment(experiment, namespace=self.namespace),  # get or create
                creating=True,
            )
            self.experiment_id = exp.experiment_id

        def find_or_create() -> tuple[Any, bool]:
            # Looked up again before every try: a create whose answer was lost is found, not repeated.
            existing = self.find_run()
            if existing is not None and _state(existing) not in NOT_REATTACHED:
                return existing, True
            if existing is not None:
                log.info("run %s of %r ended %s; starting a new one", existing.run_id, self.run_name, _state(existing))
            run = self.client.run_pipeline(
                self.experiment_id,
                self.run_name,
                params=self.parameters,
                pipeline_id=pipeline_id,
                version_id=version_id,
                pipeline_root=self.pipeline_root,
                # A no-op for a version (kfp 2.17.3 applies it to an inline spec only): the
                # version's spec carries the choice (ensure_version). Sent for clients that apply it.
                enable_caching=self.enable_caching,
                service_account=self.req.get("service_account") or None,
            )
            log.info(
                "created run %s with parameters %s, pipeline root %s, caching %s",
                run.run_id, self.parameters, self.pipeline_root, "on" if self.enable_caching else "off",
            )
            return run, False

        run, attached = self._call(f"find/create run {self.run_name!r}", find_or_create, creating=True)
        return RemoteRun(run_id=run.run_id, url=self.run_url(run.run_id), attached=attached, name=self.run_name)

    def status(self, run: RemoteRun) -> RunStatus:
        import kfp_server_api

        try:
            r = self.client.get_run(run.run_id)
        except kfp_server_api.ApiException as exc:
            if self.transient(exc):
                raise
            raise RunnerError(f"KFP get run {run.run_id} -> HTTP {exc.status}: {api_error_message(exc)}") from exc
        state = _state(r)
        message = getattr(getattr(r, "error", None), "message", None)
        return RunStatus(state=state, done=state in ENDED, ok=state in SUCCEEDED, message=message)

    def cancel(self, run: RemoteRun | None) -> str | None:
        if run is None:
            found = self.find_run()
            if found is None or _state(found) in ENDED:
                return None
            run_id = found.run_id
        else:
            run_id = run.run_id
        self.client.terminate_run(run_id)
        return run_id


# --------------------------------------------------------------------------------------------
# Airflow side (the task)
# --------------------------------------------------------------------------------------------

KFP_CONN_ID = "kfp_default"
# Pipeline roots TF's gfile in the project image cannot open (no S3 filesystem in TF 2.21).
UNSUPPORTED_ROOTS = ("s3://", "minio://", "s3a://")
# OSS KFP's root when a run names none (backend/src/v2/config/env.go, defaultPipelineRoot).
LAUNCHER_DEFAULT_ROOT = "minio://mlpipeline/v2/artifacts"


def pipeline_root_or_refuse(root: object, source: str, config: str, volume_mount: str | None = None) -> str:
    """The pipeline root to send with every run (``source`` says where it was set): a ``gs://``
    URI, or, with ``kubeflow.pipeline_volume`` (``volume_mount``: its mount path), an object-store
    URI whose launcher path lies on that volume (Azure: ``minio://<bucket>/...`` on the Blob CSI
    mount; ``pipelines/kubeflow/volume.py``), which every task then reads and writes on the mount.

    Raises:
        RunnerError: any other root (one paragraph: the key, why, the fix); nothing has been sent.
    """
    root = str(root or "")
    if root.startswith("gs://"):
        return root
    if volume_mount:
        from pipelines.kubeflow.volume import volume_path  # stdlib only: ships with the DAGs

        if "://" in root and volume_path(root, volume_mount) is not None:
            return root
        raise RunnerError(
            f"kubeflow runner: nothing was submitted. {source} is {root!r}, which is not on the pipeline "
            f"volume mounted at {volume_mount} (kubeflow.pipeline_volume): KFP's launcher keeps a root's files "
            f"at /minio/<bucket>/..., /s3/<bucket>/... or /gcs/<bucket>/..., and the tasks read and write "
            f"them on that mount. Set kubeflow.pipeline_root in {config} (or the Airflow Variable "
            f"mlops_kubeflow_pipeline_root) to a URI whose launcher path is under {volume_mount}, e.g. "
            f"minio://{volume_mount.rstrip('/').split('/')[-1]}/pipeline-root (docs/kubeflow.md, Azure)."
        )
    if root.startswith(UNSUPPORTED_ROOTS):
        why = (
            f"{source} is {root!r}: TFX and TensorFlow in the project image cannot open "
            "s3:// or minio:// URIs (no S3 filesystem in TensorFlow), so the first task would fail."
        )
    else:
        why = (
            f"{source} is {root!r}, not a gs:// URI. Open-source KFP never reads the "
            "compiled spec's defaultPipelineRoot: a run sent without a root writes its artifacts under "
            f"the cluster's kfp-launcher default, {LAUNCHER_DEFAULT_ROOT}, which TFX in the project image "
            "cannot open, so the first task would fail."
        )
    raise RunnerError(
        f"kubeflow runner: nothing was submitted. {why} Set kubeflow.pipeline_root in {config} (or the "
        "Airflow Variable mlops_kubeflow_pipeline_root) to a gs:// URI the run's service account can "
        "write, e.g. gs://<bucket>/pipeline-root (docs/kubeflow.md)."
    )


class KubeflowRunner(RemoteRunner):
    """Submits the compiled spec to the KFP API of the ``kfp_default`` connection and waits."""

    name = "kubeflow"
    backend = KubeflowBackend

    def client_request(self, request: RunRequest) -> dict[str, Any]:
        """The client process's request: connection, config and the spec's declared parameters.

        Raises:
            RunnerError: no connection, no ``gs://`` pipeline root, no ``data_uri`` parameter in
                the spec (or, with caching on, no cache parameters); nothing was sent.
        """
        from mlops_airflow.connections import get_connection_or_none, get_variable, url_from_connection

        kf = request.pipeline.kubeflow

        def setting(var: str, configured: Any) -> Any:
            """Variable ``mlops_kubeflow_<var>`` (per deployment), else the config's value."""
            value = get_variable(f"mlops_kubeflow_{var}")
            return configured if value in (None, "") else value

        root_var = get_variable("mlops_kubeflow_pipeline_root")
        source = "the Variable mlops_kubeflow_pipeline_root" if root_var else "kubeflow.pipeline_root"
        volume = getattr(kf, "pipeline_volume", None)
        root = pipeline_root_or_refuse(root_var or kf.pipeline_root, source, request.config,
                                       volume.mount_path if volume is not None else None)
        conn = get_connection_or_none(KFP_CONN_ID)
        host = url_from_connection(conn) if conn is not None else None
        if not host:
            raise RunnerError(f"kubeflow runner: connection {KFP_CONN_ID!r} with the KFP API URL is not configured")
        extra = conn.extra_dejson or {}
        caching = truthy(setting("enable_caching", kf.enable_caching))
        common, _spec = self.submission(request, kf.parameters, caching, "kubeflow.enable_caching")
        verify = extra.get("verify", True)
        return {
            **common,
            "pipeline_root": root,
            "experiment": extra.get("experiment") or kf.experiment,
            "service_account": extra.get("service_account") or kf.service_account,
            "poll_s": float(extra.get("poll_seconds", 15)),
            "timeout_s": float(extra.get("timeout_seconds", 6 * 3600)),
            "retry": retry_settings(extra.get),
            "kubeflow": {
                "host": host,
                "token": conn.password or None,
                "namespace": extra.get("namespace"),
                "ui_url": extra.get("ui_url"),
                "verify": verify if isinstance(verify, (bool, str)) else True,
                "pipeline_volume": volume.mount_path if volume is not None else None,
            },
        }
