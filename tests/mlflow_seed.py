"""Seeds an MLflow store with one tracked run and one registered version, for the MLflow UI
browser test (tests/airflow/test_mlflow_browser.py), which drives the UI, not the pipeline.

The run goes through ``pipelines.tracking`` exactly as ``mlops run`` logs one, but its summary
and reports are synthetic and the pushed "model" is a placeholder folder: training a model
would add minutes and nothing the UI test looks at. The pipeline -> MLflow path itself is
tested with real runs in tests/e2e/test_tracking.py.

    python -m tests.mlflow_seed <folder>   # writes <folder>/mlflow.db, artifacts, seed.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from components.versioned_pusher import logic as push_logic
from pipelines.config import load_config
from pipelines.pipeline import REPO_ROOT
from pipelines.local.summary import RunSummary
from pipelines.tracking.client import record_run

RUN_ID = "20261206T120000-uitest"


def seed(folder: Path) -> dict:
    """Logs the run and registers version 1 of ``penguins``; returns what the UI should show."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "placeholder-model"
    model.mkdir(exist_ok=True)
    (model / "saved_model.pb").write_bytes(b"placeholder: not a real SavedModel")
    dest = folder / "models"
    result = push_logic.push(model, str(dest), "penguins", {
        "pipeline": "penguins", "blessed": True, "run_id": RUN_ID,
        "metrics": {"overall": {"sparse_categorical_accuracy": 0.97}, "slices": {}, "classes": ["Adelie", "Chinstrap", "Gentoo"]},
    })
    cfg = load_config(REPO_ROOT / "pipelines/configs/penguins.yaml",
                      {"push.destination": str(dest), "tracking.uri": f"sqlite:///{folder}/mlflow.db",
                       "tracking.ui_url": "http://127.0.0.1:5000"})
    out = folder / "run"
    (out / "reports" / "evaluation").mkdir(parents=True, exist_ok=True)
    (out / "reports" / "evaluation" / "index.html").write_text("<html><body>evaluation (synthetic)</body></html>")
    (out / "reports" / "evaluation" / "metrics.json").write_text(json.dumps({
        "blessed": True, "overall": {"sparse_categorical_accuracy": 0.97},
        "slices": {"island=Biscoe": {"sparse_categorical_accuracy": 0.95}}, "diffs": {}, "failures": []}))
    summary = RunSummary(status="succeeded", run_id=RUN_ID, config=cfg.source_path, seconds=42.0,
                         gate={"failures": [], "passed": True}, metrics={"sparse_categorical_accuracy": 0.97},
                         pushed={"version": result.version, "path": result.uri, "created": True},
                         reports={"evaluation": str(out / "reports" / "evaluation" / "index.html")},
                         components={"Trainer": {"seconds": 7.5, "state": "executed", "execution_id": 9}})
    (out / "run.json").write_text(json.dumps(summary.to_dict()))
    record_run(cfg, summary, str(out), data_uri=cfg.data.uri, data_fingerprint="seed", code_version="seed",
               repo_root=REPO_ROOT)
    tracking = summary.tracking
    assert tracking["logged"] and tracking["registry"]["version"] == 1, tracking
    info = {"run_name": RUN_ID, "run_id": tracking["run_id"], "experiment_id": tracking["experiment_id"],
            "model": "penguins", "version": 1, "alias": cfg.tracking.alias}
    (folder / "seed.json").write_text(json.dumps(info))
    return info


if __name__ == "__main__":
    print(json.dumps(seed(Path(sys.argv[1]).resolve())))
