"""TFX adapter: TFLite variants of the trained model; the best one within the budget
goes to ``<artifact>/best`` for the pusher to ship beside the SavedModel (see ``logic``)."""

import json

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import examples_io, gfile_io, model_io
from components.common import report_names as rn
from components.common.artifacts import CompressedModel
from components.compress import logic


@component
def ModelCompression(
    model: InputArtifact[standard_artifacts.Model],
    examples: InputArtifact[standard_artifacts.Examples],
    compressed: OutputArtifact[CompressedModel],
    label: Parameter[str],
    variants_json: Parameter[str] = '["dynamic_range", "float16", "full_integer"]',
    accuracy_budget: Parameter[float] = 0.02,
    prune: Parameter[int] = 1,
    distill: Parameter[int] = 1,
    max_train_rows: Parameter[int] = 5000,
    report_dir: Parameter[str] = "",
    max_error_increase: Parameter[float] = 0.05,
) -> OutputDict(best_variant=str, has_best=int):
    """Builds every variant, measures size / eval accuracy (regression: MAE) / latency; copies
    ``index.html`` and ``report.json`` to ``report_dir/compress`` when given.

    ``accuracy_budget`` bounds a classifier's variants, ``max_error_increase`` (relative MAE
    increase) a regression model's; the model's output says which it is."""
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
        max_error_increase=max_error_increase,
    )
    best = report.best or ""
    compressed.set_string_custom_property("best_variant", best)
    compressed.set_string_custom_property("best_dir", gfile_io.join(compressed.uri, "best") if best else "")
    if report_dir:
        target = gfile_io.join(report_dir, rn.COMPRESS)
        gfile_io.rmtree(target)
        for name in (rn.INDEX_HTML, rn.REPORT_JSON):
            gfile_io.copy_file(gfile_io.join(compressed.uri, name), gfile_io.join(target, name))
    return {"best_variant": best, "has_best": int(bool(best))}
