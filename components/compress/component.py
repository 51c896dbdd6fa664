"""TFX adapter: TFLite variants of the trained model; the best one within the accuracy budget
goes to ``<artifact>/best`` for the pusher to ship beside the SavedModel (see ``logic``)."""

import json

from tfx import v1 as tfx

from components.common import examples_io, gfile_io, model_io
from components.common.artifacts import CompressedModel
from components.compress import logic


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
    compressed.set_string_custom_property("best_dir", gfile_io.join(compressed.uri, "best") if best else "")
    if report_dir:
        target = gfile_io.join(report_dir, "compress")
        gfile_io.rmtree(target)
        for name in ("index.html", "report.json"):
            gfile_io.copy_file(gfile_io.join(compressed.uri, name), gfile_io.join(target, name))
    return {"best_variant": best, "has_best": int(bool(best))}
