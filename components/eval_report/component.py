"""TFX adapter: an HTML evaluation report (and metrics.json) from the Evaluator's output."""

import json
import os
import shutil

from tfx import v1 as tfx

from components.common.artifacts import HtmlReport
from components.eval_report import logic


def class_names(transform_graph_uri: str) -> list[str]:
    """Label classes in model output order (the label vocabulary written by Transform)."""
    path = os.path.join(transform_graph_uri, "transform_fn", "assets", "label_vocab")
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [line.rstrip("\n") for line in fh]


@tfx.dsl.components.component
def EvaluationReport(
    evaluation: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    transform_graph: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.TransformGraph],
    report: tfx.dsl.components.OutputArtifact[HtmlReport],
    model_name: tfx.dsl.components.Parameter[str] = "model",
    report_dir: tfx.dsl.components.Parameter[str] = "",
) -> tfx.dsl.components.OutputDict(blessed=int):
    """Writes ``index.html`` and ``metrics.json``; copies them to ``report_dir/evaluation``."""
    blessed = bool(blessing.get_int_custom_property("blessed"))
    summary = logic.summarize(evaluation.uri, blessed)
    names = class_names(transform_graph.uri)
    with open(os.path.join(report.uri, "index.html"), "w") as fh:
        fh.write(logic.render_html(summary, model_name, names))
    with open(os.path.join(report.uri, "metrics.json"), "w") as fh:
        json.dump({**summary.to_dict(), "classes": names}, fh, indent=2)
    if report_dir:
        target = os.path.join(report_dir, "evaluation")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(report.uri, target)
    return {"blessed": int(blessed)}
