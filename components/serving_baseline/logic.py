"""Which pushed version is serving, read from the push destination's manifests.

The push destination is the single source of truth for "the model in production" (the pusher
writes ``<destination>/<model>/<version>/{saved_model/, manifest.json}``; serving loads the newest
complete version). The Evaluator's change threshold compares a candidate with that model, on
every backend, so this replaces TFX's MLMD ``Resolver`` (which open-source KFP cannot execute and
which, on Vertex, loses its producer filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from components.common import storage
from components.versioned_pusher import logic as push_logic


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
    for version in reversed(push_logic.complete_versions(destination, model_name)):
        manifest = push_logic.read_manifest(destination, model_name, version)
        if eligible(manifest) and not skip(manifest):
            uri = storage.join(push_logic.model_root(destination, model_name), str(version))
            return ServingModel(version, uri, storage.join(uri, "saved_model"), manifest)
    return None


def serving_version(destination: str, model_name: str, training_key: str = "") -> int:
    """The version that serves as this run's baseline, as far as it can be known before the run:
    the serving version, passing over versions pushed by a run with the same ``training_key``
    (that run's model is this run's candidate: same data, config and module code).

    0 when none, or when the destination cannot be listed now (the component itself then
    reports the error at run time). Used only as a cache key: an unchanged rerun sees the same
    number as the run before it, so nothing re-executes; a new push by another run changes it.
    """
    try:
        found = serving_model(
            destination, model_name, skip=lambda m: bool(training_key) and m.get("training_key") == training_key
        )
    except (storage.StorageError, OSError, ValueError):
        return 0
    return found.version if found else 0


def is_candidate(candidate_fingerprint: str) -> Callable[[dict[str, Any]], bool]:
    """A ``skip`` for ``serving_model``: versions that are the candidate model itself (same
    SavedModel content), so the baseline is the model serving before the candidate."""
    return lambda manifest: bool(candidate_fingerprint) and manifest.get("model_fingerprint") == candidate_fingerprint
