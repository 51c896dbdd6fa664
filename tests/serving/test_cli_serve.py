"""``mlops serve`` as a real process: starts, serves, exits 0 on SIGTERM after flushing the log."""

import json

import httpx

from pipelines.cli import main as _mlops_main
from tests.serving.helpers import instances_from_df, serve_process


def test_serve_process_serves_and_flushes_on_sigterm(pushed_model, penguins_df, tmp_path):
    log_dir = tmp_path / "logs"
    with serve_process("--models", str(pushed_model["destination"]), "--model", "penguins", "--log-dir", str(log_dir),
                       "--log-flush-seconds", "3600", "--poll-seconds", "1", "--log-level", "warning") as served:
        url = served.url
        instances = instances_from_df(penguins_df, 5)
        r = httpx.post(f"{url}/v1/models/penguins:predict", json={"instances": instances})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 5
        assert "mlops_serving_requests_total" in httpx.get(f"{url}/metrics").text
        assert not list(log_dir.rglob("*.jsonl")), "flush interval is an hour: nothing written yet"
    # leaving the block sent SIGTERM
    assert served.returncode == 0, served.stderr[-3000:]
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
