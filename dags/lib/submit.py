"""Runner dispatch for ``training_pipeline.submit_pipeline`` (runtime only).

Where each runner's settings come from:

* ``local``: env ``MLOPS_IMAGE`` (default ``mlops-pipelines:latest``), Variable
  ``mlops_local_timeout_s`` (default 4 h).
* ``kubeflow``: connection ``kfp_default`` (API URL in host, bearer token in password; extras
  ``namespace``, ``ui_url``, ``verify``, ``experiment``, ``service_account``,
  ``poll_seconds``, ``timeout_seconds``) and the config's ``kubeflow:`` section
  (``package_path``, ``pipeline_root``, ``parameters``, ``experiment``).
* ``vertex``: Variables ``mlops_vertex_project``, ``mlops_vertex_location``,
  ``mlops_vertex_pipeline_root`` (gs://), ``mlops_vertex_service_account``, falling back to the
  config's ``vertex:`` section (``project``, ``location``/``region``, ``pipeline_root``,
  ``service_account``); credentials are Application Default Credentials.
* ``dry-run``: nothing is submitted (validation only; used by the browser test).

Kubeflow and Vertex both submit the compiled spec at ``kubeflow.package_path`` (default
``build/<config stem>_pipeline.yaml``, what ``make compile`` writes); when it is missing it is
compiled with ``mlops compile`` in the project image.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from lib.connections import get_connection_or_none, url_from_connection
from lib.runners import (
    KfpRestClient,
    RunnerError,
    RunOutcome,
    VertexRestClient,
    compile_pipeline,
    default_package_path,
    raise_for_outcome,
    run_kubeflow,
    run_local,
    run_vertex,
    vertex_job_id,
)
from lib.settings import PipelineSettings, load_settings, resolve_repo_path, safe_name

log = logging.getLogger(__name__)

KFP_CONN_ID = "kfp_default"


def submit(plan: Mapping[str, Any]) -> RunOutcome:
    """Runs the plan on its runner; raises ``AlertingFailure`` unless the run succeeded."""
    settings = load_settings(plan["config"])
    runner = plan["runner"]
    if runner == "local":
        outcome = _local(plan)
    elif runner == "kubeflow":
        outcome = _kubeflow(plan, settings)
    elif runner == "vertex":
        outcome = _vertex(plan, settings)
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


def _local(plan: Mapping[str, Any]) -> RunOutcome:
    data_uri = plan["data_uri"]
    # The config already names its data; pass --data-uri only for an override.
    settings = load_settings(plan["config"])
    return run_local(
        config_rel=plan["config"],
        output_rel=plan["output_dir"],
        data_uri=None if data_uri == settings.data_uri else data_uri,
        timeout_s=float(_variable("mlops_local_timeout_s", 4 * 3600)),
        container_name=f"mlops-airflow-{safe_name(plan['run_id'], 60)}",
    )


def _package(plan: Mapping[str, Any], settings: PipelineSettings) -> Path:
    package_rel = str(settings.kubeflow.get("package_path") or default_package_path(plan["config"]))
    path = resolve_repo_path(package_rel)
    if not path.is_file():
        log.info("no compiled spec at %s; compiling it", path)
        compile_pipeline(plan["config"], package_rel)
    return path


def _candidates(plan: Mapping[str, Any], settings: PipelineSettings, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Runtime parameters offered to the compiled pipeline (only declared ones are sent)."""
    out: dict[str, Any] = {"data_uri": plan["data_uri"], "data-uri": plan["data_uri"], "config": plan["config"]}
    out.update(extra or {})
    return out


def _kubeflow(plan: Mapping[str, Any], settings: PipelineSettings) -> RunOutcome:
    conn = get_connection_or_none(KFP_CONN_ID)
    host = url_from_connection(conn) if conn is not None else None
    if not host:
        raise RunnerError(f"kubeflow runner: connection {KFP_CONN_ID!r} with the KFP API URL is not configured")
    extra = conn.extra_dejson or {}
    verify = extra.get("verify", True)
    client = KfpRestClient(
        host,
        token=conn.password or None,
        namespace=extra.get("namespace"),
        ui_url=extra.get("ui_url"),
        verify=verify if isinstance(verify, (bool, str)) else True,
    )
    kf = settings.kubeflow
    root = kf.get("pipeline_root")
    return run_kubeflow(
        client,
        package=_package(plan, settings),
        pipeline_name=settings.name,
        run_name=f"{settings.name} {plan['run_id']}",
        parameters=_candidates(plan, settings, kf.get("parameters") or {}),
        # A local pipeline_root (used for compiling) means nothing to the cluster: keep the spec's.
        pipeline_root=root if isinstance(root, str) and "://" in root else None,
        experiment=extra.get("experiment") or kf.get("experiment"),
        service_account=extra.get("service_account") or kf.get("service_account"),
        poll_s=float(extra.get("poll_seconds", 15)),
        timeout_s=float(extra.get("timeout_seconds", 6 * 3600)),
    )


def _vertex(plan: Mapping[str, Any], settings: PipelineSettings, session: Any = None) -> RunOutcome:
    vx = settings.vertex
    project = _variable("mlops_vertex_project") or vx.get("project")
    location = _variable("mlops_vertex_location") or vx.get("location") or vx.get("region")
    root = _variable("mlops_vertex_pipeline_root") or vx.get("pipeline_root")
    sa = _variable("mlops_vertex_service_account") or vx.get("service_account")
    missing = [n for n, v in (("project", project), ("location", location), ("pipeline_root", root)) if not v]
    if missing:
        raise RunnerError(
            f"vertex runner: set {', '.join('mlops_vertex_' + m for m in missing)} (Variables) "
            "or the config's vertex: section"
        )
    client = VertexRestClient(str(project), str(location), session=session)
    return run_vertex(
        client,
        package=_package(plan, settings),
        pipeline_name=settings.name,
        job_id=vertex_job_id(settings.name, plan["run_id"]),
        parameters=_candidates(plan, settings, vx.get("parameters") or {}),
        pipeline_root=str(root),
        service_account=str(sa) if sa else None,
        poll_s=float(vx.get("poll_seconds", 30)),
    )
