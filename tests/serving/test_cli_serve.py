"""``mlops serve`` as a real process: starts, serves, exits 0 on SIGTERM after flushing the log."""

import json
import os
import signal
import socket
import subprocess
import sys

import httpx

from pipelines.cli import main as _mlops_main
from tests.serving.helpers import instances_from_df, wait_ready


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_process_serves_and_flushes_on_sigterm(pushed_model, penguins_df, tmp_path):
    port = _free_port()
    log_dir = tmp_path / "logs"
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--models", str(pushed_model["destination"]),
           "--model", "penguins", "--port", str(port), "--log-dir", str(log_dir),
           "--log-flush-seconds", "3600", "--poll-seconds", "1", "--log-level", "warning"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, 1, timeout=120)
        instances = instances_from_df(penguins_df, 5)
        r = httpx.post(f"{url}/v1/models/penguins:predict", json={"instances": instances})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 5
        assert "mlops_serving_requests_total" in httpx.get(f"{url}/metrics").text
        assert not list(log_dir.rglob("*.jsonl")), "flush interval is an hour: nothing written yet"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    records = [json.loads(line) for p in log_dir.rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert len(records) == 5, "the queued records were not flushed on shutdown"
    assert {r["version"] for r in records} == {1}


def test_serve_usage_errors_exit_2(capsys):
    assert _mlops_main(["serve", "--port", "0"], hard_exit=False) == 2
    assert "--models" in capsys.readouterr().err
    assert _mlops_main(["serve", "--models", "/nowhere", "--model", "penguins", "--poll-seconds", "0"], hard_exit=False) == 2
    assert "--poll-seconds" in capsys.readouterr().err


def test_config_supplies_destination_name_and_drift_monitor(tmp_path):
    """`mlops serve --config C` (the Makefile's form): push.* are the defaults, drift is on."""
    import argparse

    from pipelines.cli import build_parser
    from serving.server import build_app

    args = build_parser().parse_args(["serve", "--config", "pipelines/configs/penguins.yaml"])
    app, source = build_app(args)
    assert (source.destination, source.name) == ("runs/models", "penguins")
    monitor = app.state.drift_monitor
    assert monitor is not None and monitor.settings.window_size == 200 and monitor.label == "species"
    assert len(monitor.baseline) == 344 and monitor.features["island"] == "categorical"
    args = build_parser().parse_args(["serve", "--config", "pipelines/configs/penguins.yaml", "--no-drift",
                                      "--models", str(tmp_path), "--model", "other"])
    app, source = build_app(args)
    assert app.state.drift_monitor is None and (source.destination, source.name) == (str(tmp_path), "other")
    assert isinstance(args, argparse.Namespace)
