"""Runner dispatch for ``training_pipeline.submit_pipeline`` (runtime only).

Where each runner's settings come from (config keys: declared, typed and validated in
``pipelines/config.py``, loaded through :mod:`lib.pipeline_config`):

* ``local``: env ``MLOPS_IMAGE`` (default ``mlops-pipelines:latest``), Variable
  ``mlops_local_timeout_s`` (default 4 h).
* ``kubeflow``: connection ``kfp_default`` (API URL in host, bearer token in password; extras
  ``namespace``, ``ui_url``, ``verify``, ``experiment``, ``service_account``,
  ``poll_seconds``, ``timeout_seconds``, ``retry_initial_seconds``, ``retry_max_seconds``,
  ``retry_budget_seconds``) and the config's ``kubeflow:`` section (``package_path``,
  ``pipeline_root``, ``parameters``, ``experiment``, ``service_account``).
* ``vertex``: Variables ``mlops_vertex_project``, ``mlops_vertex_location``,
  ``mlops_vertex_pipeline_root`` (gs://), ``mlops_vertex_service_account``,
  ``mlops_vertex_api_endpoint``, ``mlops_vertex_poll_seconds``, falling back to the config's
  ``vertex:`` section (``project``, ``location``/``region``, ``pipeline_root``,
  ``service_account``, ``api_endpoint``, ``poll_seconds``, ``anonymous_credentials``,
  ``timeout_seconds``, ``retry_*_seconds``, ``parameters``); credentials are Application
  Default Credentials (``anonymous_credentials`` true only for a local stand-in).
* ``dry-run``: nothing is submitted (validation only; used by the browser test).

Kubeflow and Vertex both submit the compiled spec at ``kubeflow.package_path`` (default
``build/<config stem>_pipeline.yaml``, what ``make compile`` writes); when it is missing it is
compiled with ``mlops compile`` in the project image. Both send the DAG's validated data URI as
the spec's ``data_uri`` runtime parameter, and run the real client (``kfp.Client`` /
``aiplatform.PipelineJob``) in the clients' venv through :func:`lib.runners.run_remote`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Mapping

from lib.connections import get_connection_or_none, url_from_connection
from lib.runners import (
    RunnerError,
    RunOutcome,
    compile_pipeline,
    default_package_path,
    load_pipeline_spec,
    raise_for_outcome,
    remote_parameters,
    run_local,
    run_remote,
)
from lib.pipeline_config import PipelineConfig, load_pipeline_config
from lib.settings import resolve_repo_path, safe_name

log = logging.getLogger(__name__)

KFP_CONN_ID = "kfp_default"


def submit(plan: Mapping[str, Any]) -> RunOutcome:
    """Runs the plan on its runner; raises ``AlertingFailure`` unless the run succeeded."""
    cfg = load_pipeline_config(plan["config"])
    runner = plan["runner"]
    if runner == "local":
        outcome = _local(plan, cfg)
    elif runner == "kubeflow":
        outcome = _kubeflow(plan, cfg)
    elif runner == "vertex":
        outcome = _vertex(plan, cfg)
    elif runner == "dry-run":
        outcome = RunOutcome(runner="dry-run", status="skipped", reason="dry-run: data validated, nothing submitted")
    else:
        raise RunnerError(f"unknown runner {runner!r}")
    log.info("outcome: %s", outcome.to_dict())
    raise_for_outcome(outcome, plan["dataset"], plan["data_uri"])
    return outcome


def _variable(key: str, default: Any = None) -> Any:
    from airflow.sdk import Variable

    return Variable.get(key, default=default)


def _local(plan: Mapping[str, Any], cfg: PipelineConfig) -> RunOutcome:
    data_uri = plan["data_uri"]
    # The config already names its data; pass --data-uri only for an override.
    return run_local(
        config_rel=plan["config"],
        output_rel=plan["output_dir"],
        data_uri=None if data_uri == cfg.data.uri else data_uri,
        timeout_s=float(_variable("mlops_local_timeout_s", 4 * 3600)),
        container_name=f"mlops-airflow-{safe_name(plan['run_id'], 60)}",
    )


def _package(plan: Mapping[str, Any], cfg: PipelineConfig) -> Path:
    package_rel = cfg.kubeflow.package_path or default_package_path(plan["config"])
    path = resolve_repo_path(package_rel)
    if not path.is_file():
        log.info("no compiled spec at %s; compiling it", path)
        compile_pipeline(plan["config"], package_rel)
    return path


_RETRY_KEYS = (("initial_s", "retry_initial_seconds"), ("max_s", "retry_max_seconds"), ("budget_s", "retry_budget_seconds"))


def _retry(source: Mapping[str, Any]) -> dict[str, float]:
    """The retry settings given in a connection's extras (the rest: the runner's defaults)."""
    return {key: float(source[name]) for key, name in _RETRY_KEYS if source.get(name) is not None}


def _warn_local_data(data_uri: str, runner: str) -> None:
    if "://" not in data_uri:
        log.warning(
            "%s runner: data_uri %s is a path on this worker; the remote pipeline must see the same path "
            "(use s3:// or gs:// data for a remote run)",
            runner,
            data_uri,
        )


# Pipeline roots TF's gfile in the project image cannot open (pipelines/kubeflow/conformance.py).
UNSUPPORTED_ROOTS = ("s3://", "minio://", "s3a://")


def _kubeflow(plan: Mapping[str, Any], cfg: PipelineConfig) -> RunOutcome:
    conn = get_connection_or_none(KFP_CONN_ID)
    host = url_from_connection(conn) if conn is not None else None
    if not host:
        raise RunnerError(f"kubeflow runner: connection {KFP_CONN_ID!r} with the KFP API URL is not configured")
    extra = conn.extra_dejson or {}
    kf = cfg.kubeflow
    package = _package(plan, cfg)
    params = remote_parameters(load_pipeline_spec(package), plan["data_uri"], dict(kf.parameters))
    _warn_local_data(plan["data_uri"], "kubeflow")
    root = kf.pipeline_root
    spec_root = load_pipeline_spec(package).get("defaultPipelineRoot") or ""
    for candidate in (root, spec_root):
        if isinstance(candidate, str) and candidate.startswith(UNSUPPORTED_ROOTS):
            raise RunnerError(
                f"kubeflow runner: pipeline root {candidate!r}: TFX and TensorFlow in the project image cannot "
                "open s3:// or minio:// URIs (OSS KFP's default MinIO root included). Set kubeflow.pipeline_root "
                "to a gs:// bucket (or compile with --pipeline-root gs://...); see docs/kubeflow.md"
            )
    verify = extra.get("verify", True)
    request = {
        "runner": "kubeflow",
        "package": str(package),
        "pipeline_name": cfg.name,
        "run_name": f"{cfg.name} {plan['run_id']}",
        "parameters": params,
        # A local pipeline_root (used for compiling) means nothing to the cluster: keep the spec's.
        "pipeline_root": root if isinstance(root, str) and "://" in root else None,
        "experiment": extra.get("experiment") or kf.experiment,
        "service_account": extra.get("service_account") or kf.service_account,
        "poll_s": float(extra.get("poll_seconds", 15)),
        "timeout_s": float(extra.get("timeout_seconds", 6 * 3600)),
        "retry": _retry(extra),
        "kubeflow": {
            "host": host,
            "token": conn.password or None,
            "namespace": extra.get("namespace"),
            "ui_url": extra.get("ui_url"),
            "verify": verify if isinstance(verify, (bool, str)) else True,
        },
    }
    return run_remote(request)


def _vertex(plan: Mapping[str, Any], cfg: PipelineConfig) -> RunOutcome:
    from lib.vertex_runner import vertex_job_id

    vx = cfg.vertex

    def setting(var: str, configured: Any) -> Any:
        """Variable ``mlops_vertex_<var>`` (per deployment), else the config's value."""
        value = _variable(f"mlops_vertex_{var}")
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
    package = _package(plan, cfg)
    params = remote_parameters(load_pipeline_spec(package), plan["data_uri"], dict(vx.parameters))
    _warn_local_data(plan["data_uri"], "vertex")
    anonymous = str(setting("anonymous_credentials", vx.anonymous_credentials)).lower() in ("1", "true", "yes")
    sa = setting("service_account", vx.service_account)
    request = {
        "runner": "vertex",
        "package": str(package),
        "pipeline_name": cfg.name,
        "run_name": f"{cfg.name} {plan['run_id']}",
        "parameters": params,
        "pipeline_root": str(root),
        "service_account": str(sa) if sa else None,
        "poll_s": float(setting("poll_seconds", vx.poll_seconds)),
        "timeout_s": vx.timeout_seconds,
        "retry": {key: getattr(vx, name) for key, name in _RETRY_KEYS if getattr(vx, name) is not None},
        "vertex": {
            "project": str(project),
            "location": str(location),
            "job_id": vertex_job_id(cfg.name, plan["run_id"]),
            "labels": {"mlops-pipeline": re.sub(r"[^a-z0-9_-]", "-", cfg.name.lower())[:63]},
            "api_endpoint": setting("api_endpoint", vx.api_endpoint),
            "anonymous_credentials": anonymous,
        },
    }
    return run_remote(request)
