"""The evaluation metrics a config may gate on, and how each one is computed by TFMA.

One table for the config validator, the Evaluator's ``EvalConfig`` and the reports, so a
threshold on ``auc`` gates on AUC and nothing else.

Labels are class indices (the label vocabulary Transform writes) and the model outputs one
probability per class. ``accuracy`` is top-1 accuracy. ``auc``, ``precision`` and ``recall`` are
**macro averages over the label's classes, one class against the rest**: AUC of each class's
probability (ROC, TFMA's default 10,000 thresholds), precision and recall of "this class's
probability is above 0.5" (TFMA's default threshold); then the unweighted mean over classes. With two classes the macro AUC equals
the AUC of either class. Averaging over classes needs the classes themselves, so these three need
the label's domain in the curated schema (``schema.path``); a config that asks for them without
one is rejected at load.

Regression (``task: regression``) has one output, ``predicted_value``, and gates on ``mse``,
``rmse`` and ``mae``: lower is better, so a change threshold bounds how much they may grow, and
bounds apply to the whole eval set (slices are reported). TFMA 0.52 has no R²; a bound of
``mse <= Var(label)`` is R² >= 0 (what predicting the mean scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MetricSpec:
    """How a config metric name is computed.

    Attributes:
        tfma_class: TFMA/Keras metric class name.
        key: The metric's name in TFMA's output (what reports and ``run.json`` show).
        per_class: Macro-averaged over the label's classes (needs the classes at compile time).
        config: The metric's keyword arguments (TFMA ``MetricConfig.config``, JSON).
        higher_is_better: The direction of a change threshold.
        overall_only: Bounds apply to the whole eval set, not to each slice (an error in label
            units means something else on a slice whose labels spread differently).
    """

    tfma_class: str
    key: str
    per_class: bool = False
    config: str = ""
    higher_is_better: bool = True
    overall_only: bool = False


# Every name `pipelines.config` accepts (its _KNOWN_METRICS; PER_CLASS_METRICS are the macro averages).
METRICS: dict[str, MetricSpec] = {
    "sparse_categorical_accuracy": MetricSpec("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
    "accuracy": MetricSpec("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
    "example_count": MetricSpec("ExampleCount", "example_count"),
    "auc": MetricSpec("AUC", "auc", per_class=True),
    "precision": MetricSpec("Precision", "precision", per_class=True),
    "recall": MetricSpec("Recall", "recall", per_class=True),
    # Regression (task: regression): errors of the predicted value against the numeric label.
    # TFMA 0.52 has no R²; Keras' R2Score fails inside TFMA (its state does not merge), so none.
    "mse": MetricSpec("MeanSquaredError", "mean_squared_error", higher_is_better=False, overall_only=True),
    "rmse": MetricSpec("RootMeanSquaredError", "root_mean_squared_error", higher_is_better=False, overall_only=True),
    "mae": MetricSpec("MeanAbsoluteError", "mean_absolute_error", higher_is_better=False, overall_only=True),
}

#: What every regression evaluation computes (thresholds or not), in report order.
REGRESSION_REPORTED = ("mse", "rmse", "mae")


def label_classes(schema_path: str | Path, label: str) -> tuple[str, ...] | None:
    """The label's values from a TFDV schema's string domain (or int range), or None.

    Raises:
        ValueError: The schema file cannot be parsed.
    """
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = schema_pb2.Schema()
    try:
        text_format.Parse(Path(schema_path).read_text(), schema)
    except (OSError, text_format.ParseError) as exc:
        raise ValueError(f"{schema_path}: cannot read the schema: {exc}") from exc
    feature = next((f for f in schema.feature if f.name == label), None)
    if feature is None:
        return None
    domain_name = feature.domain if feature.HasField("domain") else ""
    if feature.HasField("string_domain"):
        return tuple(feature.string_domain.value) or None
    if domain_name:
        found = next((d for d in schema.string_domain if d.name == domain_name), None)
        return tuple(found.value) if found is not None and found.value else None
    if feature.HasField("int_domain") and feature.int_domain.HasField("min") and feature.int_domain.HasField("max"):
        return tuple(str(v) for v in range(feature.int_domain.min, feature.int_domain.max + 1))
    return None
