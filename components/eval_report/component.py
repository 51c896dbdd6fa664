"""TFX adapter: an HTML evaluation report (and metrics.json) from the Evaluator's output."""

import json
import os
import shutil

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common.artifacts import HtmlReport
from components.common import report_names as rn
from components.eval_report import logic
from components.serving_baseline.component import baseline_version


def class_names(transform_graph_uri: str) -> list[str]:
    """Label classes in model output order (the label vocabulary written by Transform)."""
    path = os.path.join(transform_graph_uri, "transform_fn", "assets", "label_vocab")
    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path) as fh:
        return [line.rstrip("\n") for line in fh]


@component
def EvaluationReport(
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation],
    blessing: InputArtifact[standard_artifacts.ModelBlessing],
    transform_graph: InputArtifact[standard_artifacts.TransformGraph],
    report: OutputArtifact[HtmlReport],
    baseline: InputArtifact[standard_artifacts.Model] = None,
    model_name: Parameter[str] = "model",
    report_dir: Parameter[str] = "",
) -> OutputDict(blessed=int):
    """Writes ``index.html`` and ``metrics.json`` into ``report``; copies them to ``report_dir/evaluation``.

    ``baseline`` is the ``ServingModelBaseline`` output the Evaluator compared with; the report
    names its version, or says that only absolute thresholds applied.
    """
    blessed = bool(blessing.get_int_custom_property("blessed"))
    summary = logic.summarize(evaluation.uri, blessed)
    summary.baseline = logic.baseline_description(model_name, baseline_version(baseline))
    names = class_names(transform_graph.uri)
    tf.io.gfile.makedirs(report.uri)
    with tf.io.gfile.GFile(os.path.join(report.uri, rn.INDEX_HTML), "w") as fh:
        fh.write(logic.render_html(summary, model_name, names))
    with tf.io.gfile.GFile(os.path.join(report.uri, rn.METRICS_JSON), "w") as fh:
        fh.write(json.dumps({**summary.to_dict(), "classes": names}, indent=2))
    if report_dir:
        target = os.path.join(report_dir, rn.EVALUATION)
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        for name in (rn.INDEX_HTML, rn.METRICS_JSON):
            tf.io.gfile.copy(os.path.join(report.uri, name), os.path.join(target, name), overwrite=True)
    return {"blessed": int(blessed)}
