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
from tfx import v1 as tfx

from components.common import storage
from components.serving_baseline import logic

SERVING_DIR = "Format-Serving"
VERSION_PROPERTY = "serving_version"
SOURCE_PROPERTY = "serving_uri"


@tfx.dsl.components.component
def ServingModelBaseline(
    model: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Model],
    destination: tfx.dsl.components.Parameter[str],
    model_name: tfx.dsl.components.Parameter[str],
    serving_version: tfx.dsl.components.Parameter[int] = 0,
) -> tfx.dsl.components.OutputDict(version=int):
    """Resolves the newest complete, blessed pushed version and copies its SavedModel.

    ``serving_version`` is not read: it is part of the cache key, so a new push re-runs the
    resolution on otherwise unchanged inputs (it is 0 on Kubeflow, where there is no cache
    across pushes to worry about: every run resolves again).
    """
    del serving_version
    tf.io.gfile.makedirs(model.uri)  # the artifact exists (empty) even with no serving model
    found = logic.serving_model(destination, model_name)
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


def baseline_version(artifact) -> int:
    """The serving version a baseline artifact holds (0: none)."""
    if artifact is None or not artifact.has_custom_property(VERSION_PROPERTY):
        return 0
    return artifact.get_int_custom_property(VERSION_PROPERTY)
