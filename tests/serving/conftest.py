"""Serving fixtures: a private copy of the shared pipeline's pushed model, reference predictions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.serving.helpers import MAX_BODY, MAX_INSTANCES, copy_version, wait_ready


@pytest.fixture(scope="session")
def pushed_model(request, tmp_path_factory):
    """The trained model's version 1 copied into a destination of our own (tests push more).

    ``MLOPS_TEST_PUSHED_MODELS=<push destination holding penguins/1>`` reuses an existing push
    instead of running the shared pipeline (for quick iterations on the serving tests only).
    """
    reuse = os.environ.get("MLOPS_TEST_PUSHED_MODELS")
    src = Path(reuse) if reuse else request.getfixturevalue("trained_pipeline")["destination"]
    dest = tmp_path_factory.mktemp("serving-models")
    copy_version(src, dest)
    return {"destination": dest, "name": "penguins", "saved_model": dest / "penguins" / "1" / "saved_model",
            "source_destination": src}


@pytest.fixture(scope="session")
def reference_predict(pushed_model):
    """The model's own in-process predictions: TF's SavedModel signature called directly."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(pushed_model["saved_model"]))
    fn = loaded.signatures["serving_default"]
    specs = fn.structured_input_signature[1]

    def predict(instances: list[dict]) -> dict[str, np.ndarray]:
        feed = {k: tf.constant([inst[k] for inst in instances], dtype=spec.dtype) for k, spec in specs.items()}
        out = fn(**feed)
        return {k: v.numpy() for k, v in out.items()}

    predict.keep = loaded  # keep the SavedModel alive with the function
    return predict


@pytest.fixture(scope="module")
def limited_server(pushed_model):
    """URL of the pushed model served over HTTP with small request limits (``MAX_BODY``,
    ``MAX_INSTANCES``), one server per test module (the OpenAPI tests)."""
    from serving.app import create_app
    from serving.model import PushDestinationSource
    from serving.server import BackgroundServer

    app = create_app(PushDestinationSource(str(pushed_model["destination"]), "penguins"), poll_seconds=0.5,
                     max_body_bytes=MAX_BODY, max_instances=MAX_INSTANCES)
    with BackgroundServer(app) as srv:
        wait_ready(srv.url, 1)
        yield srv.url
