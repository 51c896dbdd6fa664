"""The local runner stops its container, not just the `docker run` client, when it gives up.

`docker` is the stand-in of tests/airflow/support.py (FAKE_DOCKER): in ``hang`` mode its
``docker run`` runs until ``docker kill <name>`` kills it, as a container's client would.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest


def _wait_for(path_glob: Path, timeout_s: float = 20.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if list(path_glob.parent.glob(path_glob.name)):
            return True
        time.sleep(0.05)
    return False


def test_timeout_kills_the_named_container(tmp_path, fake_docker, monkeypatch, pipeline_config):
    from mlops_airflow.runners.local import run_local

    monkeypatch.setenv("FAKE_DOCKER_MODE", "hang")
    start = time.monotonic()
    outcome = run_local(
        config_rel=pipeline_config, output_rel="runs/airflow-test/local-timeout", timeout_s=2, container_name="mlops-airflow-t1"
    )
    assert time.monotonic() - start < 30
    calls = fake_docker()
    # A container a previous try left under the same name is removed first, then run by name.
    assert calls[0] == ["rm", "-f", "mlops-airflow-t1"]
    assert calls[1][0] == "run" and calls[1][calls[1].index("--name") + 1] == "mlops-airflow-t1"
    assert ["kill", "mlops-airflow-t1"] in calls
    assert outcome.status == "failed"
    assert outcome.reason == "local runner: timed out after 2 s; container mlops-airflow-t1 was stopped"


def test_a_killed_task_kills_its_container(tmp_path, fake_docker, monkeypatch, pipeline_config):
    """SIGTERM to the task process (Airflow's kill) stops the container, then fails the task."""
    from mlops_airflow.runners.interrupt import TaskKilled
    from mlops_airflow.runners.local import run_local

    monkeypatch.setenv("FAKE_DOCKER_MODE", "hang")
    pids = Path(os.environ["FAKE_DOCKER_LOG"] + ".*.pid")

    def kill_when_started() -> None:
        if _wait_for(pids):
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=kill_when_started, daemon=True).start()
    with pytest.raises(TaskKilled):
        run_local(config_rel=pipeline_config, output_rel="runs/airflow-test/local-killed", timeout_s=120)
    calls = fake_docker()
    run = next(c for c in calls if c[0] == "run")
    name = run[run.index("--name") + 1]
    assert name.startswith("mlops-run-")  # always named, even when the caller gave no name
    assert ["kill", name] in calls and ["rm", "-f", name] in calls
