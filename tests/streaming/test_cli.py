"""``mlops monitor`` / ``mlops label`` / ``mlops serve --kafka``: usage errors are exit 2 with one
paragraph; labels reach the topic as valid ground-truth events; client settings from env."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitoring import events
from monitoring.kafka_settings import KafkaSettingsError, client_config, redacted
from tests.kafka_broker import running_broker
from tests.streaming.helpers import GROUND_TRUTH, REPO, TOPICS

ENV_WITHOUT_KAFKA = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(REPO)}


def _mlops(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env=env or ENV_WITHOUT_KAFKA)


@pytest.mark.parametrize("args", [
    ["monitor", "--stream", "--config", "pipelines/configs/penguins.yaml"],
    ["label", "--config", "pipelines/configs/penguins.yaml", "--request-id", "r1", "--label", "Adelie"],
    ["serve", "--models", "/nonexistent", "--model", "penguins", "--kafka"],
])
def test_no_bootstrap_servers_is_a_usage_error_with_one_paragraph(args):
    res = _mlops(*args)
    assert res.returncode == 2, res.stderr[-2000:]
    last = res.stderr.strip().split("\n\n")[-1]
    assert "MLOPS_KAFKA_BOOTSTRAP_SERVERS" in last and "Traceback" not in res.stderr


def test_label_without_a_label_is_a_usage_error():
    res = _mlops("label", "--bootstrap-servers", "127.0.0.1:9", "--request-id", "r1")
    assert res.returncode == 2 and "give --request-id and --label" in res.stderr


def test_labels_from_a_file_arrive_as_valid_events(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label,instance\nr1,Adelie,0\nr2,Gentoo,1\n")
    with running_broker(tmp_path, TOPICS) as broker:
        res = _mlops("label", "--config", "pipelines/configs/penguins.yaml", "--bootstrap-servers", broker.bootstrap,
                     "--file", str(labels))
        assert res.returncode == 0, res.stderr[-2000:]
        assert res.stdout.strip() == f"sent 2 label(s) to {GROUND_TRUTH}"
        got = [events.parse(m.value(), events.GROUND_TRUTH) for m in broker.read_all(GROUND_TRUTH)]
    assert [(e["request_id"], e["label"], e["instance"]) for e in got] == [("r1", "Adelie", 0), ("r2", "Gentoo", 1)]


def test_client_settings_come_from_the_environment_and_secrets_are_masked():
    env = {"MLOPS_KAFKA_BOOTSTRAP_SERVERS": "b1:9093,b2:9093", "MLOPS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "MLOPS_KAFKA_SASL_MECHANISM": "PLAIN", "MLOPS_KAFKA_SASL_USERNAME": "$ConnectionString",
           "MLOPS_KAFKA_SASL_PASSWORD": "Endpoint=sb://x/;SharedAccessKey=secret",
           "MLOPS_KAFKA_CLIENT_CONFIG": '{"client.id": "mlops"}'}
    conf = client_config("ignored:9092", env, session_timeout_ms=6000)
    assert conf["bootstrap.servers"] == "b1:9093,b2:9093" and conf["security.protocol"] == "SASL_SSL"
    assert conf["client.id"] == "mlops" and conf["session.timeout.ms"] == 6000
    assert redacted(conf)["sasl.password"] == "***"
    with pytest.raises(KafkaSettingsError, match="JSON object"):
        client_config("b:1", {"MLOPS_KAFKA_CLIENT_CONFIG": "[1]"})
