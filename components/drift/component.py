"""TFX adapter: training-vs-new-data skew of two Examples artifacts.

The baseline is either an Examples channel or, in ``pipelines/pipeline.py``, the training data
of the model now serving: ``serving_models`` + ``model_name`` name the push destination, and
the newest pushed version's manifest records the Examples it was trained on
(``examples_uri``)::

    skew = DriftCheck(
        current_examples=ingest.outputs["examples"],
        serving_models=cfg.push.destination, model_name=cfg.push.model_name,
        features_json=json.dumps({f.name: f.type for f in cfg.features}),
        threshold=cfg.monitoring.drift_threshold,
        numeric_metric=cfg.monitoring.numeric_metric,
        categorical_metric=cfg.monitoring.categorical_metric,
    )

Writes ``drift.json`` and ``drift.html`` into its ``drift`` artifact (and ``report_dir`` when
set) and returns ``drifted`` (0/1) and ``max_score``. Before the first push there is no
baseline: the report says so and nothing drifts. With ``fail_on_drift`` it raises instead,
stopping the run. The logic is ``components/drift/logic.py``; :func:`skew_report` and
:func:`serving_baseline` are the testable parts.
"""

import json
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.types.artifact import Artifact

from components.common import examples_io
from components.common import report_names as rn
from components.common.artifacts import DriftResult  # noqa: F401 - the component's output type
from components.common.storage import StorageError
from components.drift import logic


class DriftDetected(RuntimeError):
    """Raised by the component with ``fail_on_drift`` when a feature drifts.

    Attributes:
        failures: One ``run.json`` gate failure per drifted feature (``source: drift_check``).
    """

    def __init__(self, message: str, failures: list[dict] | None = None):
        super().__init__(message)
        self.failures = failures or [{"check": "drift_check", "observed": message, "source": "drift_check"}]


def hold_failures(report: logic.DriftReport) -> list[dict]:
    """The drifted features as gate failures (what ``run.json`` and the alerts list)."""
    return [
        {
            "column": f.name, "check": f"drift ({f.metric.upper()})", "source": "drift_check",
            "observed": f"{f.metric.upper()} {f.score:.3f} > threshold {f.threshold} vs the serving model's training data",
        }
        for f in report.features if f.drifted
    ]


def _split_names(examples_uri: str, wanted: str) -> list[str]:
    if wanted:
        return [s.strip() for s in wanted.split(",") if s.strip()]
    import tensorflow as tf

    return sorted(n.rstrip("/")[len("Split-"):] for n in tf.io.gfile.listdir(examples_uri) if n.startswith("Split-"))


def read_examples(examples_uri: str, splits: str = ""):
    """The named splits (comma-separated; empty = all) of an Examples artifact as one DataFrame."""
    import pandas as pd

    frames = [examples_io.read_split(examples_uri, s) for s in _split_names(examples_uri, splits)]
    if not frames:
        raise FileNotFoundError(f"no splits under {examples_uri}")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def skew_report(
    baseline_uri: str,
    current_uri: str,
    features: dict,
    settings: logic.DriftSettings,
    baseline_splits: str = "train",
    current_splits: str = "",
    label: str = "",
    baseline=None,
) -> logic.DriftReport:
    """Drift of the current Examples' splits against the baseline Examples' splits (or an
    already-read ``baseline`` frame)."""
    base = baseline if baseline is not None else read_examples(baseline_uri, baseline_splits)
    cur = read_examples(current_uri, current_splits)
    return logic.compute_drift(
        base, cur, features, settings, label=label or None,
        baseline_uri=f"{baseline_uri} [{baseline_splits or 'all'}]", current_uri=f"{current_uri} [{current_splits or 'all'}]",
    )


def serving_baseline(serving_models: str, model_name: str) -> tuple[str, str] | None:
    """(examples URI, description) of the training data of the newest pushed version, or None
    when nothing has been pushed yet or its manifest predates ``examples_uri``."""
    from components.versioned_pusher import logic as push_logic

    found = push_logic.latest(serving_models, model_name)
    if found is None or not found[1].get("examples_uri"):
        return None
    version, manifest = found
    return manifest["examples_uri"], f"training data of {model_name} version {version} (now serving)"


def _same_rows(baseline_uri: str, baseline_splits: str, current_uri: str, current_splits: str) -> bool:
    """True when the comparison would read rows of the same Examples artifact on both sides."""
    if baseline_uri.rstrip("/") != current_uri.rstrip("/"):
        return False
    return bool(set(_split_names(baseline_uri, baseline_splits)) & set(_split_names(current_uri, current_splits)))


def write_report(report: logic.DriftReport | None, *dirs: str, reason: str = "") -> None:
    """``drift.json`` and ``drift.html`` in each dir (local or gs://); with no report, a page that says why."""
    import tensorflow as tf

    body = report.to_json() if report is not None else json.dumps({"drifted": False, "baseline_uri": None, "reason": reason})
    page = report.to_html() if report is not None else logic.render_not_checked_html(reason)
    for d in dirs:
        if not d:
            continue
        tf.io.gfile.makedirs(d)
        with tf.io.gfile.GFile(os.path.join(d, rn.DRIFT_JSON), "w") as fh:
            fh.write(body)
        with tf.io.gfile.GFile(os.path.join(d, rn.DRIFT_HTML), "w") as fh:
            fh.write(page)


def _not_checked(drift: Artifact, report_dir: str, reason: str) -> dict:
    write_report(None, drift.uri, report_dir, reason=reason)
    drift.set_int_custom_property("drifted", 0)
    drift.set_float_custom_property("max_score", 0.0)
    return {"drifted": 0, "max_score": 0.0}


@component
def DriftCheck(
    current_examples: InputArtifact[standard_artifacts.Examples],
    drift: OutputArtifact[DriftResult],
    features_json: Parameter[str],
    baseline_examples: InputArtifact[standard_artifacts.Examples] = None,
    serving_models: Parameter[str] = "",
    model_name: Parameter[str] = "",
    serving_version: Parameter[int] = 0,
    threshold: Parameter[float] = 0.2,
    numeric_metric: Parameter[str] = "psi",
    categorical_metric: Parameter[str] = "js",
    window_size: Parameter[int] = 0,
    baseline_splits: Parameter[str] = "train",
    current_splits: Parameter[str] = "",
    report_dir: Parameter[str] = "",
    fail_on_drift: Parameter[int] = 0,
) -> OutputDict(drifted=int, max_score=float):
    """Per-feature skew of ``current_examples`` vs the baseline (``score > threshold`` = drift).

    The baseline: ``baseline_examples`` if given, else the training data of the newest version
    pushed to ``serving_models`` as ``model_name``. ``serving_version`` is that version as the
    pipeline saw it when it was built: it is only part of the cache key, so a new push makes the
    check run again on unchanged data. A serving baseline that is gone or unreadable (an old
    run's artifacts deleted) gives a "not checked" report, never a failed run.
    """
    if baseline_examples is not None:
        baseline_uri = baseline_examples.uri
    elif serving_models and model_name:
        try:
            found = serving_baseline(serving_models, model_name)
        except (StorageError, OSError, ValueError) as exc:
            return _not_checked(drift, report_dir, f"cannot read the pushed versions under {serving_models}: {exc}")
        if found is None:
            return _not_checked(drift, report_dir, f"no version of {model_name} with recorded training data under {serving_models} yet")
        baseline_uri = found[0]
        if _same_rows(baseline_uri, baseline_splits, current_examples.uri, current_splits):
            # The serving model was trained on these very Examples (a rerun on unchanged data):
            # nothing can have drifted, and comparing the data with itself would cost a full read.
            return _not_checked(drift, report_dir, f"the {found[1]} is this run's data itself: no drift possible")
    else:
        raise ValueError("DriftCheck needs baseline_examples, or serving_models and model_name")
    settings = logic.DriftSettings(
        threshold=threshold, numeric_metric=numeric_metric, categorical_metric=categorical_metric, window_size=window_size
    )
    import tensorflow as tf

    try:
        baseline = read_examples(baseline_uri, baseline_splits)
    except (OSError, tf.errors.OpError) as exc:
        if baseline_examples is not None:
            raise
        return _not_checked(drift, report_dir, f"the serving model's training data {baseline_uri} cannot be read: {exc}")
    try:
        report = skew_report(
            baseline_uri, current_examples.uri, json.loads(features_json), settings, baseline_splits, current_splits,
            baseline=baseline,
        )
    except logic.MissingColumnsError as exc:
        if exc.side != "current":
            raise
        # Missing columns are the data gate's finding (exit 3, column named); drift cannot be
        # scored without them, and must not turn a clear gate stop into a crash.
        return _not_checked(
            drift, report_dir,
            f"the new data lacks configured feature(s) {', '.join(exc.missing)}, so drift was not scored; "
            "the data gate reports the missing column",
        )
    write_report(report, drift.uri, report_dir)
    drift.set_int_custom_property("drifted", int(report.drifted))
    drift.set_float_custom_property("max_score", report.max_score)
    if fail_on_drift and report.drifted:
        raise DriftDetected(
            f"drift in {', '.join(report.drifted_features)} (threshold {threshold}) against {baseline_uri}; "
            f"see {os.path.join(report_dir or drift.uri, rn.DRIFT_HTML)}",
            hold_failures(report),
        )
    return {"drifted": int(report.drifted), "max_score": float(report.max_score)}
