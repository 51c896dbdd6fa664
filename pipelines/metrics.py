"""The evaluation metrics a config may gate on, and how each one is computed by TFMA.

One table for the config validator, the Evaluator's ``EvalConfig`` and the reports, so a
threshold on ``auc`` gates on AUC and nothing else.

Labels are class indices (the label vocabulary Transform writes) and the model outputs one
probability per class. ``accuracy`` is top-1 accuracy. ``auc``, ``precision`` and ``recall`` are
computed one class against the rest: AUC of the class's probability (ROC, TFMA's default 10,000
thresholds), precision and recall of "the class's probability is above 0.5" (TFMA's default
threshold).

* **Two classes** (binary): they are the **positive class's** (``evaluation.positive_class``,
  default the second sorted class: ``"1"`` of 0/1 and of True/False). ``module_config`` hands the
  two classes to Transform as ``label_classes`` (negative, positive), whose label vocabulary
  then holds them in that order whatever their frequencies, so the positive class is index 1 and
  the Evaluator's ``EvalConfig`` aggregates over that one class (``class_weights={1: 1.0}``).
  A precision of 0.9 is "90 % of the rows predicted positive are positive".
* **More classes**: macro averages, the unweighted mean over every class.

Either way they need the classes, from the label's domain in the curated schema
(``schema.path``); a config that asks for them without one is rejected at load.

Regression (``task: regression``) has one output, ``predicted_value``, and gates on ``mse``,
``rmse``, ``mae`` (lower is better, so a change threshold bounds how much they may grow) and
``r2``, the coefficient of determination 1 - SSE/SST (higher is better; 0 is what predicting
the eval set's mean scores). Bounds apply to the whole eval set (slices are reported). TFMA 0.52
has no R² of its own; ``r2`` is tf_keras' ``R2Score`` through TFMA's Keras-metric support,
built eagerly (:mod:`pipelines.keras_metrics`): Keras creates its state on the first batch, which
TFMA, creating the metric and reading its weights before any batch, cannot merge.
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
        per_class: The positive class's (two classes) or macro-averaged over the label's classes
            (needs the classes at compile time).
        config: The metric's keyword arguments (TFMA ``MetricConfig.config``, JSON).
        higher_is_better: The direction of a change threshold.
        overall_only: Bounds apply to the whole eval set, not to each slice (an error in label
            units means something else on a slice whose labels spread differently).
        module: Where TFMA imports ``tfma_class`` from (TFMA ``MetricConfig.module``); empty:
            TFMA's and Keras' own metrics.
        low, high: The values the metric can take (a bound outside them can never pass, or
            always passes: the config loader refuses it).
    """

    tfma_class: str
    key: str
    per_class: bool = False
    config: str = ""
    higher_is_better: bool = True
    overall_only: bool = False
    module: str = ""
    low: float = 0.0
    high: float = 1.0


# Every name `pipelines.config` accepts (its _KNOWN_METRICS; PER_CLASS_METRICS are the macro averages).
METRICS: dict[str, MetricSpec] = {
    "sparse_categorical_accuracy": MetricSpec("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
    "accuracy": MetricSpec("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
    "example_count": MetricSpec("ExampleCount", "example_count", high=float("inf")),
    "auc": MetricSpec("AUC", "auc", per_class=True),
    "precision": MetricSpec("Precision", "precision", per_class=True),
    "recall": MetricSpec("Recall", "recall", per_class=True),
    # Regression (task: regression): errors of the predicted value against the numeric label, and R².
    "mse": MetricSpec("MeanSquaredError", "mean_squared_error", higher_is_better=False, overall_only=True, high=float("inf")),
    "rmse": MetricSpec("RootMeanSquaredError", "root_mean_squared_error", higher_is_better=False, overall_only=True, high=float("inf")),
    "mae": MetricSpec("MeanAbsoluteError", "mean_absolute_error", higher_is_better=False, overall_only=True, high=float("inf")),
    # R² is 1 at best and unbounded below (a model worse than the mean predictor).
    "r2": MetricSpec("R2Score", "r2_score", overall_only=True, module="pipelines.keras_metrics", low=-float("inf")),
}

#: What every regression evaluation computes (thresholds or not), in report order.
REGRESSION_REPORTED = ("mse", "rmse", "mae", "r2")


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


def _sort_key(value: str) -> tuple:
    """Integers in numeric order (``"-1" < "1" < "10"``), then text."""
    try:
        return (0, int(value), "")
    except ValueError:
        return (1, 0, value)


def positive_class_name(configured: str | int | bool | None, classes: tuple[str, ...]) -> str | None:
    """The class (as the label vocabulary holds it) that ``evaluation.positive_class`` names.

    ``None`` configured: the second of the sorted classes (numeric order for integers, so
    ``"1"`` of 0/1 and of a True/False label, which ingest writes as 0/1). ``true``/``false``
    name ``"1"``/``"0"`` (or ``"True"``/``"False"`` where the classes are text). Returns None when
    the configured value is not among ``classes``.
    """
    if configured is None:
        return sorted(classes, key=_sort_key)[-1] if len(classes) == 2 else None
    if isinstance(configured, bool):
        candidates = ("1", "True", "true") if configured else ("0", "False", "false")
    else:
        candidates = (str(configured),)
    return next((c for c in candidates if c in classes), None)


def binary_label_order(schema_path: str | Path, label: str, configured: str | int | bool | None = None,
                       ) -> tuple[str, str] | None:
    """``(negative, positive)`` of a two-class label in a TFDV schema; None for any other label.

    Raises:
        ValueError: The schema file cannot be parsed, or ``configured`` is not one of the two classes.
    """
    classes = label_classes(schema_path, label)
    if not classes or len(classes) != 2:
        return None
    positive = positive_class_name(configured, classes)
    if positive is None:
        raise ValueError(f"evaluation.positive_class: {configured!r} is not a class of label {label!r} ({', '.join(classes)})")
    negative = classes[0] if classes[1] == positive else classes[1]
    return negative, positive
