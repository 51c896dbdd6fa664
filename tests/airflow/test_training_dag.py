"""training_pipeline through dag.test(): validation gate, alerts, local runner contract.

The local runner's `docker` is a stand-in here (tests/airflow/support.py FAKE_DOCKER) that
records its argv and plays `mlops run` outcomes; the real image runs in test_e2e_local_runner.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import REPO_ROOT
from support import run_dag, xcom

DAG_ID = "training_pipeline"


def _texts(received) -> list[str]:
    return [r["json"]["text"] for r in received]


def test_corrupted_data_alerts_and_submits_nothing(dagbag, pipeline_config, corrupt_csv, webhook, smtp_sink, fake_docker):
    dr, states = run_dag(
        dagbag.dags[DAG_ID], {"config": pipeline_config, "data_uri": str(corrupt_csv), "runner": "local"}
    )

    assert states["validate_data"] == "failed"
    assert states["submit_pipeline"] == "upstream_failed"
    assert states["report_outcome"] == "upstream_failed"
    assert fake_docker() == [], "no pipeline may be submitted for bad data"

    # Webhook: exactly one alert, naming the failing columns and the offending values.
    assert len(webhook) == 1, _texts(webhook)
    text = webhook[0]["json"]["text"]
    assert "Data validation failed for penguins" in text
    assert "`bill_length_mm`" in text and "'forty-two'" in text
    assert "`island`" in text and "'Atlantis'" in text
    assert str(corrupt_csv) in text
    assert "Data Docs: file://" in text
    docs = text.split("Data Docs: file://", 1)[1].split()[0]
    assert Path(docs).is_file(), "the Data Docs linked from the alert exist"
    # E-mail: the same message, through the other channel.
    assert len(smtp_sink) == 1
    assert "Atlantis" in smtp_sink[0]["message"].get_body(preferencelist=("html",)).get_content()


def test_good_data_dry_run_validates_and_submits_nothing(dagbag, pipeline_config, good_csv, webhook, fake_docker):
    dr, states = run_dag(dagbag.dags[DAG_ID], {"config": pipeline_config, "data_uri": str(good_csv), "runner": "dry-run"})
    assert set(states.values()) == {"success"}, states
    assert webhook == [] and fake_docker() == []
    validation = xcom(dr, "validate_data")
    assert validation["success"] is True and validation["rows"] > 300
    assert xcom(dr, "report_outcome")["status"] == "skipped"


def test_local_runner_contract_report_and_skip_unchanged(dagbag, pipeline_config, good_csv, webhook, fake_docker, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_MODE", "succeeded")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    conf = {"config": pipeline_config, "data_uri": str(good_csv), "runner": "local"}
    dr, states = run_dag(dagbag.dags[DAG_ID], conf)
    assert set(states.values()) == {"success"}, states

    rm, argv = fake_docker()
    assert rm[:2] == ["rm", "-f"]  # a container a crashed earlier try left under this name goes first
    plan = xcom(dr, "resolve_run")
    # The host contract of the project image.
    assert argv[:11] == ["run", "--rm", "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}",
                         "-v", f"{REPO_ROOT}:/src", "-w", "/src", "-e"]
    assert argv[11] == "HOME=/tmp"
    assert ["-e", "AWS_ENDPOINT_URL"] == argv[argv.index("AWS_ENDPOINT_URL") - 1 : argv.index("AWS_ENDPOINT_URL") + 1]
    assert f"{good_csv.parent}:{good_csv.parent}:ro" in argv  # data outside the repo is mounted read-only
    tail = argv[argv.index("mlops-pipelines:latest") :]
    assert tail == [
        "mlops-pipelines:latest", "mlops", "run", "--config", plan["config"],
        "--output-dir", plan["output_dir"], "--data-uri", str(good_csv),
    ]  # fmt: skip

    report = xcom(dr, "report_outcome")
    assert report["status"] == "succeeded"
    assert report["pushed_version"] == 3
    assert report["metrics"]["sparse_categorical_accuracy"] == 0.97
    assert report["links"]["report: evaluation"].startswith("file://")
    assert webhook == []

    # Same data again with only_if_new_data: detected as unchanged, nothing runs.
    dr2, states2 = run_dag(dagbag.dags[DAG_ID], {**conf, "only_if_new_data": True})
    assert states2["detect_new_data"] == "success"
    assert {states2[t] for t in ("validate_data", "submit_pipeline", "report_outcome")} == {"skipped"}
    assert [c[0] for c in fake_docker()] == ["rm", "run"]  # still only the first run's calls


def test_local_runner_gate_failure_alerts_with_pipeline_reason(dagbag, pipeline_config, good_csv, webhook, fake_docker, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_MODE", "gate_failed")
    dr, states = run_dag(dagbag.dags[DAG_ID], {"config": pipeline_config, "data_uri": str(good_csv), "runner": "local"})
    assert states["submit_pipeline"] == "failed" and states["report_outcome"] == "upstream_failed"
    assert len(webhook) == 1
    text = webhook[0]["json"]["text"]
    assert "stopped by its data gate" in text
    assert "`flipper_length_mm`" in text and "9999.0" in text and "[tfdv]" in text
    # The reason is the CLI's last stderr paragraph, not the noise before it.
    assert "is out of range\n(e.g. 9999.0). Nothing was trained or pushed." in text
    assert "Traceback noise" not in text


def test_local_runner_crash_alerts(dagbag, pipeline_config, good_csv, webhook, fake_docker, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_MODE", "crash")
    dr, states = run_dag(dagbag.dags[DAG_ID], {"config": pipeline_config, "data_uri": str(good_csv), "runner": "local"})
    assert states["submit_pipeline"] == "failed"
    (msg,) = webhook
    assert "Pipeline run for penguins failed" in msg["json"]["text"] and "something broke" in msg["json"]["text"]
    assert json.dumps(msg["json"]).count("Exit code") == 2  # text + fields block


def test_config_default_data_uri_is_not_passed(tmp_path):
    """With no override the container reads the config's own data.uri (no --data-uri)."""
    from mlops_airflow.runners.local import docker_command

    cmd = docker_command(image="img", config_rel="pipelines/configs/penguins.yaml", output_rel="runs/x", environ={})
    assert "--data-uri" not in cmd and "-e" in cmd and cmd[-6:] == ["mlops", "run", "--config", "pipelines/configs/penguins.yaml", "--output-dir", "runs/x"]


def test_files_outside_the_repo_are_mounted_read_only(tmp_path):
    from mlops_airflow.runners.local import docker_command

    cfg = tmp_path / "cfg" / "penguins.yaml"
    data = tmp_path / "data" / "penguins.csv"
    cmd = docker_command(image="img", config_rel=str(cfg), output_rel="runs/x", data_uri=str(data), environ={})
    assert f"{cfg.parent}:{cfg.parent}:ro" in cmd and f"{data.parent}:{data.parent}:ro" in cmd
    inside = docker_command(
        image="img", config_rel="pipelines/configs/penguins.yaml", output_rel="runs/x",
        data_uri="s3://bucket/penguins.csv", environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
    )  # fmt: skip
    assert sum(a.endswith(":ro") for a in inside) == 0
    assert inside[inside.index("AWS_ENDPOINT_URL") - 1] == "-e" and "http://127.0.0.1:9000" not in inside
