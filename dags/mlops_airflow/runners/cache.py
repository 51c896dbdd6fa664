"""The run parameters that make a remote run's task cache mean what it means locally.

KFP's cache key (``backend/src/v2/cacheutils/cache.go``; Vertex AI does the same) is a task's
input parameters, input artifact names, command and image. The data behind an unchanged
``data_uri`` and the model serving at the push destination are not in it unless they are
parameters, so the compiled spec declares two runtime parameters that the ``kubeflow`` and
``vertex`` runners fill in right before submitting (:func:`cache_parameters`):

* ``data_fingerprint`` (STRING): what the data at ``data_uri`` is now (:func:`data_fingerprint`);
  DataIngest takes it, so changed data re-runs ingest and everything after it.
* ``serving_version`` (NUMBER_INTEGER): the version serving at the push destination, by the
  image side's own rule (:func:`pipelines.push_layout.serving_version`); the baseline, drift
  check and what follows take it, so a new push re-runs them on unchanged data.

With caching on (``enable_caching``, the default) a spec that does not declare both is
refused (:func:`check_cache_parameters`): its runs would be served stale results. Imports no
Airflow and no cloud client at import time.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Mapping

from mlops_airflow.runners.outcome import RunnerError

log = logging.getLogger(__name__)

#: The runtime parameters the runners compute (names agreed with the compile side: pipelines/).
CACHE_PARAMETERS = ("data_fingerprint", "serving_version")


def _object_token(uri: str) -> str:
    """One object's content identity: gs: generation + MD5 (CRC32C for composite objects);
    s3: ETag + size; a local or package file: SHA-256 of its bytes (an mtime changes on a copy)."""
    from components.common import storage

    scheme, bucket, key = storage.split_uri(uri)
    if scheme == "gs":
        # storage's own client: it honours STORAGE_EMULATOR_HOST as every other gs:// read does.
        try:
            blob = storage._gcs().bucket(bucket).get_blob(key)  # noqa: SLF001
        except Exception as exc:  # google.api_core errors: forbidden, no such bucket, outage
            raise storage.StorageError(f"{uri}: cannot stat: {type(exc).__name__}: {exc}") from exc
        if blob is None:
            raise storage.StorageError(f"{uri}: no such object")
        checksum = f"md5:{blob.md5_hash}" if blob.md5_hash else f"crc32c:{blob.crc32c}"
        return f"gs-generation:{blob.generation} {checksum}"
    if scheme == "s3":
        info = storage.stat(uri)
        return f"s3-etag:{info.version} size:{info.size}"
    return "sha256:" + storage.fingerprint(uri)


def data_fingerprint(uri: str) -> str:
    """What the data at ``uri`` is now: one object's token, or a folder's (a Spark table) SHA-256
    over its files' relative names and tokens.

    Raises:
        RunnerError: the data cannot be read (it was validated moments ago, so this is an
            outage; sending an empty fingerprint could serve a stale cached run instead).
    """
    from components.common import storage

    try:
        if storage.is_folder(uri):
            files = storage.list_uris(uri)
            if not files:
                raise storage.StorageError(f"{uri}: no files under this folder")
            base = uri.rstrip("/") + "/"
            listing = "\n".join(f"{f[len(base):]} {_object_token(f)}" for f in files)
            return "folder-sha256:" + hashlib.sha256(listing.encode()).hexdigest()
        return _object_token(uri)
    except storage.StorageError as exc:
        hint = ""
        if "://" not in uri:  # a path: the tasks' (a mounted volume), maybe not this worker's
            hint = (" A data path must be readable at the same path on the Airflow worker (mount the pipeline "
                    "volume there too), or turn the task cache off (kubeflow.enable_caching: false), which needs "
                    "no fingerprint.")
        raise RunnerError(f"cannot fingerprint the data for the run's cache key: {exc}.{hint}") from exc


def serving_version(destination: str, model_name: str) -> int:
    """The version serving at ``destination`` now (0: none yet, or it cannot be listed).

    The image side's rule (:func:`pipelines.push_layout.serving_version`) without a training key:
    the DAG cannot know the key the run's pusher will record, so after this pipeline's own push
    the next run re-runs the baseline, evaluation, drift check and push once (the pusher finds
    the same model and pushes nothing), then caches again.
    """
    from pipelines.push_layout import serving_version as rule

    from mlops_airflow.settings import resolve_repo_path

    where = destination if "://" in destination else str(resolve_repo_path(destination))
    return rule(where, model_name)


def push_target(spec: Mapping[str, Any], pipeline: Any) -> tuple[str, str]:
    """``(destination, model_name)`` whose serving version the run's tasks key their cache on.

    The spec's own: the constants beside the root task input wired to the ``serving_version``
    parameter (``destination`` or ``serving_models``, and ``model_name``), since a compile may
    override the config's ``push.destination``. The config's when the spec names no URI there
    (a local compile's container path, e.g. ``/src/runs/models``, means nothing on a worker).
    """
    for task in (((spec.get("root") or {}).get("dag") or {}).get("tasks") or {}).values():
        params = (task.get("inputs") or {}).get("parameters") or {}
        if (params.get("serving_version") or {}).get("componentInputParameter") != "serving_version":
            continue

        def constant(name: str) -> Any:
            return ((params.get(name) or {}).get("runtimeValue") or {}).get("constant")

        destination = constant("destination") or constant("serving_models")
        model = constant("model_name")
        if isinstance(destination, str) and "://" in destination and isinstance(model, str) and model:
            return destination, model
    return pipeline.push.destination, pipeline.push.model_name


def cache_parameters(pipeline: Any, data_uri: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """``{"data_fingerprint": ..., "serving_version": ...}`` for a run of ``spec`` (compiled from
    ``pipeline``, a loaded config) on ``data_uri``, computed now: just before it is submitted."""
    params = {
        "data_fingerprint": data_fingerprint(data_uri),
        "serving_version": serving_version(*push_target(spec, pipeline)),
    }
    log.info("cache parameters: %s", params)
    return params


def check_cache_parameters(declared: set[str], enable_caching: bool, runner: str, key: str) -> None:
    """Refuses a spec whose cached tasks could not see new data or a new push.

    Raises:
        RunnerError: caching is on and the spec does not declare both :data:`CACHE_PARAMETERS`.
    """
    missing = [p for p in CACHE_PARAMETERS if p not in declared]
    if enable_caching and missing:
        raise RunnerError(
            f"{runner} runner: the compiled pipeline spec declares no runtime parameter "
            f"{' or '.join(repr(m) for m in missing)}, so with caching on a rerun on changed data or after a "
            "new push would be served the cached results of an earlier run. Recompile it (make compile), "
            f"or turn caching off for these runs ({key}: false)"
        )


def truthy(value: Any) -> bool:
    """A setting's boolean from a config bool or a Variable's text (``true``/``1``/``yes``)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")
