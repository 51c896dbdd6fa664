"""The push destination's layout and which pushed version is "the model now serving".

The pusher writes ``<destination>/<model>/<version>/{saved_model/, manifest.json, ...}``; a
version is complete (visible) once its ``manifest.json`` exists. The version that serves is the
newest complete one that was blessed, by the fairness gate too when it ran (:func:`eligible`).

One rule, read by the image side (``components.versioned_pusher.logic``,
``components.serving_baseline.logic``: the pusher, the Evaluator's baseline, the cache key of
``mlops run``) and by the Airflow DAGs (the ``kubeflow``/``vertex`` runners send
:func:`serving_version` as the ``serving_version`` run parameter). So this module imports only
the standard library and ``components.common.storage`` (boto3 / google-cloud-storage, lazily):
no TensorFlow, TFX or tensorflow_metadata, so it ships to managed Airflow (docs/airflow.md).
It lives in ``pipelines/`` rather than ``mlops/``, whose ``__init__`` imports TFX artifact types.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from components.common import storage

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def model_root(destination: str, model_name: str) -> str:
    """``<destination>/<model>``: the folder of every version of one model."""
    return storage.join(destination, model_name)


def complete_versions(destination: str, model_name: str) -> list[int]:
    """Versions that have a manifest (complete and visible), ascending."""
    root = model_root(destination, model_name)
    versions = set()
    if storage.split_uri(root)[0] == "file":
        base = Path(storage.local_path(root))
        if base.is_dir():
            versions = {int(p.name) for p in base.iterdir() if p.name.isdigit() and (p / MANIFEST).is_file()}
    else:
        for uri in storage.list_uris(root + "/"):
            rel = uri[len(root) + 1:].split("/")
            if len(rel) == 2 and rel[0].isdigit() and rel[1] == MANIFEST:
                versions.add(int(rel[0]))
    return sorted(versions)


def read_manifest(destination: str, model_name: str, version: int) -> dict[str, Any]:
    """The manifest of one version.

    Raises:
        storage.StorageError: It cannot be read.
    """
    return json.loads(storage.read_bytes(storage.join(model_root(destination, model_name), str(version), MANIFEST)))


def latest(destination: str, model_name: str) -> tuple[int, dict[str, Any]] | None:
    """The newest complete version and its manifest (blessed or not), or None."""
    versions = complete_versions(destination, model_name)
    if not versions:
        return None
    return versions[-1], read_manifest(destination, model_name, versions[-1])


@dataclass(frozen=True)
class ServingModel:
    """A pushed version that may serve as the baseline.

    Attributes:
        version: The version number.
        uri: ``<destination>/<model>/<version>``.
        saved_model_uri: Its SavedModel folder.
        manifest: Its manifest.
    """

    version: int
    uri: str
    saved_model_uri: str
    manifest: dict[str, Any]


def eligible(manifest: dict[str, Any]) -> bool:
    """A version serves only if it was blessed, including by the fairness gate when it ran."""
    fairness = manifest.get("fairness")
    return bool(manifest.get("blessed")) and not (isinstance(fairness, dict) and fairness.get("passed") is False)


def serving_model(
    destination: str, model_name: str, skip: Callable[[dict[str, Any]], bool] = lambda manifest: False
) -> ServingModel | None:
    """The newest complete, blessed (fairness included) version, or None when there is none.

    Args:
        destination: The push destination.
        model_name: The model folder under it.
        skip: Versions whose manifest it accepts are passed over (the candidate itself, which
            a rerun of an unchanged pipeline pushed earlier).

    Raises:
        storage.StorageError: The destination cannot be listed or a manifest cannot be read.
    """
    for version in reversed(complete_versions(destination, model_name)):
        manifest = read_manifest(destination, model_name, version)
        if eligible(manifest) and not skip(manifest):
            uri = storage.join(model_root(destination, model_name), str(version))
            return ServingModel(version, uri, storage.join(uri, "saved_model"), manifest)
    return None


def serving_version(destination: str, model_name: str, training_key: str = "") -> int:
    """The version that serves as a run's baseline, as far as it can be known before the run:
    the serving version, passing over versions pushed by a run with the same ``training_key``
    (that run's model is this run's candidate: same data, config and module code).

    0 when none, or when the destination cannot be listed now (logged; the component itself
    then reports the error at run time). Used only as a cache key: an unchanged rerun sees the
    same number as the run before it, so nothing re-executes; a new push by another run changes it.
    """
    try:
        found = serving_model(
            destination, model_name, skip=lambda m: bool(training_key) and m.get("training_key") == training_key
        )
    except (storage.StorageError, OSError, ValueError) as exc:
        log.warning("serving version of %s under %s unknown (taken as 0): %s", model_name, destination, exc)
        return 0
    return found.version if found else 0
