"""Turn a TFMA evaluation into plain data and an HTML page a person can read."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from components.common import html as report_html


@dataclass
class EvalSummary:
    """Plain-data view of one Evaluator run.

    Attributes:
        blessed: The Evaluator's verdict.
        overall: Metric name -> value for the candidate on all data.
        slices: ``"column=value"`` -> metric name -> value.
        diffs: Metric name -> candidate minus baseline (empty without a baseline).
        failures: Human sentences for every failed threshold.
        confusion: ``[(actual, predicted, count)]`` on all data.
        baseline: What the candidate was compared with: the serving version, or why nothing.
    """

    blessed: bool
    overall: dict[str, float] = field(default_factory=dict)
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    diffs: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    confusion: list[tuple[int, int, float]] = field(default_factory=list)
    baseline: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "blessed": self.blessed,
            "overall": self.overall,
            "slices": self.slices,
            "diffs": self.diffs,
            "failures": self.failures,
            "baseline": self.baseline,
        }


def slice_name(slice_key: Any) -> str:
    """'Overall' or 'island=Biscoe' for a TFMA SliceKey proto."""
    parts = []
    for s in slice_key.single_slice_keys:
        kind = s.WhichOneof("kind")
        value = getattr(s, kind) if kind else ""
        if isinstance(value, bytes):
            value = value.decode()
        parts.append(f"{s.column}={value}")
    return ", ".join(parts) or "Overall"


def slice_spec_name(spec: Any) -> str:
    """'Overall', 'island' or 'island=Biscoe' for a TFMA SlicingSpec proto."""
    parts = list(spec.feature_keys) + [f"{k}={v}" for k, v in sorted(spec.feature_values.items())]
    return ", ".join(parts) or "Overall"


def _metric_value(mv: Any) -> float | None:
    if mv.HasField("double_value"):
        return float(mv.double_value.value)
    return None


def _failure_sentence(failure: Any, where: str) -> str:
    """'sparse_categorical_accuracy = 0.9756 on Overall is below the lower bound 1.01'."""
    value = _metric_value(failure.metric_value)
    shown = f"{value:.4f}" if value is not None else "?"
    name = failure.metric_key.name + (" change vs baseline" if failure.metric_key.is_diff else "")
    th = failure.metric_threshold
    # Value thresholds carry bounds; change thresholds carry absolute/relative limits instead.
    fields = {
        "value_threshold": (("lower_bound", "lower bound {:g}"), ("upper_bound", "upper bound {:g}")),
        "change_threshold": (("absolute", "allowed change {:+g}"), ("relative", "allowed relative change {:+g}")),
    }
    bounds = [
        text.format(getattr(getattr(th, kind), field).value)
        for kind, parts in fields.items() if th.HasField(kind)
        for field, text in parts if getattr(th, kind).HasField(field)
    ]
    return f"{name} = {shown} on {where} failed its threshold ({', '.join(bounds) or 'see report'})"


def validation_failures(validation: Any) -> list[str]:
    """One sentence per reason a TFMA ``ValidationResult`` did not pass; empty when it passed.

    Overall failures come first (they are what people act on), per-slice ones after. TFMA
    reports "no thresholds configured" as a bool and slices without examples as specs; both
    leave the model unblessed, so both are said.
    """
    if validation.validation_ok:
        return []
    failures = [
        _failure_sentence(failure, slice_name(per_slice.slice_key))
        for per_slice in validation.metric_validations_per_slice
        for failure in per_slice.failures
    ]
    failures.sort(key=lambda f: " on Overall " not in f)
    if validation.missing_thresholds:
        failures.append(
            "no evaluation thresholds are configured, so TFMA cannot bless the model (set evaluation.thresholds)"
        )
    for spec in validation.missing_slices:
        failures.append(f"slice {slice_spec_name(spec)} had no examples to validate")
    return failures


def summarize(eval_uri: str, blessed: bool, baseline_model_name: str = "baseline") -> EvalSummary:
    """Reads metrics, validation result and confusion matrix from an Evaluator output."""
    import tensorflow_model_analysis as tfma

    summary = EvalSummary(blessed=blessed)
    for mfs in tfma.load_metrics(eval_uri):
        name = slice_name(mfs.slice_key)
        for kv in mfs.metric_keys_and_values:
            value = _metric_value(kv.value)
            if value is None:
                continue
            if kv.key.model_name == baseline_model_name:
                continue
            if kv.key.HasField("sub_key"):
                continue  # one class of a macro average: the average itself is reported
            if kv.key.is_diff:
                if name == "Overall":
                    summary.diffs[kv.key.name] = value
                continue
            target = summary.overall if name == "Overall" else summary.slices.setdefault(name, {})
            target[kv.key.name] = value
    try:
        validation = tfma.load_validation_result(eval_uri)
    except Exception:  # no validation file when no thresholds are configured
        validation = None
    if validation is not None:
        summary.failures.extend(validation_failures(validation))
    try:
        plots = tfma.load_plots(eval_uri)
    except Exception:
        plots = []
    for pfs in plots:
        if slice_name(pfs.slice_key) != "Overall":
            continue
        for kv in pfs.plot_keys_and_values:
            if kv.key.model_name == baseline_model_name:
                continue
            matrices = kv.value.multi_class_confusion_matrix_at_thresholds.matrices
            if matrices:  # MultiClassConfusionMatrixPlot writes one matrix (argmax, threshold 0)
                for e in matrices[0].entries:
                    summary.confusion.append(
                        (int(e.actual_class_id), int(e.predicted_class_id), float(e.num_weighted_examples))
                    )
    return summary


def confusion_png(confusion: list[tuple[int, int, float]], class_names: list[str]) -> bytes:
    """Renders the confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = max([len(class_names)] + [max(a, p) + 1 for a, p, _ in confusion] or [1])
    m = np.zeros((n, n))
    for a, p, c in confusion:
        if a >= 0 and p >= 0:
            m[a, p] += c
    names = class_names + [str(i) for i in range(len(class_names), n)]
    fig, ax = plt.subplots(figsize=(1.2 * n + 2, 1.2 * n + 1.5))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=30, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", color="black")
    ax.set_title("Confusion matrix (eval split)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def baseline_description(model_name: str, version: int) -> str:
    """One sentence for the report and ``metrics.json``: what the change thresholds compared with."""
    if version:
        return f"{model_name} version {version}, the model now serving; change thresholds applied"
    return (f"none: no blessed version of {model_name} has been pushed yet, "
            "so only absolute thresholds were applied (change thresholds need a serving model)")


def render_html(summary: EvalSummary, model_name: str, class_names: list[str]) -> str:
    """The evaluation report page: verdict, overall metrics, diffs, per-slice table, confusion matrix."""
    return report_html.render(
        "evaluation.html.j2",
        kind="evaluation",
        title="Evaluation report",
        subject=model_name,
        verdict="BLESSED" if summary.blessed else "NOT BLESSED",
        verdict_class="ok" if summary.blessed else "bad",
        page_title=f"Evaluation: {model_name}",
        summary=summary,
        metric_names=sorted({k for m in [summary.overall, *summary.slices.values()] for k in m}),
        confusion_png=confusion_png(summary.confusion, class_names) if summary.confusion else None,
        class_names=class_names,
    )
