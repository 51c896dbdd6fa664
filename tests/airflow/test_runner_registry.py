"""The runners behind one interface: every config ``runner`` value has exactly one runner, and the
KFP / Vertex AI client process answers a request it cannot serve with an error event and its
documented exit code (run as the kubeflow and vertex runners start it, in the clients' venv)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import DAGS_DIR


def test_every_config_runner_name_has_exactly_one_runner():
    from mlops_airflow.runners import RUNNERS, RunnerError, get_runner
    from pipelines.config import RUNNERS as CONFIG_RUNNERS

    assert sorted(RUNNERS) == sorted(CONFIG_RUNNERS)
    for name, runner in RUNNERS.items():
        assert runner.name == name and callable(runner.run)
    with pytest.raises(RunnerError, match="unknown runner 'airflow'; use one of local, kubeflow, vertex, dry-run"):
        get_runner("airflow")


def test_dry_run_submits_nothing_and_reports_skipped(pipeline_config, good_csv):
    from mlops_airflow.runners import get_runner
    from mlops_airflow.runners.interface import RunRequest

    plan = {"config": pipeline_config, "run_id": "manual__1", "data_uri": str(good_csv), "dataset": "penguins"}
    outcome = get_runner("dry-run").run(RunRequest.from_plan(plan))
    assert (outcome.runner, outcome.status) == ("dry-run", "skipped")


def test_client_process_reports_an_unknown_runner_as_an_error_event(clients_python):
    from mlops_airflow.runners.remote import CLIENT_MODULE, EVENT_PREFIX, ClientExit

    res = subprocess.run(
        [clients_python, "-m", CLIENT_MODULE],
        input=json.dumps({"runner": "local"}),  # a runner without a client side
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(DAGS_DIR)},
        timeout=120,
    )
    events = [json.loads(line[len(EVENT_PREFIX) :]) for line in res.stdout.splitlines() if line.startswith(EVENT_PREFIX)]
    assert events == [{"event": "error", "message": "remote_client: unknown runner 'local'"}], res.stdout + res.stderr
    assert res.returncode == ClientExit.ERROR == 2
    assert "RuntimeWarning" not in res.stderr  # the module is run, never imported first
