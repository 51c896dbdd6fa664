"""``RunSummary``, the ``run.json`` contract of a local run, and its verdict.

The verdict (``succeeded``, ``gate_failed``, ``not_blessed``, ``failed``) and the paragraph that
explains it are read from what the run left: its report folder (``gate.json``, the evaluation
and fairness results, ``pushed.json``) and the error that stopped it, if any.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.common import report_names as rn
from pipelines.pipeline import REPO_ROOT


@dataclass
class RunSummary:
    """What ``run.json`` holds (the contract the DAGs and people read)."""

    status: str = "running"
    reason: str | None = None
    run_id: str = ""
    config: str = ""
    gate: dict[str, Any] = field(default_factory=lambda: {"failures": []})
    pushed: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The DriftCheck step's verdict (new data vs the serving model's training data), if it ran.
    drift: dict[str, Any] | None = None
    # DataIngest's counts: rows_read, rows_dropped (incomplete rows, data.drop_incomplete_rows).
    data: dict[str, int] | None = None
    seconds: float = 0.0
    # MLflow run and registry outcome (pipelines/tracking): links, or why nothing was logged.
    tracking: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``run.json`` writes it."""
        return dict(self.__dict__)


def display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it, so the same run.json reads
    correctly on the host and in the image (where the repo is mounted at /src)."""
    if "://" in path:
        return path
    cwd = os.getcwd()
    absolute = os.path.abspath(path)
    return os.path.relpath(absolute, cwd) if absolute.startswith(cwd + os.sep) else absolute


def for_people(text: str) -> str:
    """Paths under the repo shown relative to it: the same words on the host and in the image
    (where the repo is /src), never a path inside a container."""
    return text.replace(str(REPO_ROOT) + os.sep, "")


def gate_paragraph(failures: list[dict[str, Any]], pipeline_name: str) -> str | None:
    """The gate's paragraph rebuilt with the pipeline's name as its subject (components name the
    data URI or the dataset), or None when the failures are not data-check failures."""
    from components.common.errors import CheckFailure, DataValidationError

    try:
        checks = [CheckFailure(**f) for f in failures]
    except TypeError:
        return None
    return for_people(DataValidationError(checks, pipeline_name).paragraph()) if checks else None


def find_cause(error: BaseException, kind: type) -> Any:
    """The first exception of ``kind`` in ``error``'s chain of causes and contexts, or None."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def read_gate(summary: RunSummary, report_dir: str, pipeline_name: str) -> None:
    """Fills ``gate`` from ``gate.json``; a gate that did not pass makes the run ``gate_failed``."""
    gate_file = Path(report_dir) / rn.GATE_JSON
    if gate_file.exists():
        gate = json.loads(gate_file.read_text())
        summary.gate = {"failures": gate.get("failures", []), "passed": gate.get("passed")}
        if not gate.get("passed"):
            summary.status = "gate_failed"
            summary.reason = gate_paragraph(gate.get("failures", []), pipeline_name) or gate.get("reason")


def classify_error(summary: RunSummary, error: BaseException, pipeline_name: str) -> None:
    """The status and reason of a run stopped by ``error`` (unless the gate already said why)."""
    from components.common.errors import DataValidationError
    from components.drift.component import DriftDetected

    if summary.status == "gate_failed":
        return
    dve = find_cause(error, DataValidationError)
    held = find_cause(error, DriftDetected)
    if held is not None:
        # drift_check.fail_on_drift: the data is fine, but it is not what the serving model knows.
        summary.status = "gate_failed"
        summary.reason = f"The drift check held the run before training: {held}."
        summary.gate = {"failures": held.failures, "passed": False}
    elif dve is not None:
        summary.status = "gate_failed"
        summary.reason = for_people(DataValidationError(dve.failures, pipeline_name).paragraph())
        summary.gate = {"failures": [f.to_dict() for f in dve.failures], "passed": False}
    else:
        summary.status = "failed"
        summary.reason = f"{type(error).__name__}: {error}"


def collect_outputs(summary: RunSummary, report_dir: str) -> None:
    """Fills pushed/metrics/reports from the report dir.

    ``run_local`` empties the report dir when a run starts and then fills it from this run's own
    artifacts (``pipelines.local.reports.copy_reports``, executed and cached components alike),
    so everything here is this run's: those copies, plus what a component that failed on purpose
    wrote before it stopped (the gate's ``gate.json``, a drift hold's report).
    """
    rd = Path(report_dir)
    eval_metrics = rd / rn.EVALUATION / rn.METRICS_JSON
    if eval_metrics.exists():
        data = json.loads(eval_metrics.read_text())
        summary.metrics = {k: round(v, 6) for k, v in data.get("overall", {}).items()}
        summary.metrics["_failures"] = data.get("failures", [])
        summary.reports[rn.EVALUATION] = str(rd / rn.EVALUATION / rn.PAGES[rn.EVALUATION])
    fairness = rd / rn.FAIRNESS / rn.RESULT_JSON
    if fairness.exists():
        data = json.loads(fairness.read_text())
        if data.get("passed") is False:
            reasons = [f"fairness: {r}" for r in data.get("reasons", [])] or ["fairness gate failed"]
            summary.metrics["_failures"] = [*reasons, *summary.metrics.get("_failures", [])]
            if data.get("hint"):  # the gate failed without mitigation: what to try (fairness.mitigation)
                summary.metrics["_fairness_hint"] = data["hint"]
    for split in ("train", "eval"):
        docs = rd / rn.DATA_DOCS / split / rn.INDEX_HTML
        if docs.exists():
            summary.reports[f"{rn.DATA_DOCS}_{split}"] = str(docs)
    for name in (rn.EXPLAIN, rn.FAIRNESS, rn.COMPRESS, rn.DRIFT):
        page = rd / name / rn.PAGES[name]
        if page.exists():
            summary.reports[name] = str(page)
    drift = rd / rn.DRIFT / rn.DRIFT_JSON
    if drift.exists():
        data = json.loads(drift.read_text())
        summary.drift = {
            k: for_people(data[k]) if k == "reason" and isinstance(data[k], str) else data[k]
            for k in ("drifted", "drifted_features", "max_score", "threshold", "baseline_uri", "reason")
            if k in data
        }
    if (rd / rn.GATE_JSON).exists():
        summary.reports["gate"] = str(rd / rn.GATE_JSON)
    pushed = rd / rn.PUSHED_JSON
    if pushed.exists():
        data = json.loads(pushed.read_text())
        if data.pop("pushed", False):
            summary.pushed = {**data, "path": display_path(data["path"])}
            if data.get("model_card"):
                # The pushed version's own card (components/model_card), not a copy in reports/.
                summary.pushed["model_card"] = display_path(data["model_card"])
                summary.reports["model_card"] = data["model_card"]
    summary.reports = {k: display_path(v) for k, v in summary.reports.items()}


def settle_blessing(summary: RunSummary) -> None:
    """A run that succeeded but pushed nothing is ``not_blessed``, with the failures that say why.

    Drops the internal ``_failures`` entry ``collect_outputs`` left in ``metrics``.
    """
    if summary.status == "succeeded" and not summary.pushed:
        summary.status = "not_blessed"
        failures = summary.metrics.pop("_failures", None) or []
        summary.reason = (
            "The candidate model was not blessed, so nothing was pushed and the serving version is unchanged: "
            + (_first(failures, 3) if failures else "it failed an evaluation threshold")
            + f". See {_report_for(failures, summary.reports)}."
        )
        hint = summary.metrics.get("_fairness_hint")
        if hint and failures and failures[0].startswith("fairness:"):
            summary.reason += f" Next: {hint}."
    summary.metrics.pop("_failures", None)
    summary.metrics.pop("_fairness_hint", None)


def _report_for(failures: list[str], reports: dict[str, str]) -> str:
    """The report that explains the first failure (fairness or evaluation)."""
    if failures and failures[0].startswith("fairness:") and rn.FAIRNESS in reports:
        return reports[rn.FAIRNESS]
    return reports.get(rn.EVALUATION, "the evaluation report")


def _first(items: list[str], n: int) -> str:
    more = f"; and {len(items) - n} more" if len(items) > n else ""
    return "; ".join(items[:n]) + more
