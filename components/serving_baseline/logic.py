"""Which pushed version is serving, read from the push destination's manifests.

The push destination is the single source of truth for "the model in production" (the pusher
writes ``<destination>/<model>/<version>/{saved_model/, manifest.json}``; serving loads the newest
complete version). The Evaluator's change threshold compares a candidate with that model, on
every backend, so this replaces TFX's MLMD ``Resolver`` (which open-source KFP cannot execute and
which, on Vertex, loses its producer filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def serving_model(destination: str, model_name: str) -> ServingModel | None:
    """The newest complete, blessed (fairness included) version, or None when there is none.

    Raises:
        storage.StorageError: The destination cannot be listed or a manifest cannot be read.
    """
    for version in reversed(push_logic.complete_versions(destination, model_name)):
        manifest = push_logic.read_manifest(destination, model_name, version)
        if eligible(manifest):
            uri = storage.join(push_logic.model_root(destination, model_name), str(version))
            return ServingModel(version, uri, storage.join(uri, "saved_model"), manifest)
    return None


def serving_version(destination: str, model_name: str) -> int:
    """The serving version number; 0 when none, or when the destination cannot be listed now
    (the component itself then reports the error at run time)."""
    try:
        found = serving_model(destination, model_name)
    except (storage.StorageError, OSError, ValueError):
        return 0
    return found.version if found else 0
