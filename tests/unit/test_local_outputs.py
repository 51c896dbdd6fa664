"""pipelines.local: a run's reports come from its own artifacts, whatever an earlier run left.

``pipelines.local.mlmd.run_artifacts`` reads the artifacts from MLMD (exercised end to end in
tests/e2e/test_pipeline_local.py); here the artifact folders are laid out as the components
write them and fed to ``reports.copy_reports`` and ``summary.collect_outputs``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.pipeline import REPO_ROOT
from pipelines.local.reports import copy_reports
from pipelines.local.summary import RunSummary, collect_outputs, gate_paragraph


def _artifacts(root: Path) -> list[tuple[str, str, str]]:
    """Output artifacts of one run: an evaluation, a failed fairness verdict, data docs, a gate."""
    ev = root / "EvaluationReport" / "report" / "7"
    ev.mkdir(parents=True)
    (ev / "metrics.json").write_text(json.dumps({"overall": {"accuracy": 0.91}, "failures": []}))
    (ev / "index.html").write_text("<html>evaluation")
    fair = root / "FairnessGate" / "result" / "9"
    fair.mkdir(parents=True)
    (fair / "index.html").write_text("<html>")
    (fair / "result.json").write_text(json.dumps({"passed": False, "reasons": ["accuracy gap 0.4 > 0.25"]}))
    ge = root / "GreatExpectationsValidation" / "result" / "3"
    (ge / "data_docs" / "train").mkdir(parents=True)
    (ge / "data_docs" / "train" / "index.html").write_text("<html>docs")
    (ge / "result.json").write_text("{}")
    gate = root / "DataGate" / "gate" / "4"
    gate.mkdir(parents=True)
    (gate / "gate.json").write_text(json.dumps({"passed": True, "failures": []}))
    comp = root / "ModelCompression" / "compressed" / "5"
    (comp / "variants").mkdir(parents=True)
    (comp / "variants" / "float16.tflite").write_bytes(b"\0" * 10)
    (comp / "index.html").write_text("<html>")
    return [
        ("EvaluationReport", "report", str(ev)), ("FairnessGate", "result", str(fair)),
        ("GreatExpectationsValidation", "result", str(ge)), ("DataGate", "gate", str(gate)),
        ("ModelCompression", "compressed", str(comp)), ("Trainer", "model", str(root / "Trainer" / "model" / "6")),
    ]


def test_reports_are_copied_from_the_run_artifacts(tmp_path):
    reports = tmp_path / "reports"
    written = copy_reports(_artifacts(tmp_path / "root"), str(reports))
    assert sorted(written) == ["compress/index.html", "data_docs", "evaluation", "fairness", "gate.json"]
    assert (reports / "evaluation" / "index.html").read_text() == "<html>evaluation"
    assert (reports / "data_docs" / "train" / "index.html").read_text() == "<html>docs"
    assert not (reports / "compress" / "variants").exists()  # models are not reports
    summary = RunSummary()
    collect_outputs(summary, str(reports))
    assert summary.metrics["accuracy"] == 0.91
    assert summary.metrics["_failures"] == ["fairness: accuracy gap 0.4 > 0.25"]
    assert set(summary.reports) == {"evaluation", "fairness", "compress", "data_docs_train", "gate"}


def test_only_this_runs_artifacts_are_reported(tmp_path):
    """A run without the extras reports no fairness/compress page, however many exist on disk."""
    artifacts = [a for a in _artifacts(tmp_path / "root") if a[0] in ("EvaluationReport", "DataGate")]
    reports = tmp_path / "reports"
    copy_reports(artifacts, str(reports))
    summary = RunSummary()
    collect_outputs(summary, str(reports))
    assert set(summary.reports) == {"evaluation", "gate"}
    assert summary.metrics["_failures"] == []


def test_a_report_written_by_a_component_that_stopped_the_run_is_read(tmp_path):
    """A drift hold fails DriftCheck on purpose: no artifact, but its report is the reason."""
    reports = tmp_path / "reports"
    (reports / "drift").mkdir(parents=True)
    (reports / "drift" / "drift.html").write_text("<html>")
    (reports / "drift" / "drift.json").write_text(json.dumps(
        {"drifted": True, "drifted_features": ["island"], "max_score": 0.5, "threshold": 0.2, "baseline_uri": "/x"}
    ))
    summary = RunSummary()
    collect_outputs(summary, str(reports))
    assert set(summary.reports) == {"drift"}
    assert summary.drift == {"drifted": True, "drifted_features": ["island"], "max_score": 0.5, "threshold": 0.2,
                             "baseline_uri": "/x"}


def test_gate_paragraph_names_the_pipeline_and_no_container_path():
    """Ingest names the data URI; people read the pipeline's name and repo-relative paths."""
    failures = [{"column": None, "check": "file_not_empty", "source": "ingest",
                 "detail": f"{REPO_ROOT}/runs/data/empty.csv is empty (0 bytes of data)", "examples": []}]
    text = gate_paragraph(failures, "penguins")
    assert text.startswith("Data validation stopped the pipeline for penguins:")
    assert "runs/data/empty.csv is empty" in text and str(REPO_ROOT) + "/" not in text


def test_drift_reason_shows_repo_paths_relative(tmp_path):
    reports = tmp_path / "reports"
    (reports / "drift").mkdir(parents=True)
    (reports / "drift" / "drift.json").write_text(json.dumps(
        {"drifted": False, "reason": f"no version of penguins with recorded training data under {REPO_ROOT}/runs/models yet"}))
    summary = RunSummary()
    collect_outputs(summary, str(reports))
    assert summary.drift["reason"] == "no version of penguins with recorded training data under runs/models yet"


def test_the_pushed_model_card_is_listed_in_run_json(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    card = str(tmp_path / "models" / "m" / "2" / "model_card" / "index.html")
    (reports / "pushed.json").write_text(json.dumps(
        {"pushed": True, "version": 2, "path": str(tmp_path / "models" / "m" / "2"), "created": True, "model_card": card}))
    summary = RunSummary()
    collect_outputs(summary, str(reports))
    assert summary.pushed["version"] == 2 and summary.pushed["model_card"].endswith("m/2/model_card/index.html")
    assert summary.reports["model_card"] == summary.pushed["model_card"]
    from pipelines.tracking.index import render

    page = render(summary.to_dict(), "m", str(reports))
    assert 'href="../models/m/2/model_card/index.html">model_card</a>' in page
