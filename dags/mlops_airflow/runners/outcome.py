"""What a run ended as, whichever runner ran it, and the alert a run that did not succeed raises.

:class:`RunOutcome` is what every runner returns (and what the KFP / Vertex AI client process
sends back as its ``outcome`` event). :func:`outcome_from_run_dir` reads the pipeline's own
``run.json`` (``mlops run``'s summary) into one; its status follows the exit-code contract of
:mod:`pipelines.exit_codes`. :func:`raise_for_outcome` fails the task with
:class:`mlops_airflow.alerts.AlertingFailure`, so the notifiers receive the pipeline's own reason
(failing gate columns, the KFP error message...). Imports neither Airflow nor the cloud clients.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mlops_airflow import REPO_ROOT
from pipelines.exit_codes import run_status

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What a runner reports, whatever ran the pipeline.

    Attributes:
        runner: ``local``, ``kubeflow``, ``vertex`` or ``dry-run``.
        status: ``succeeded``, ``gate_failed``, ``not_blessed``, ``failed`` or ``skipped``.
        reason: One human paragraph when not succeeded.
        run_id: Remote run id (KFP/Vertex) or the local output dir.
        links: Name -> URL (remote run UI, reports as file:// URLs).
        pushed: ``{"version": int, "path": str}`` when a model was pushed.
        metrics: Key metrics from ``run.json``.
        reports: Report name -> path.
        gate_failures: ``run.json`` ``gate.failures`` (column, check, source, examples).
        components: Per-component seconds/state from ``run.json``.
        output_dir: Local output directory (local runner).
        exit_code: Process exit code (local runner).
        tracking: ``run.json``'s ``tracking`` section (local runner): MLflow run, registry outcome.
    """

    runner: str
    status: str
    reason: str | None = None
    run_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    pushed: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    components: dict[str, Any] = field(default_factory=dict)
    output_dir: str | None = None
    exit_code: int | None = None
    # run.json's MLflow section (pipelines/tracking): run and registered version, or why not.
    tracking: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunOutcome":
        known = {f for f in cls.__dataclass_fields__}  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in d.items() if k in known})


class RunnerError(RuntimeError):
    """The runner itself failed (bad configuration, API error) before a run outcome existed."""


# --------------------------------------------------------------------------------------------
# run.json -> RunOutcome
# --------------------------------------------------------------------------------------------


def outcome_from_run_dir(out_dir: Path, exit_code: int, stderr_tail: list[str], runner: str = "local") -> RunOutcome:
    """Reads ``run.json`` (if any) and combines it with the exit code."""
    summary: dict[str, Any] = {}
    run_json = out_dir / "run.json"
    if run_json.is_file():
        try:
            summary = json.loads(run_json.read_text())
        except ValueError:
            log.warning("%s is not valid JSON", run_json)
    status = summary.get("status") or run_status(exit_code)
    if exit_code != 0 and status == "succeeded":  # the process is the last word
        status = run_status(exit_code)
    reason = summary.get("reason")
    if status != "succeeded" and not reason:
        reason = last_paragraph(stderr_tail) or f"mlops run exited with code {exit_code}"
    reports = {str(k): str(v) for k, v in (summary.get("reports") or {}).items()}
    # MLflow first: alert channels that show only a few links (Slack: 10) keep them.
    links = {**tracking_links(summary.get("tracking")), **{f"report: {k}": _file_url(out_dir, v) for k, v in reports.items()}}
    if (out_dir / "reports" / "index.html").is_file():
        links["run index"] = (out_dir / "reports" / "index.html").resolve().as_uri()
    return RunOutcome(
        runner=runner,
        status=status,
        reason=reason,
        run_id=str(out_dir),
        links=links,
        pushed=summary.get("pushed"),
        metrics={k: float(v) for k, v in (summary.get("metrics") or {}).items() if _is_number(v)},
        reports=reports,
        gate_failures=list((summary.get("gate") or {}).get("failures") or []),
        components=dict(summary.get("components") or {}),
        output_dir=str(out_dir),
        exit_code=exit_code,
        tracking=dict(summary.get("tracking") or {}),
    )


def tracking_links(tracking: Mapping[str, Any] | None) -> dict[str, str]:
    """The MLflow run and the registered model version ``run.json``'s ``tracking`` section links
    (pipelines/tracking), or an empty dict."""
    tracking = tracking or {}
    links = {}
    if tracking.get("run_url"):
        links["MLflow run"] = str(tracking["run_url"])
    registry = tracking.get("registry") or {}
    if registry.get("url"):
        links[f"MLflow model {registry.get('model')} v{registry.get('version')} (@{registry.get('alias')})"] = str(registry["url"])
    return links


def last_paragraph(lines: list[str]) -> str:
    """The last block of non-empty lines (the CLI's human explanation on failure)."""
    block: list[str] = []
    for line in reversed(lines):
        if line.strip():
            block.append(line.strip())
        elif block:
            break
    return "\n".join(reversed(block))


def _file_url(base: Path, path: str) -> str:
    p = Path(path)
    if "://" in path:
        return path
    if not p.is_absolute():
        # run.json paths are relative to the repo (the container's /src) or to the run dir
        cand = REPO_ROOT / p
        p = cand if cand.exists() or not (base / p).exists() else base / p
    return p.resolve().as_uri()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------------------------
# RunOutcome -> alert
# --------------------------------------------------------------------------------------------


def outcome_alert(outcome: RunOutcome, dataset: str, data_uri: str | None) -> dict[str, Any]:
    """``build_alert`` keyword arguments for a run that did not succeed."""
    kind = {"gate_failed": "data_gate_failed", "not_blessed": "not_blessed"}.get(outcome.status, "pipeline_failed")
    failures = outcome.gate_failures or []
    if kind == "data_gate_failed" and failures and all(
        isinstance(f, Mapping) and f.get("source") == "drift_check" for f in failures
    ):
        kind = "drift_hold"
    facts: dict[str, Any] = {}
    if outcome.exit_code not in (None, 0):
        facts["Exit code"] = outcome.exit_code
    if outcome.metrics:
        facts["Metrics"] = outcome.metrics
    return {
        "kind": kind,
        "dataset": dataset,
        "failures": outcome.gate_failures,
        "reason": outcome.reason,
        "data_uri": data_uri,
        "runner": outcome.runner,
        "facts": facts,
        "links": dict(outcome.links),
    }


def raise_for_outcome(outcome: RunOutcome, dataset: str, data_uri: str | None) -> None:
    """Fails the task (with the right alert) unless the run succeeded."""
    if outcome.status in ("succeeded", "skipped"):
        return
    from mlops_airflow.alerts import AlertingFailure

    raise AlertingFailure(
        f"{outcome.runner} run {outcome.status}: {outcome.reason or ''}".strip(),
        outcome_alert(outcome, dataset, data_uri),
    )
