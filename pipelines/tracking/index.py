"""``<output-dir>/reports/index.html``: one page per run for people without MLflow.

It links every report of the run, states the verdict and the key metrics, and links the MLflow
run and registered version when tracking logged them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

_VERDICTS = {
    "succeeded": ("model pushed", "ok"),
    "not_blessed": ("not blessed: nothing pushed", "bad"),
    "gate_failed": ("stopped by the data gate", "bad"),
    "failed": ("failed", "bad"),
}


def _href(path: str, report_dir: str) -> str:
    """A link relative to the reports folder, so the page works wherever the folder is opened."""
    if "://" in path:
        return path
    return os.path.relpath(os.path.abspath(path), os.path.abspath(report_dir))


def _gate_line(failure: Any) -> str:
    if not isinstance(failure, Mapping):
        return str(failure)
    parts = [str(failure.get(k)) for k in ("column", "check", "source") if failure.get(k)]
    examples = failure.get("examples")
    return " / ".join(parts) + (f" (e.g. {', '.join(map(str, examples[:5]))})" if examples else "")


def render(summary: Mapping[str, Any], pipeline: str, report_dir: str) -> str:
    """The page for one ``run.json`` (as a dict) whose reports live under ``report_dir``."""
    from components.common import html as report_html

    status = str(summary.get("status") or "")
    verdict, css = _VERDICTS.get(status, (status, "warn"))
    pushed = summary.get("pushed") or {}
    if status == "succeeded" and pushed and pushed.get("created") is False:
        verdict = "blessed: identical model already serving"
    tracking = summary.get("tracking") or {}
    registry = tracking.get("registry")
    if registry is not None and not registry.get("updated"):
        css = "warn" if css == "ok" else css
    metrics = [(k, f"{float(v):.4f}" if not float(v).is_integer() else str(int(v)))
               for k, v in sorted((summary.get("metrics") or {}).items())]
    drift = summary.get("drift") or {}
    if drift.get("max_score") is not None:
        metrics.append(("drift max score", f"{float(drift['max_score']):.4f}"))
    reports = [(name, _href(path, report_dir)) for name, path in sorted((summary.get("reports") or {}).items())]
    run_id = summary.get("run_id") or ""
    return report_html.render(
        "index.html.j2",
        kind="run",
        title=pipeline,
        subject=f"run {run_id}",
        page_title=f"{pipeline} run {run_id}: {status}",
        status=status,
        verdict=verdict,
        verdict_class=css,
        reason=summary.get("reason") or "",
        seconds=summary.get("seconds") or 0,
        pushed=pushed,
        registry=registry,
        tracking_url=tracking.get("run_url"),
        tracking_run=tracking.get("run_id"),
        tracking_error=tracking.get("error"),
        experiment=tracking.get("experiment") or pipeline,
        metrics=metrics,
        gate_failures=[_gate_line(f) for f in (summary.get("gate") or {}).get("failures") or []],
        reports=reports,
        run_json_href=_href(str(Path(report_dir).parent / "run.json"), report_dir),
    )


def write_index(summary: Mapping[str, Any], pipeline: str, report_dir: str) -> str:
    """Writes ``<report_dir>/index.html``; returns its path."""
    os.makedirs(report_dir, exist_ok=True)
    path = os.path.join(report_dir, "index.html")
    Path(path).write_text(render(summary, pipeline, report_dir))
    return path
