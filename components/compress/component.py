"""TFX adapter: TFLite variants of the trained model; the best one within the accuracy budget
goes to ``<artifact>/best`` for the pusher to ship beside the SavedModel (see ``logic``)."""

import json
import os
import shutil

from tfx import v1 as tfx
from tfx.types.artifact import Artifact

from components.common import examples_io
from components.compress import logic
from components.explain import model_io


class CompressedModel(Artifact):
    """TFLite variants: ``variants/*.tflite``, ``report.json``, ``index.html`` and, when one is
    within the budget, ``best/{model.tflite, preprocessing.json, labels.txt, variant.json}``.
    Custom properties: ``best_variant`` ('' when none), ``best_dir`` ('' when none)."""

    TYPE_NAME = "mlops.CompressedModel"


def best_dir(artifact) -> str | None:
    """The directory to ship (``extra_dirs={"tflite": ...}``), or None when no variant qualified.

    Derived from the artifact's uri (not the ``best_dir`` property recorded at write time), so it
    is right wherever the artifact is read from.
    """
    if not artifact.has_custom_property("best_variant") or not artifact.get_string_custom_property("best_variant"):
        return None
    return os.path.join(artifact.uri, "best")


@tfx.dsl.components.component
def ModelCompression(
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    compressed: tfx.dsl.components.OutputArtifact[CompressedModel],
    label: tfx.dsl.components.Parameter[str],
    variants_json: tfx.dsl.components.Parameter[str] = '["dynamic_range", "float16", "full_integer"]',
    accuracy_budget: tfx.dsl.components.Parameter[float] = 0.02,
    prune: tfx.dsl.components.Parameter[int] = 1,
    distill: tfx.dsl.components.Parameter[int] = 1,
    max_train_rows: tfx.dsl.components.Parameter[int] = 5000,
    report_dir: tfx.dsl.components.Parameter[str] = "",
) -> tfx.dsl.components.OutputDict(best_variant=str, has_best=int):
    """Builds every variant, measures size / eval accuracy / latency; copies ``index.html`` and
    ``report.json`` to ``report_dir/compress`` when given."""
    train = examples_io.read_split(examples.uri, "train", limit=max_train_rows or None)
    evalset = examples_io.read_split(examples.uri, "eval")
    report = logic.compress(
        model_io.serving_dir(model.uri),
        train,
        evalset,
        label,
        compressed.uri,
        variants=list(json.loads(variants_json)),
        accuracy_budget=accuracy_budget,
        do_prune=bool(prune),
        do_distill=bool(distill),
    )
    best = report.best or ""
    compressed.set_string_custom_property("best_variant", best)
    compressed.set_string_custom_property("best_dir", os.path.join(compressed.uri, "best") if best else "")
    if report_dir:
        target = os.path.join(report_dir, "compress")
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        for name in ("index.html", "report.json"):
            shutil.copy(os.path.join(compressed.uri, name), target)
    return {"best_variant": best, "has_best": int(bool(best))}
