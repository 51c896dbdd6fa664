"""Browser test: the MLflow UI shows a tracked run and its registered version (Chromium).

Where MLflow runs: in the project image (it is in the image's lock; the Airflow venv cannot
hold it beside Airflow's pins), started with ``docker run --network host`` on a free loopback
port, as ``make mlflow`` does. The container first seeds its store through ``pipelines.tracking``
(tests/mlflow_seed.py: a synthetic run and placeholder model, see there why), then runs
``mlflow server``. Playwright drives Debian's /usr/bin/chromium from .venv-airflow, finds the
run and the registered version with its alias, and saves screenshots under test-results/.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from support import RESULTS, chromium_page, free_port
from tests.mlflow_server import wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def mlflow_ui(tmp_path: Path, project_image: str):
    """A seeded ``mlflow server`` in the project image on 127.0.0.1; yields (url, seed info)."""
    port = free_port()
    store = tmp_path / "mlflow"
    store.mkdir()
    name = f"mlops-mlflow-ui-{os.getpid()}-{port}"
    script = (f"python -m tests.mlflow_seed {store} >/dev/null && exec mlflow server --host 127.0.0.1 --port {port} "
              f"--backend-store-uri sqlite:///{store}/mlflow.db --artifacts-destination {store}/artifacts --workers 1")
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}",
         "-v", f"{REPO_ROOT}:/src", "-w", "/src", "-v", f"{tmp_path}:{tmp_path}", "-e", "HOME=/tmp",
         "-e", "MLFLOW_DISABLE_TELEMETRY=true", project_image, "bash", "-c", script],
        check=True, capture_output=True, text=True, timeout=120,
    )
    url = f"http://127.0.0.1:{port}"

    def stopped() -> str | None:
        if subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True).stdout.strip() == "true":
            return None
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        return (logs.stdout + logs.stderr)[-3000:] or "the container is gone"

    try:
        wait_healthy(url, 300, stopped)
        yield url, json.loads((store / "seed.json").read_text())
    finally:
        subprocess.run(["docker", "stop", "-t", "10", name], capture_output=True, timeout=60)


def test_mlflow_ui_shows_the_run_and_the_registered_version(mlflow_ui):
    from playwright.sync_api import expect

    url, seed = mlflow_ui
    with chromium_page("mlflow-browser-failure.png", timeout_ms=60_000) as page:
        # MLflow 3 opens on its GenAI views; the runs are under "Model training". The experiment's
        # run list names the run after the pipeline's run id.
        page.goto(f"{url}/")
        page.get_by_text("Model training", exact=True).first.click()
        page.goto(f"{url}/#/experiments/{seed['experiment_id']}/runs")
        page.get_by_text(seed["run_name"]).first.click()
        page.wait_for_url(lambda u: f"/runs/{seed['run_id']}" in u)
        # The run page: its parameters, metrics and tags as mlops run logged them.
        expect(page.get_by_text("eval.sparse_categorical_accuracy").first).to_be_visible(timeout=90_000)
        expect(page.get_by_text("succeeded").first).to_be_visible(timeout=90_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(RESULTS / "mlflow-run.png"), full_page=True)

        # The registered version and its alias.
        page.goto(f"{url}/#/models/{seed['model']}/versions/{seed['version']}")
        expect(page.get_by_text(f"Version {seed['version']}").first).to_be_visible(timeout=90_000)
        expect(page.get_by_text(seed["alias"]).first).to_be_visible(timeout=90_000)
        expect(page.get_by_text("mlops.push_version").first).to_be_visible(timeout=90_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(RESULTS / "mlflow-model-version.png"), full_page=True)
    assert (RESULTS / "mlflow-run.png").stat().st_size > 10_000
    assert (RESULTS / "mlflow-model-version.png").stat().st_size > 10_000
