"""End to end: dag.test() of training_pipeline with the local runner and the real project image.

Needs Docker and the image (``make image`` builds and tags ``mlops-pipelines:latest``; override
with MLOPS_IMAGE). The run uses the penguins config with its push destination moved under the
gitignored runs/airflow-test/, so it never touches the models of ``make demo``.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from conftest import REPO_ROOT
from support import run_dag, xcom

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project_image() -> str:
    image = os.environ.get("MLOPS_IMAGE") or "mlops-pipelines:latest"
    try:
        res = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("docker CLI not found: the local runner needs Docker (make docker)")
    if res.returncode != 0:
        pytest.fail(
            f"project image {image!r} not found ({res.stderr.strip()[:200]}). Build it first with "
            "`make image` (the Makefile does this before the tests), or set MLOPS_IMAGE."
        )
    return image


def test_local_runner_trains_and_pushes_a_model(dagbag, pipeline_config, project_image, webhook):
    from lib.settings import resolve_repo_path

    e2e_dir = REPO_ROOT / os.environ["MLOPS_AIRFLOW_RUNS_DIR"] / "e2e"
    e2e_dir.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(resolve_repo_path(pipeline_config).read_text())
    cfg["push"]["destination"] = f"{os.environ['MLOPS_AIRFLOW_RUNS_DIR']}/e2e/models"
    # What is under test is the DAG driving the image; the explain/fairness/compress steps are
    # covered by the image's own end-to-end tests and only add minutes here.
    for extra in ("explain", "fairness", "compress"):
        cfg.setdefault(extra, {})["enabled"] = False
    config_path = e2e_dir / "penguins.yaml"  # inside the repo: the container sees it under /src
    config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))

    dr, states = run_dag(
        dagbag.dags["training_pipeline"],
        {"config": str(config_path.relative_to(REPO_ROOT)), "runner": "local"},
    )
    plan = xcom(dr, "resolve_run")
    run_json = REPO_ROOT / plan["output_dir"] / "run.json"
    detail = run_json.read_text()[:3000] if run_json.exists() else "no run.json"
    assert set(states.values()) == {"success"}, f"{states}\n{detail}\nalerts: {[w['json']['text'] for w in webhook]}"

    summary = json.loads(run_json.read_text())
    assert summary["status"] == "succeeded"
    report = xcom(dr, "report_outcome")
    assert report["status"] == "succeeded" and report["pushed_version"] >= 1
    pushed = REPO_ROOT / report["pushed_path"] if not os.path.isabs(report["pushed_path"]) else report["pushed_path"]
    assert str(pushed).startswith(str(e2e_dir / "models")), pushed
    assert (pushed / "manifest.json").is_file(), sorted(p.name for p in pushed.iterdir())
    assert report["metrics"], "key metrics are reported"
    assert webhook == []
