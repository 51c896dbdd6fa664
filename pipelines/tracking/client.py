"""The MLflow adapter: one MLflow run per pipeline run, pushed versions mirrored into the registry.

``record_run`` is what ``mlops run`` calls when a run ends (whatever its status);
``record_push`` is what the VersionedPusher calls on Kubeflow/Vertex, where no ``mlops run``
process surrounds the pipeline. Neither raises: tracking is a mirror, so an unreachable server
costs a line in ``run.json`` (``tracking.error`` / ``tracking.registry``), never the run or the
push. The next run registers the versions the registry lacks (``sync_registry``).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping

from pipelines.tracking import logic

log = logging.getLogger(__name__)

#: Model-version tags that tie a registered version to its push (the source of truth).
PUSH_VERSION_TAG = "mlops.push_version"
PUSH_DESTINATION_TAG = "mlops.push_destination"
PUSH_URI_TAG = "mlops.push_uri"
#: The pushed version's model card (components/model_card) and its copy among the run's artifacts.
MODEL_CARD_TAG = "mlops.model_card"
MODEL_CARD_ARTIFACT_TAG = "mlops.model_card_artifact"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"


class TrackingUnavailable(RuntimeError):
    """The tracking server did not answer (down, wrong URI, timeout)."""


def _quiet_mlflow(timeout_s: float) -> None:
    """Fail fast against a server that is down: MLflow's defaults retry for minutes."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, int(timeout_s))))
    # Nothing leaves the machine unless a user points the URI somewhere.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


def probe(uri: str, timeout_s: float) -> None:
    """Raises TrackingUnavailable unless the server at ``uri`` answers ``/health``."""
    if not logic.is_server(uri):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as resp:
            if resp.status != 200:
                raise TrackingUnavailable(f"{uri}/health answered HTTP {resp.status}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailable(f"the MLflow server at {uri} did not answer ({reason})") from exc


def connect(uri: str, timeout_s: float):
    """An ``MlflowClient`` for ``uri`` (local store folders are created first)."""
    _quiet_mlflow(timeout_s)
    probe(uri, timeout_s)
    if uri.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(uri[len("sqlite:///"):]), exist_ok=True)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client, name: str, uri: str) -> str:
    """The experiment's id, created on first use (local stores keep artifacts beside the store)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = logic.artifact_location(uri, name)
    try:
        # The UI then opens the experiment on its runs (model training), not on GenAI traces.
        return client.create_experiment(name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: "custom_model_development"})
    except Exception:  # created meanwhile by a concurrent run
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _log_batches(client, run_id: str, params: Mapping[str, str], metrics: Mapping[str, float],
                 tags: Mapping[str, str]) -> None:
    """MLflow's ``log_batch`` takes at most 100 params/tags and 1000 metrics per call."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    p = [Param(k, v) for k, v in sorted(params.items())]
    t = [RunTag(k, v) for k, v in sorted(tags.items())]
    m = [Metric(k, v, now, 0) for k, v in sorted(metrics.items())]
    for i in range(0, max(len(p), len(t), 1), 100):
        client.log_batch(run_id, params=p[i:i + 100], tags=t[i:i + 100])
    for i in range(0, len(m), 1000):
        client.log_batch(run_id, metrics=m[i:i + 1000])


def _registered_by_push_version(client, model_name: str) -> dict[int, Any]:
    """Registered versions of ``model_name`` that mirror a push, by push version."""
    out: dict[int, Any] = {}
    for mv in client.search_model_versions(f"name = '{model_name}'"):
        tag = (mv.tags or {}).get(PUSH_VERSION_TAG)
        if tag and tag.isdigit():
            out[int(tag)] = mv
    return out


def _source_for(client, uri: str, run_id: str | None, version_uri: str, push_version: int) -> str:
    """The model version's ``source``: the pushed SavedModel itself wherever the registry can
    name it (object stores; local paths in a local store). A tracking server refuses local paths
    outside a run's artifacts, and cannot read the pusher's disk anyway: then the SavedModel is
    copied into the run's artifacts and the version points there (``mlops.push_uri`` names the
    push destination's copy, which stays the source of truth)."""
    saved_model = f"{version_uri.rstrip('/')}/saved_model"
    if "://" in version_uri or not logic.is_server(uri):
        return saved_model
    if not run_id:
        raise TrackingUnavailable(f"cannot register local {saved_model} on {uri} without an MLflow run")
    artifact_path = f"pushed_model/v{push_version}"
    client.log_artifacts(run_id, saved_model, artifact_path)
    return f"runs:/{run_id}/{artifact_path}"


def sync_registry(
    client,
    uri: str,
    model_name: str,
    destination: str,
    alias: str,
    run_id: str | None,
    run_ids_by_pipeline_run: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Mirrors the push destination into the registered model ``model_name``.

    Every complete pushed version missing from the registry is registered (oldest first), with
    its manifest as tags; the alias then names the newest pushed version. The alias therefore
    moves only when the destination gained a version (a push succeeded, now or in a run whose
    registry update failed).

    Args:
        client: An ``MlflowClient``.
        uri: Its tracking URI.
        model_name: ``push.model_name``.
        destination: ``push.destination`` (local path, s3://, gs://).
        alias: ``tracking.alias``.
        run_id: The MLflow run doing the sync (linked to the versions it registers, unless the
            version's own run is known).
        run_ids_by_pipeline_run: Pipeline run id -> MLflow run id, to link a late registration
            to the run that pushed it.

    Returns:
        ``{"updated": True, "model": ..., "registered": [versions], "alias": ..., "version": N,
        "push_version": n}`` (``version`` is the registry's number for the newest push).
    """
    from components.versioned_pusher import logic as push_logic

    pushed = push_logic.complete_versions(destination, model_name)
    result: dict[str, Any] = {"updated": True, "model": model_name, "alias": alias, "registered": []}
    if not pushed:
        result.update(version=None, push_version=None, note=f"no version of {model_name} has been pushed yet")
        return result
    try:
        client.get_registered_model(model_name)
    except Exception:  # noqa: BLE001 - RESOURCE_DOES_NOT_EXIST; anything else fails the next call too
        client.create_registered_model(model_name, description=f"Pushed versions of {model_name} (mirrors {destination})")
    registered = _registered_by_push_version(client, model_name)
    for version in pushed:
        if version in registered:
            continue
        manifest = push_logic.read_manifest(destination, model_name, version)
        version_uri = storage_join(push_logic.model_root(destination, model_name), str(version))
        owner = (run_ids_by_pipeline_run or {}).get(str(manifest.get("run_id") or "")) or run_id
        tags = {
            **logic.manifest_tags(manifest),
            PUSH_VERSION_TAG: str(version),
            PUSH_DESTINATION_TAG: destination,
            PUSH_URI_TAG: version_uri,
            "mlops.run_id": str(manifest.get("run_id") or ""),
        }
        card = _attach_model_card(client, run_id, manifest, version_uri, version)
        tags.update(card)
        source = _source_for(client, uri, run_id, version_uri, version)
        if source.startswith("runs:/"):
            # The copy lives in this run's artifacts, and a server only accepts it linked to that run.
            tags["mlops.pushed_by_mlflow_run"] = owner or ""
            owner = run_id
        card_note = f"; model card: {card[MODEL_CARD_TAG]}" if card else ""
        mv = client.create_model_version(model_name, source=source, run_id=owner, tags=tags,
                                         description=f"push {version} of {model_name}: {version_uri}{card_note}")
        registered[version] = mv
        result["registered"].append(int(mv.version))
    newest = registered[pushed[-1]]
    current = None
    try:
        current = client.get_model_version_by_alias(model_name, alias)
    except Exception:  # noqa: BLE001 - no such alias yet
        current = None
    if current is None or str(current.version) != str(newest.version):
        client.set_registered_model_alias(model_name, alias, newest.version)
        result["alias_moved"] = True
    else:
        result["alias_moved"] = False
    result.update(version=int(newest.version), push_version=pushed[-1])
    return result


def _attach_model_card(client, run_id: str | None, manifest: Mapping[str, Any], version_uri: str,
                       version: int) -> dict[str, str]:
    """Tags naming the version's model card; a local card is also copied into the MLflow run's
    artifacts (``model_card/v<N>/``), where the MLflow UI and a remote reader can open it. A failed
    copy leaves the tag to the pushed card and costs a warning, never the registration."""
    if "model_card" not in (manifest.get("files") or []):
        return {}
    tags = {MODEL_CARD_TAG: storage_join(version_uri, "model_card", "index.html")}
    if run_id and "://" not in version_uri:
        try:
            client.log_artifacts(run_id, storage_join(version_uri, "model_card"), f"model_card/v{version}")
            tags[MODEL_CARD_ARTIFACT_TAG] = f"runs:/{run_id}/model_card/v{version}/index.html"
        except Exception as exc:  # noqa: BLE001 - the pushed card stays the reference
            log.warning("model card of push %s not copied to the MLflow run: %s", version, _short(exc))
    return tags


def storage_join(base: str, *parts: str) -> str:
    from components.common import storage

    return storage.join(base, *parts)


def _mlflow_runs_by_pipeline_run(client, exp_id: str) -> dict[str, str]:
    """Pipeline run id -> MLflow run id, for the runs of one experiment (newest 1000)."""
    runs = client.search_runs([exp_id], max_results=1000)
    return {r.data.tags.get("mlops.run_id", ""): r.info.run_id for r in runs if r.data.tags.get("mlops.run_id")}


def image_name(repo_root: str | Path) -> str:
    """The image a run ran in: ``MLOPS_IMAGE``, else the tag ``make image`` gives this checkout."""
    if os.environ.get("MLOPS_IMAGE"):
        return os.environ["MLOPS_IMAGE"]
    import hashlib

    try:
        data = b"".join(Path(repo_root, p).read_bytes() for p in ("infra/docker/Dockerfile", "infra/docker/requirements.lock"))
    except OSError:
        return ""
    return "mlops-pipelines:" + hashlib.sha256(data).hexdigest()[:12]


def _registry_failed(reason: str, model_name: str) -> dict[str, Any]:
    return {
        "updated": False,
        "model": model_name,
        "reason": f"The model registry was not updated: {reason}. Pushed versions are intact at the push "
                  f"destination; the next run registers the versions of {model_name} the registry lacks.",
    }


def track(
    cfg,
    summary: dict[str, Any],
    report_dir: str,
    *,
    runner: str,
    data_uri: str,
    data_fingerprint: str,
    code_version: str,
    repo_root: str | Path,
    artifacts: Mapping[str, str] | None = None,
    before_artifacts=None,
) -> dict[str, Any]:
    """Logs one pipeline run to MLflow and syncs the registry. Never raises (except BaseException
    that is not Exception).

    Args:
        cfg: The run's ``PipelineConfig``.
        summary: ``run.json`` as a dict (status, reason, gate, pushed, components, ...).
        report_dir: The run's reports folder (logged under ``reports/``).
        runner: ``local``, ``kubeflow`` or ``vertex``.
        data_uri, data_fingerprint, code_version: What the run trained on and with.
        repo_root: The repository root (relative store paths, the image tag).
        artifacts: Extra files to log: artifact path -> local file.
        before_artifacts: Called with the tracking section before artifacts are uploaded, so the
            ``run.json`` that is logged already links the run and the registered version.

    Returns:
        ``run.json``'s ``tracking`` section: ``uri``, ``experiment``, ``run_id``, ``run_url``,
        ``logged``, ``error``, and ``registry`` (``updated``, ``version``, ``alias``, ``url`` or
        ``reason``).
    """
    tr = cfg.tracking
    uri = logic.tracking_uri(tr.uri, os.environ, repo_root)
    experiment = tr.experiment or cfg.name
    base = logic.ui_base(tr.ui_url, uri)
    out: dict[str, Any] = {"uri": _display_uri(uri, repo_root), "experiment": experiment, "run_id": None,
                           "run_url": None, "logged": False}
    client = run_id = None
    try:
        client = connect(uri, tr.timeout_seconds)
        exp_id = experiment_id(client, experiment, uri)
        tags = logic.run_tags(summary, cfg.name, runner)
        run = client.create_run(exp_id, tags={"mlflow.runName": tags.pop("mlflow.runName")})
        run_id = run.info.run_id
        out.update(run_id=run_id, experiment_id=exp_id, run_url=logic.run_url(base, exp_id, run_id))
        params = logic.run_params(cfg.to_dict(), data_uri, data_fingerprint, code_version, image_name(repo_root))
        _log_batches(client, run_id, params, logic.run_metrics(summary, report_dir, cfg.to_dict()), tags)
    except Exception as exc:  # noqa: BLE001 - tracking never fails a run
        out["error"] = _short(exc)
        log.warning("MLflow tracking failed: %s", out["error"])
    if tr.register:
        if client is None or "error" in out and run_id is None:
            out["registry"] = _registry_failed(out.get("error", "no tracking client"), cfg.push.model_name)
        else:
            try:
                destination = cfg.push.destination if "://" in cfg.push.destination else os.path.abspath(cfg.push.destination)
                linked = _mlflow_runs_by_pipeline_run(client, out["experiment_id"])
                reg = sync_registry(client, uri, cfg.push.model_name, destination, tr.alias, run_id, linked)
                if reg.get("version") is not None:
                    reg["url"] = logic.model_version_url(base, cfg.push.model_name, reg["version"])
                    reg["model_uri"] = f"models:/{cfg.push.model_name}@{tr.alias}"
                out["registry"] = reg
                if run_id:
                    client.set_tag(run_id, "mlops.registry", "updated")
                    if reg.get("registered"):
                        client.set_tag(run_id, "mlops.registered_versions", ",".join(map(str, reg["registered"])))
            except Exception as exc:  # noqa: BLE001
                out["registry"] = _registry_failed(_short(exc), cfg.push.model_name)
                log.warning("%s", out["registry"]["reason"])
                if run_id:
                    _safe(lambda: client.set_tag(run_id, "mlops.registry", out["registry"]["reason"][:5000]))
    # What the logged run.json says; corrected below if the upload fails.
    out["logged"] = run_id is not None and "error" not in out
    if before_artifacts is not None:
        before_artifacts(out)
    if run_id:
        try:
            for path, local in (artifacts or {}).items():
                client.log_artifact(run_id, local, os.path.dirname(path) or None)
            if os.path.isdir(report_dir):
                client.log_artifacts(run_id, report_dir, "reports")
            client.set_terminated(run_id, "FAILED" if summary.get("status") == "failed" else "FINISHED")
        except Exception as exc:  # noqa: BLE001
            out["logged"] = False
            out["error"] = _short(exc)
            log.warning("MLflow tracking failed while logging artifacts: %s", out["error"])
            _safe(lambda: client.set_terminated(run_id, "FAILED"))
    return out


def _safe(fn) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - best effort on an already failing server
        pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:500]


def _display_uri(uri: str, repo_root: str | Path) -> str:
    """Store files under the repo shown relative to it (the same words on the host and in the image)."""
    root = str(Path(repo_root).resolve()) + os.sep
    return uri.replace("sqlite:///" + root, "sqlite:///") if uri.startswith("sqlite:///" + root) else uri


def record_run(cfg, summary, output_dir: str, *, data_uri: str, data_fingerprint: str, code_version: str,
               repo_root: str | Path) -> None:
    """What ``mlops run`` does when a run ends: MLflow run + registry sync (``tracking``), then
    ``reports/index.html`` and ``run.json`` with the ``tracking`` section. Never raises.

    Args:
        cfg: The run's ``PipelineConfig``.
        summary: The ``RunSummary`` (its ``tracking`` field is set here).
        output_dir: The run folder.
        data_uri, data_fingerprint, code_version: What the run trained on and with.
        repo_root: The repository root.
    """
    from pipelines.tracking.index import write_index

    report_dir = os.path.join(os.path.abspath(output_dir), "reports")
    run_json = Path(output_dir, "run.json")

    def write_outputs(tracking: dict[str, Any]) -> None:
        summary.tracking = dict(tracking)
        try:
            write_index(summary.to_dict(), cfg.name, report_dir)
        except Exception as exc:  # noqa: BLE001 - the page is a convenience; run.json is the contract
            log.warning("could not write %s/index.html: %s", report_dir, exc)
        run_json.write_text(json.dumps(summary.to_dict(), indent=2, default=str))

    if not cfg.tracking.enabled:
        write_outputs({"enabled": False})
        return
    tracking = track(
        cfg, summary.to_dict(), report_dir, runner="local", data_uri=data_uri, data_fingerprint=data_fingerprint,
        code_version=code_version, repo_root=repo_root, artifacts={"run.json": str(run_json)},
        before_artifacts=write_outputs,
    )
    write_outputs(tracking)


def in_pipeline_task() -> bool:
    """True inside a compiled pipeline's task (Kubeflow, Vertex, kfp.local): there no ``mlops run``
    surrounds the pipeline, so the VersionedPusher logs the run itself (``record_push``)."""
    return os.environ.get("MLOPS_RUNNER") == "kubeflow"


def record_push(
    *,
    pipeline_name: str,
    model_name: str,
    destination: str,
    blessed: bool,
    pushed: Mapping[str, Any] | None,
    report_uris: Mapping[str, str],
    params: Mapping[str, str],
    mlmd_ids: Mapping[str, Any],
    repo_root: str | Path,
) -> dict[str, Any] | None:
    """The MLflow run of a Kubeflow/Vertex pipeline run, logged by its VersionedPusher.

    Only when the task's environment names a server (``MLFLOW_TRACKING_URI``; the compiled spec
    never contains one). The experiment is ``MLFLOW_EXPERIMENT_NAME`` or the pipeline's name, the
    alias ``MLOPS_REGISTRY_ALIAS`` or ``production``. What a pusher cannot see is not logged: a
    run the data gate stopped never reaches the pusher (the KFP/Vertex run page shows it), and
    per-component seconds are the backend's. Never raises.

    Args:
        pipeline_name, model_name, destination: The pusher's parameters.
        blessed: The blessing the pusher obeyed.
        pushed: ``{"version", "path", "created"}`` when a version was pushed.
        report_uris: Report name (``evaluation``, ``fairness``, ``explain``, ``compress``) -> artifact URI.
        params: Data URI, fingerprint, code version, ...
        mlmd_ids: MLMD artifact ids of the model, blessing and examples.
        repo_root: The repository root (image tag).

    Returns:
        The ``tracking`` section (as ``track`` returns it), or None when no server is named.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return None
    from components.common import gfile_io

    experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or pipeline_name
    alias = os.environ.get("MLOPS_REGISTRY_ALIAS") or "production"
    base = logic.ui_base(os.environ.get("MLOPS_MLFLOW_UI_URL"), uri)
    status = "succeeded" if pushed else "not_blessed"
    summary = {"status": status, "run_id": os.environ.get("MLOPS_RUN_ID", ""), "pushed": dict(pushed) if pushed else None,
               "gate": {"passed": True}}
    if not blessed:
        summary["reason"] = "The candidate model was not blessed (evaluation or fairness gate), so nothing was pushed."
    out: dict[str, Any] = {"uri": uri, "experiment": experiment, "run_id": None, "run_url": None, "logged": False}
    client = run_id = None
    try:
        client = connect(uri, 10.0)
        exp_id = experiment_id(client, experiment, uri)
        tags = logic.run_tags(summary, pipeline_name, "kubeflow")
        tags.update({f"mlops.mlmd.artifact.{k}": str(v) for k, v in mlmd_ids.items() if v is not None})
        run = client.create_run(exp_id, tags={"mlflow.runName": tags.pop("mlflow.runName")})
        run_id = run.info.run_id
        out.update(run_id=run_id, experiment_id=exp_id, run_url=logic.run_url(base, exp_id, run_id))
        with gfile_io.local_dirs(dict(report_uris)) as local:
            import shutil
            import tempfile

            with tempfile.TemporaryDirectory(prefix="mlops-reports-") as reports:
                for name, folder in local.items():
                    shutil.copytree(folder, os.path.join(reports, name))
                metrics = logic.run_metrics(summary, reports, {})
                _log_batches(client, run_id, {**params, "run.image": image_name(repo_root)}, metrics, tags)
                client.log_artifacts(run_id, reports, "reports")
        out["registry"] = sync_registry(client, uri, model_name, destination, alias, run_id,
                                        _mlflow_runs_by_pipeline_run(client, exp_id))
        if out["registry"].get("version") is not None:
            out["registry"]["url"] = logic.model_version_url(base, model_name, out["registry"]["version"])
        client.set_terminated(run_id, "FINISHED")
        out["logged"] = True
    except Exception as exc:  # noqa: BLE001 - tracking never fails a push
        out["error"] = _short(exc)
        out.setdefault("registry", _registry_failed(out["error"], model_name))
        log.warning("MLflow tracking from the pipeline failed: %s", out["error"])
        if client is not None and run_id:
            _safe(lambda: client.set_terminated(run_id, "FAILED"))
    return out
