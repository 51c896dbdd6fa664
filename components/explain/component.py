"""TFX adapter: SHAP attributions of the trained model on an eval sample (see ``logic``)."""

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import gfile_io, model_io
from components.common import report_names as rn
from components.common.artifacts import HtmlReport
from components.explain import logic


@component
def ModelExplanation(
    model: InputArtifact[standard_artifacts.Model],
    examples: InputArtifact[standard_artifacts.Examples],
    explanation: OutputArtifact[HtmlReport],
    sample_size: Parameter[int] = 50,
    background_size: Parameter[int] = 25,
    seed: Parameter[int] = 0,
    model_name: Parameter[str] = "model",
    report_dir: Parameter[str] = "",
) -> OutputDict(top_feature=str):
    """Writes ``attributions.json``, ``importance.png`` and ``index.html``; copies them to
    ``report_dir/explain`` when given. Explains ``sample_size`` eval rows against a background of
    ``background_size`` train rows, through the SavedModel's raw-feature ``serving_default``."""
    served = model_io.ServingModel(model_io.serving_dir(model.uri))
    features = served.feature_names
    evalset, dropped_eval = model_io.read_examples(examples.uri, "eval", features)
    train, _ = model_io.read_examples(examples.uri, "train", features, limit=max(1000, background_size))
    sample = evalset.sample(min(sample_size, len(evalset)), random_state=seed)
    background = train.sample(min(background_size, len(train)), random_state=seed)
    expl = logic.explain(served.predict_proba, background, sample, features, served.class_names or None, seed=seed)
    expl.dropped_rows = dropped_eval
    logic.write_outputs(expl, explanation.uri, model_name)
    top = expl.ranking()[0][0]
    explanation.set_string_custom_property("top_feature", top)
    if report_dir:
        gfile_io.copy_dir(explanation.uri, gfile_io.join(report_dir, rn.EXPLAIN))
    return {"top_feature": top}
