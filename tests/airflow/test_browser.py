"""Browser test: the local Airflow from infra/scripts/airflow-local.sh, driven with Chromium.

Starts the launcher on a free loopback port with its own AIRFLOW_HOME, logs in through the UI
(Playwright + Debian's /usr/bin/chromium), unpauses ``training_pipeline``, triggers it from the
Trigger form with ``runner=dry-run`` (validates the data with the real GE suite, submits
nothing), waits for the run to succeed, and saves screenshots under test-results/. Every
process it started is stopped at the end (the launcher's whole process group).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from support import RESULTS, chromium_page, free_port

pytestmark = pytest.mark.browser


@pytest.fixture()
def local_airflow(tmp_path: Path, pipeline_config: str):
    """The launcher on a free port; yields (base_url, password). Stops everything afterwards."""
    port = free_port()
    home = tmp_path / "airflow-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        {
            "AIRFLOW_PORT": str(port),
            "MLOPS_AIRFLOW_HOME": str(home),
            "MLOPS_PIPELINE_CONFIG": pipeline_config,
            "MLOPS_AIRFLOW_RUNS_DIR": "runs/airflow-test",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # The scheduled run that unpausing creates also takes the cheap path.
            "AIRFLOW_VAR_MLOPS_RUNNER": "dry-run",
        }
    )
    log = (tmp_path / "airflow-local.log").open("w")
    proc = subprocess.Popen(
        ["bash", str(REPO_ROOT / "infra/scripts/airflow-local.sh")],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stopped as a whole below
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while "AIRFLOW_LOCAL_READY" not in (tmp_path / "airflow-local.log").read_text():
            assert proc.poll() is None, (tmp_path / "airflow-local.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "local Airflow did not start in 180 s"
            time.sleep(1)
        password = json.loads((home / "simple_auth_manager_passwords.json").read_text())["admin"]
        assert password not in (REPO_ROOT / "infra/scripts/airflow-local.sh").read_text()
        _assert_loopback_only(proc.pid, port)
        yield base, password, home
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        log.close()


def _assert_loopback_only(pgid: int, port: int) -> None:
    """Every TCP listener of the launcher's process group is on 127.0.0.1."""
    pids = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    listeners = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                listeners.append(cols[1])
    assert listeners, "no listening socket found for the launcher"
    assert all(addr.startswith("0100007F:") for addr in listeners), listeners  # 127.0.0.1 only
    assert f"0100007F:{port:04X}" in listeners


def _api(base: str, password: str, path: str, attempts: int = 3) -> dict:
    """GET an API path with a fresh token. The api-server, scheduler and a task all share two
    cores here, so one slow answer is retried (twice) before it counts as a failure."""
    for attempt in range(1, attempts + 1):
        try:
            token_req = urllib.request.Request(
                f"{base}/auth/token",
                data=json.dumps({"username": "admin", "password": password}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            token = json.load(urllib.request.urlopen(token_req, timeout=30))["access_token"]
            req = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
            return json.load(urllib.request.urlopen(req, timeout=30))
        except (TimeoutError, ConnectionError) as exc:
            if attempt == attempts:
                raise
            print(f"_api {path}: {exc!r}, retrying ({attempt}/{attempts})")
            time.sleep(2)


def test_trigger_training_pipeline_from_the_ui(local_airflow, good_csv):
    from playwright.sync_api import expect

    base, password, _home = local_airflow

    # The dag-processor needs a moment to parse the DAGs into the DB.
    deadline = time.monotonic() + 120
    while True:
        dags = {d["dag_id"] for d in _api(base, password, "/api/v2/dags")["dags"]}
        if {"training_pipeline", "model_monitoring"} <= dags:
            break
        assert time.monotonic() < deadline, f"DAGs not parsed: {dags}"
        time.sleep(2)
    assert _api(base, password, "/api/v2/importErrors")["total_entries"] == 0

    with chromium_page("airflow-browser-failure.png", timeout_ms=30_000) as page:
        # Log in through the form.
        page.goto(f"{base}/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/auth/login" not in u)

        page.goto(f"{base}/dags/training_pipeline")
        expect(page.get_by_role("button", name="Trigger Dag")).to_be_visible()

        # Unpause with the toggle next to the DAG name.
        page.locator("label:has(input[id^='switch:'])").first.click()
        deadline = time.monotonic() + 20
        while _api(base, password, "/api/v2/dags/training_pipeline")["is_paused"]:
            assert time.monotonic() < deadline, "DAG still paused after clicking its toggle"
            time.sleep(0.5)

        # Trigger form: data_uri and runner=dry-run.
        page.get_by_role("button", name="Trigger Dag").click()
        dialog = page.get_by_role("dialog")
        dialog.locator("#element_data_uri").fill(str(good_csv))
        runner = dialog.locator("input[type=text]").last
        runner.click()
        page.get_by_role("option", name="dry-run", exact=True).click()
        page.screenshot(path=str(RESULTS / "airflow-trigger-form.png"))
        dialog.get_by_role("button", name="Trigger", exact=True).click()

        # Wait for our manual run (unpausing may also have queued a scheduled one).
        deadline = time.monotonic() + 240
        run = None
        while time.monotonic() < deadline:
            runs = _api(base, password, "/api/v2/dags/training_pipeline/dagRuns?run_type=manual")["dag_runs"]
            mine = [r for r in runs if (r.get("conf") or {}).get("data_uri") == str(good_csv)]
            if mine and mine[0]["state"] in ("success", "failed"):
                run = mine[0]
                break
            time.sleep(3)
        assert run is not None, "the triggered run did not finish in 240 s"
        assert run["conf"]["runner"] == "dry-run"
        tis = _api(base, password, f"/api/v2/dags/training_pipeline/dagRuns/{run['dag_run_id']}/taskInstances")
        states = {t["task_id"]: t["state"] for t in tis["task_instances"]}
        assert run["state"] == "success", states

        # The run page shows it; keep a screenshot as evidence.
        page.goto(f"{base}/dags/training_pipeline/runs/{run['dag_run_id']}")
        expect(page.get_by_text("validate_data").first).to_be_visible()
        expect(page.get_by_text("Success").first).to_be_visible()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(RESULTS / "airflow-training-pipeline-run.png"), full_page=True)
    assert (RESULTS / "airflow-training-pipeline-run.png").stat().st_size > 10_000
