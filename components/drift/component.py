"""TFX adapter: training-vs-new-data skew of two Examples artifacts.

Usage in a pipeline (e.g. new data from an ExampleGen vs the training Examples of the model in
production)::

    skew = DriftCheck(
        baseline_examples=training_examples,           # Examples channel
        current_examples=example_gen.outputs["examples"],
        features_json=json.dumps({f.name: f.type for f in cfg.features}),
        threshold=cfg.monitoring.drift_threshold,
        numeric_metric=cfg.monitoring.numeric_metric,
        categorical_metric=cfg.monitoring.categorical_metric,
    )

Writes ``drift.json`` and ``drift.html`` into its ``drift`` artifact (and ``report_dir`` when
set) and returns ``drifted`` (0/1) and ``max_score``. With ``fail_on_drift`` it raises instead,
stopping the run. The logic is ``components/drift/logic.py``; :func:`skew_report` is the
testable part.
"""

import json
import os

from tfx import v1 as tfx
from tfx.types.artifact import Artifact

from components.common import examples_io
from components.drift import logic


class DriftResult(Artifact):
    """A drift report: ``drift.json`` and ``drift.html``."""

    TYPE_NAME = "mlops.DriftResult"  # namespaced: the KFP v2 compiler rejects bare names


class DriftDetected(RuntimeError):
    """Raised by the component with ``fail_on_drift`` when a feature drifts."""


def _read_splits(examples_uri: str, splits: list[str]):
    import pandas as pd

    frames = [examples_io.read_split(examples_uri, s) for s in splits]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _split_names(examples_uri: str, wanted: str) -> list[str]:
    if wanted:
        return [s.strip() for s in wanted.split(",") if s.strip()]
    return sorted(name[len("Split-"):] for name in os.listdir(examples_uri) if name.startswith("Split-"))


def skew_report(
    baseline_uri: str,
    current_uri: str,
    features: dict,
    settings: logic.DriftSettings,
    baseline_splits: str = "train",
    current_splits: str = "",
    label: str = "",
) -> logic.DriftReport:
    """Drift of the current Examples' splits against the baseline Examples' splits."""
    base = _read_splits(baseline_uri, _split_names(baseline_uri, baseline_splits))
    cur = _read_splits(current_uri, _split_names(current_uri, current_splits))
    return logic.compute_drift(
        base, cur, features, settings, label=label or None,
        baseline_uri=f"{baseline_uri} [{baseline_splits or 'all'}]", current_uri=f"{current_uri} [{current_splits or 'all'}]",
    )


def write_report(report: logic.DriftReport, *dirs: str) -> None:
    for d in dirs:
        if not d:
            continue
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "drift.json"), "w") as fh:
            fh.write(report.to_json())
        with open(os.path.join(d, "drift.html"), "w") as fh:
            fh.write(report.to_html())


@tfx.dsl.components.component
def DriftCheck(
    baseline_examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    current_examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    drift: tfx.dsl.components.OutputArtifact[DriftResult],
    features_json: tfx.dsl.components.Parameter[str],
    threshold: tfx.dsl.components.Parameter[float] = 0.2,
    numeric_metric: tfx.dsl.components.Parameter[str] = "psi",
    categorical_metric: tfx.dsl.components.Parameter[str] = "js",
    window_size: tfx.dsl.components.Parameter[int] = 0,
    baseline_splits: tfx.dsl.components.Parameter[str] = "train",
    current_splits: tfx.dsl.components.Parameter[str] = "",
    report_dir: tfx.dsl.components.Parameter[str] = "",
    fail_on_drift: tfx.dsl.components.Parameter[int] = 0,
) -> tfx.dsl.components.OutputDict(drifted=int, max_score=float):
    """Per-feature skew of ``current_examples`` vs ``baseline_examples`` (``score > threshold`` = drift)."""
    settings = logic.DriftSettings(
        threshold=threshold, numeric_metric=numeric_metric, categorical_metric=categorical_metric, window_size=window_size
    )
    report = skew_report(
        baseline_examples.uri, current_examples.uri, json.loads(features_json), settings, baseline_splits, current_splits
    )
    write_report(report, drift.uri, report_dir)
    drift.set_int_custom_property("drifted", int(report.drifted))
    drift.set_float_custom_property("max_score", report.max_score)
    if fail_on_drift and report.drifted:
        raise DriftDetected(
            f"drift in {', '.join(report.drifted_features)} (threshold {threshold}); see {os.path.join(drift.uri, 'drift.html')}"
        )
    return {"drifted": int(report.drifted), "max_score": float(report.max_score)}
