"""Predictions to Kafka (issue 25): the server's asynchronous sink on a real broker (Tansu).

The broker outage is a pause (SIGSTOP for 10 s, then SIGCONT): the local broker keeps topics in
memory only, so a restart would lose what it holds (tests/kafka_broker.py).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from monitoring import events
from serving.kafka_sink import KafkaPredictionSink
from serving.prediction_log import PredictionLogger
from tests.kafka_broker import running_broker
from tests.serving.helpers import metric, metric_samples, serve_process, wait_for

TOPIC = "mlops.predictions"
INSTANCE = {"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0, "body_mass_g": 3750.0,
            "island": "Torgersen", "sex": "male"}


def _spilled_records(log_dir: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(log_dir.rglob("*.jsonl")) for line in f.read_text().splitlines()]


def test_sink_delivers_each_prediction_once_as_a_valid_event(tmp_path):
    with running_broker(tmp_path, [TOPIC]) as broker:
        sink = KafkaPredictionSink({"bootstrap.servers": broker.bootstrap}, TOPIC).start()
        for i in range(300):
            sink.publish("penguins", 1, [INSTANCE, INSTANCE], [{"predicted_class": "Adelie"}] * 2, f"r{i}", 3.5)
        sink.close()
        assert (sink.delivered, sink.spilled, sink.dropped) == (600, 0, 0)
        msgs = broker.read_all(TOPIC)
    parsed = [events.parse(m.value(), events.PREDICTION) for m in msgs]
    assert sorted(events.join_key(e) for e in parsed) == sorted((f"r{i}", k) for i in range(300) for k in (0, 1))
    assert {m.key() for m in msgs} == {f"r{i}".encode() for i in range(300)}  # keyed by request id
    assert parsed[0]["inputs"] == INSTANCE and parsed[0]["latency_ms"] == 3.5


def test_sink_without_a_broker_spills_to_the_file_log_and_counts(tmp_path):
    log = PredictionLogger(str(tmp_path / "logs"), "penguins", flush_seconds=0.1).start()
    # nothing listens on port 9: every record times out quickly and spills
    sink = KafkaPredictionSink({"bootstrap.servers": "127.0.0.1:9"}, TOPIC, spill=log, delivery_timeout_s=1.0).start()
    sink.publish("penguins", 1, [INSTANCE] * 5, [{"predicted_class": "Adelie"}] * 5, "r1", 1.0)
    sink.close(timeout=10)
    log.close()
    assert (sink.delivered, sink.spilled, sink.dropped) == (0, 5, 0)
    spilled = _spilled_records(tmp_path / "logs")
    assert [(r["request_id"], r["instance"]) for r in spilled] == [("r1", i) for i in range(5)]


@pytest.mark.parametrize("max_queue", [20_000, 200], ids=["queue-holds-the-outage", "small-queue-spills"])
def test_broker_paused_10s_under_16_clients(pushed_model, tmp_path, max_queue):
    """0 failed requests; every prediction delivered once the broker is back, or spilled:
    delivered + spilled = sent, and the topic holds each delivered one exactly once."""
    log_dir = tmp_path / "spill"
    with running_broker(tmp_path, [TOPIC]) as broker:
        with serve_process("--models", str(pushed_model["destination"]), "--model", "penguins", "--kafka",
                           "--bootstrap-servers", broker.bootstrap, "--log-dir", str(log_dir),
                           "--log-flush-seconds", "0.5", "--kafka-max-queue", str(max_queue),
                           "--log-level", "warning") as srv:
            stop = threading.Event()
            outcomes = collections.Counter()
            sent_ids: list[str] = []
            lock = threading.Lock()

            def client(n: int) -> None:
                with httpx.Client(timeout=30) as http:
                    i = 0
                    while not stop.is_set():
                        rid = f"c{n}-{i}"
                        r = http.post(f"{srv.url}/v1/models/penguins:predict", json={"instances": [INSTANCE]},
                                      headers={"X-Request-Id": rid})
                        with lock:
                            outcomes[r.status_code] += 1
                            if r.status_code == 200:
                                sent_ids.append(rid)
                        i += 1

            threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
            for t in threads:
                t.start()
            time.sleep(2)
            broker.pause()
            time.sleep(10)
            broker.resume()
            time.sleep(2)
            stop.set()
            for t in threads:
                t.join(60)

            def settled():
                samples = metric_samples(httpx.get(f"{srv.url}/metrics").text)
                return samples if metric(samples, "mlops_serving_kafka_queue") == 0 else None

            samples = wait_for(settled, 120, 0.5, "the Kafka queue to drain")
        delivered = metric(samples, "mlops_serving_kafka_records_total", result="delivered")
        spilled = metric(samples, "mlops_serving_kafka_records_total", result="spilled")
        dropped = metric(samples, "mlops_serving_kafka_records_total", result="dropped")
        msgs = broker.read_all(TOPIC)
    sent = len(sent_ids)
    print(f"max_queue={max_queue}: sent {sent}, delivered {delivered:.0f}, spilled {spilled:.0f}, dropped {dropped:.0f}")
    assert set(outcomes) == {200}, outcomes
    assert sent > 100
    assert dropped == 0
    assert delivered + spilled == sent
    topic_ids = [events.parse(m.value(), events.PREDICTION)["request_id"] for m in msgs]
    assert len(topic_ids) == len(set(topic_ids)) == delivered  # none twice
    spilled_ids = [r["request_id"] for r in _spilled_records(log_dir)]
    assert len(spilled_ids) == spilled
    assert sorted(topic_ids + spilled_ids) == sorted(sent_ids)  # none lost
    if max_queue == 200:
        assert spilled > 0
    else:
        assert spilled == 0
