"""TFX adapter: the serving model as a ``Model`` artifact, the Evaluator's baseline.

    baseline = ServingModelBaseline(destination=..., model_name=..., serving_version=N)
    Evaluator(..., baseline_model=baseline.outputs["model"],
              ...)  # components.serving_baseline.evaluator.Evaluator

Copies the pushed SavedModel into ``<model.uri>/Format-Serving`` (the Trainer's layout, which
TFMA loads). With nothing pushed yet the artifact holds no model and carries
``serving_version = 0``; ``components.serving_baseline.evaluator.Evaluator`` then evaluates without a baseline, so only
absolute thresholds apply, and the evaluation report says so.
"""

import os

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import storage
from components.serving_baseline import logic

SERVING_DIR = "Format-Serving"
VERSION_PROPERTY = "serving_version"
SOURCE_PROPERTY = "serving_uri"


@component
def ServingModelBaseline(
    model: OutputArtifact[standard_artifacts.Model],
    destination: Parameter[str],
    model_name: Parameter[str],
    candidate: InputArtifact[standard_artifacts.Model] = None,
    serving_version: Parameter[int] = 0,
) -> OutputDict(version=int):
    """Resolves the newest complete, blessed pushed version and copies its SavedModel.

    A version that *is* the ``candidate`` (same SavedModel content: pushed by an earlier run of
    the same pipeline on the same data) is passed over, so the Evaluator never compares a model
    with itself; the baseline is then the model that served before it.

    ``serving_version`` is not read: it is part of the cache key (see
    ``logic.serving_version``), so a push by another run re-runs the resolution on otherwise
    unchanged inputs, and an unchanged rerun stays cached (it is 0 on Kubeflow).
    """
    del serving_version
    tf.io.gfile.makedirs(model.uri)  # the artifact exists (empty) even with no serving model
    found = logic.serving_model(destination, model_name, skip=logic.is_candidate(_fingerprint(candidate)))
    model.set_int_custom_property(VERSION_PROPERTY, found.version if found else 0)
    model.set_string_custom_property(SOURCE_PROPERTY, found.uri if found else "")
    if found is None:
        return {"version": 0}
    target = storage.join(model.uri, SERVING_DIR)
    if storage.is_remote(model.uri):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            storage.download_dir(found.saved_model_uri, tmp)
            storage.upload_dir(tmp, target)
    else:
        os.makedirs(target, exist_ok=True)
        storage.download_dir(found.saved_model_uri, target)
    return {"version": found.version}


def _fingerprint(candidate) -> str:
    """The candidate's SavedModel fingerprint, as the pusher records it in manifests."""
    if candidate is None:
        return ""
    from components.common import gfile_io
    from components.versioned_pusher import logic as push_logic
    from components.common.model_io import serving_dir

    with gfile_io.local_dirs({"model": serving_dir(candidate.uri)}) as local:
        return push_logic.dir_fingerprint(local["model"])


def baseline_version(artifact) -> int:
    """The serving version a baseline artifact holds (0: none)."""
    if artifact is None or not artifact.has_custom_property(VERSION_PROPERTY):
        return 0
    return artifact.get_int_custom_property(VERSION_PROPERTY)
