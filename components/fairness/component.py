"""TFX adapter: the fairness gate on eval-split predictions of the trained model (see ``logic``).

Outputs:
  * ``result`` (``FairnessResult``): ``result.json`` + ``index.html``; int custom property
    ``passed``.
  * ``blessing`` (``ModelBlessing``): ``blessed = evaluator_blessed AND fairness_passed`` with the
    Evaluator's ``current_model``/``current_model_id`` properties, so the pusher can take it as
    its ``model_blessing`` unchanged. Without a ``model_blessing`` input it reflects fairness only.
"""

import json

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import gfile_io, model_io
from components.common import report_names as rn
from components.common.artifacts import FairnessResult
from components.fairness import logic, regression

# pipelines/modules/tabular.py UNMITIGATED_DIR (not imported: the module file imports TensorFlow
# Transform, which the gate does not need).
UNMITIGATED_DIR = "Unmitigated-Serving"


def _bound(value: float) -> float | None:
    """Parameters cannot be None in every orchestrator: a negative bound means 'not enforced'."""
    return None if value is None or value < 0 else float(value)


@component
def FairnessGate(
    model: InputArtifact[standard_artifacts.Model],
    examples: InputArtifact[standard_artifacts.Examples],
    result: OutputArtifact[FairnessResult],
    blessing: OutputArtifact[standard_artifacts.ModelBlessing],
    label: Parameter[str],
    sensitive_columns_json: Parameter[str],
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing] = None,
    max_accuracy_gap: Parameter[float] = 0.2,
    max_demographic_parity_difference: Parameter[float] = -1.0,
    max_equalized_odds_difference: Parameter[float] = -1.0,
    max_recall_gap: Parameter[float] = -1.0,
    min_group_size: Parameter[int] = 10,
    model_name: Parameter[str] = "model",
    report_dir: Parameter[str] = "",
    task: Parameter[str] = "classification",
    max_mae_gap: Parameter[float] = -1.0,
    max_mean_residual_gap: Parameter[float] = -1.0,
    mitigation: Parameter[str] = "none",
) -> OutputDict(passed=int, blessed=int):
    """Per-group metrics over ``sensitive_columns_json`` (a JSON list); thresholds < 0 are off.

    ``task == "regression"``: per-group error gaps (``max_mae_gap``, ``max_mean_residual_gap``,
    see ``regression``) instead of the classification metrics. Copies ``result.json`` and
    ``index.html`` to ``report_dir/fairness`` when given.

    ``mitigation == "reweighing"``: the Trainer left the model trained without it beside the
    candidate (``Unmitigated-Serving``); both are judged on the same eval rows and the report
    shows gaps and accuracy before and after. A failed gate without mitigation names the option.
    """
    sensitive = list(json.loads(sensitive_columns_json))
    served = model_io.ServingModel(model_io.serving_dir(model.uri))
    columns = list(dict.fromkeys([*served.feature_names, *sensitive, label]))
    # Rows missing only what the model imputes are judged too: they are served the same way.
    evalset, dropped = model_io.read_examples(examples.uri, "eval", columns, optional=served.optional)
    extra = {"dropped_rows": dropped} if dropped else None
    if task == "regression":
        report = regression.evaluate(
            evalset[label].astype(float), served.predict_proba(evalset[served.feature_names])[:, 0], evalset[sensitive],
            regression.RegressionThresholds(_bound(max_mae_gap), _bound(max_mean_residual_gap), min_group_size),
        )
        logic.write_outputs(report, result.uri, model_name, extra=extra, render=regression.render_html)
    else:
        y_pred = served.predict_class(evalset[served.feature_names])
        thresholds = logic.Thresholds(
            max_accuracy_gap=_bound(max_accuracy_gap),
            max_demographic_parity_difference=_bound(max_demographic_parity_difference),
            max_equalized_odds_difference=_bound(max_equalized_odds_difference),
            max_recall_gap=_bound(max_recall_gap),
            min_group_size=min_group_size,
        )
        y_true = model_io.label_strings(evalset[label])
        report = logic.evaluate(y_true, y_pred, evalset[sensitive], thresholds, served.class_names or None)
        before_dir = gfile_io.join(model.uri, UNMITIGATED_DIR)
        if mitigation != "none" and gfile_io.isdir(before_dir):
            before = model_io.ServingModel(before_dir)
            unmitigated = logic.evaluate(y_true, before.predict_class(evalset[before.feature_names]), evalset[sensitive],
                                         thresholds, served.class_names or None)
            report.mitigation = logic.mitigation_result(mitigation, unmitigated, report)
        elif not report.passed:
            report.hint = logic.MITIGATION_HINT
        logic.write_outputs(report, result.uri, model_name, extra=extra)
    passed = int(report.passed)
    result.set_int_custom_property("passed", passed)
    result.set_string_custom_property("reasons", "; ".join(report.reasons))

    upstream = 1 if model_blessing is None else int(model_blessing.get_int_custom_property("blessed"))
    blessed = int(upstream and passed)
    blessing.set_int_custom_property("blessed", blessed)
    blessing.set_int_custom_property("fairness_passed", passed)
    blessing.set_int_custom_property("upstream_blessed", upstream)
    if model_blessing is not None:
        for key in ("current_model", "baseline_model"):
            if model_blessing.has_custom_property(key):
                blessing.set_string_custom_property(key, model_blessing.get_string_custom_property(key))
        for key in ("current_model_id", "baseline_model_id"):
            if model_blessing.has_custom_property(key):
                blessing.set_int_custom_property(key, model_blessing.get_int_custom_property(key))
    else:
        blessing.set_string_custom_property("current_model", model.uri)
        blessing.set_int_custom_property("current_model_id", model.id)
    message = "; ".join(report.reasons) if report.reasons else "fairness gate passed"
    if getattr(report, "hint", None):
        message += f" ({report.hint})"
    if not upstream:
        message = "not blessed by the Evaluator; " + message
    blessing.set_string_custom_property("blessing_message", message)
    gfile_io.write_text(gfile_io.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), message + "\n")

    if report_dir:
        gfile_io.copy_dir(result.uri, gfile_io.join(report_dir, rn.FAIRNESS))
    return {"passed": passed, "blessed": blessed}
