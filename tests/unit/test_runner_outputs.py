"""pipelines.runner: a run's summary reads only the reports its own components produced."""

from __future__ import annotations

import json
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
