"""Which pushed version is serving, read from the push destination's manifests.

The push destination is the single source of truth for "the model in production" (the pusher
writes ``<destination>/<model>/<version>/{saved_model/, manifest.json}``; serving loads the newest
complete version). The Evaluator's change threshold compares a candidate with that model, on
every backend, so this replaces TFX's MLMD ``Resolver`` (which open-source KFP cannot execute and
which, on Vertex, loses its producer filter). The rule itself is :mod:`pipelines.push_layout`.
"""

from __future__ import annotations

from typing import Any, Callable

# The rule lives in pipelines.push_layout, shared with the Airflow DAGs, which send the serving
# version as a run parameter to Kubeflow / Vertex and must not import TensorFlow: one definition.
from pipelines.push_layout import ServingModel, eligible, serving_model, serving_version  # noqa: F401


def is_candidate(candidate_fingerprint: str) -> Callable[[dict[str, Any]], bool]:
    """A ``skip`` for ``serving_model``: versions that are the candidate model itself (same
    SavedModel content), so the baseline is the model serving before the candidate."""
    return lambda manifest: bool(candidate_fingerprint) and manifest.get("model_fingerprint") == candidate_fingerprint
