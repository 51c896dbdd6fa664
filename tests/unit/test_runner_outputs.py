"""pipelines.runner: a run's summary reads only the reports its own components produced."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelines.runner import RunSummary, _collect_outputs


def _reports(rd: Path) -> None:
    """What an earlier run with every extra switched on left in the shared report dir."""
    (rd / "evaluation").mkdir(parents=True)
    (rd / "evaluation" / "metrics.json").write_text(json.dumps({"overall": {"accuracy": 0.91}, "failures": []}))
    (rd / "evaluation" / "index.html").write_text("<html>")
    for name in ("fairness", "explain", "compress"):
        (rd / name).mkdir()
        (rd / name / "index.html").write_text("<html>")
    (rd / "fairness" / "result.json").write_text(json.dumps({"passed": False, "reasons": ["accuracy gap 0.4 > 0.25"]}))
    for f in rd.rglob("*"):
        if f.is_file():
            os.utime(f, (1_000_000_000, 1_000_000_000))  # written by a run long ago


def test_reports_of_components_not_in_this_run_are_ignored(tmp_path):
    _reports(tmp_path)
    # This run: fairness, explanation and compression switched off; the evaluation was cached.
    summary = RunSummary(components={
        "EvaluationReport": {"seconds": 0.1, "state": "cached"},
        "VersionedPusher": {"seconds": 0.2, "state": "executed"},
    })
    _collect_outputs(summary, str(tmp_path))
    assert summary.metrics["accuracy"] == 0.91
    assert summary.metrics["_failures"] == []  # the old fairness failure is not this run's
    assert set(summary.reports) == {"evaluation"}


def test_failed_component_reports_are_ignored_and_produced_ones_read(tmp_path):
    _reports(tmp_path)
    summary = RunSummary(components={
        "EvaluationReport": {"state": "executed"},
        "FairnessGate": {"state": "executed"},
        "ModelExplanation": {"state": "failed"},
    })
    _collect_outputs(summary, str(tmp_path))
    assert summary.metrics["_failures"] == ["fairness: accuracy gap 0.4 > 0.25"]
    assert set(summary.reports) == {"evaluation", "fairness"}


def test_without_mlmd_states_the_launched_components_count(tmp_path):
    _reports(tmp_path)
    summary = RunSummary(components={"EvaluationReport": {"seconds": 1.0}, "ModelCompression": {"seconds": 2.0}})
    _collect_outputs(summary, str(tmp_path))
    assert set(summary.reports) == {"evaluation", "compress"}


def test_a_report_written_during_this_run_by_a_failed_component_is_read(tmp_path):
    """A drift hold fails DriftCheck on purpose; its report (written this run) is the reason."""
    import time

    _reports(tmp_path)
    started = time.time()
    (tmp_path / "drift").mkdir()
    (tmp_path / "drift" / "drift.html").write_text("<html>")
    (tmp_path / "drift" / "drift.json").write_text(json.dumps(
        {"drifted": True, "drifted_features": ["island"], "max_score": 0.5, "threshold": 0.2, "baseline_uri": "/x"}
    ))
    summary = RunSummary(components={"DriftCheck": {"state": "failed"}, "ModelExplanation": {"state": "failed"}})
    _collect_outputs(summary, str(tmp_path), started)
    assert set(summary.reports) == {"drift"}  # explain's page predates the run
    assert summary.drift == {"drifted": True, "drifted_features": ["island"], "max_score": 0.5, "threshold": 0.2,
                             "baseline_uri": "/x"}
