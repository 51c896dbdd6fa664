"""TFX adapter: SHAP (and LIME) attributions of the trained model on an eval sample (see ``logic``,
``lime_logic``)."""

import json

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import gfile_io, model_io
from components.common import report_names as rn
from components.common.artifacts import HtmlReport
from components.explain import lime_logic, logic


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
    methods_json: Parameter[str] = '["shap"]',
    lime_num_samples: Parameter[int] = 2000,
) -> OutputDict(top_feature=str):
    """Writes ``attributions.json``, ``importance.png`` and ``index.html``; copies them to
    ``report_dir/explain`` when given. Explains ``sample_size`` eval rows against a background of
    ``background_size`` train rows, through the SavedModel's raw-feature ``serving_default``.
    ``methods_json`` lists the methods (``shap``, ``lime``), the first one the report's main one;
    with both, the page puts them side by side with their agreement. LIME takes its feature
    statistics from up to 1000 train rows and perturbs ``lime_num_samples`` rows per example."""
    served = model_io.ServingModel(model_io.serving_dir(model.uri))
    features = served.feature_names
    evalset, dropped_eval = model_io.read_examples(examples.uri, "eval", features)
    train, _ = model_io.read_examples(examples.uri, "train", features, limit=max(1000, background_size))
    sample = evalset.sample(min(sample_size, len(evalset)), random_state=seed)
    background = train.sample(min(background_size, len(train)), random_state=seed)
    methods = list(json.loads(methods_json)) or ["shap"]
    found = {}
    for method in methods:
        if method == "shap":
            found[method] = logic.explain(served.predict_proba, background, sample, features,
                                          served.class_names or None, seed=seed)
        elif method == "lime":
            found[method] = lime_logic.explain(served.predict_proba, train, sample, features,
                                               served.class_names or None, num_samples=lime_num_samples,
                                               seed=seed, regression=served.regression)
        else:
            raise ValueError(f"explain method {method!r} is not one of shap, lime")
    for e in found.values():
        e.dropped_rows = dropped_eval
    primary = methods[0]
    expl = found.pop(primary)
    agreement = None
    if "shap" in found or primary == "shap":
        shap_expl = expl if primary == "shap" else found["shap"]
        if "lime" in found or primary == "lime":
            agreement = lime_logic.agreement(shap_expl, expl if primary == "lime" else found["lime"])
    logic.write_outputs(expl, explanation.uri, model_name, others=found, agreement=agreement, primary=primary)
    # What `mlops serve`'s :explain needs to explain a single request the same way (it ships in
    # the pushed version's explanation/): the SHAP background and LIME's training statistics rows.
    logic.write_background(explanation.uri, background, train.head(logic.LIME_ROWS), features,
                           served.class_names or [], seed)
    top = expl.ranking()[0][0]
    explanation.set_string_custom_property("top_feature", top)
    if report_dir:
        gfile_io.copy_dir(explanation.uri, gfile_io.join(report_dir, rn.EXPLAIN))
    return {"top_feature": top}
