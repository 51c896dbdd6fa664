"""Shared pieces of the streaming tests: topics, a config with quality thresholds, the monitor as
its own process, events from the penguins data, and the direct computation results are checked
against."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import yaml

from monitoring import events

REPO = Path(__file__).resolve().parents[2]
TOPICS = ("mlops.predictions", "mlops.ground-truth", "mlops.monitoring-results", "mlops.monitoring-dead-letter")
PREDICTIONS, GROUND_TRUTH, RESULTS, DEAD_LETTER = TOPICS
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island", "sex"]
NUMERIC = FEATURES[:4]


def monitoring_config(tmp: Path, **monitoring) -> Path:
    """penguins.yaml with ``monitoring`` keys overridden (e.g. ``min_accuracy=0.9``), written to ``tmp``."""
    cfg = yaml.safe_load((REPO / "pipelines/configs/penguins.yaml").read_text())
    stream = monitoring.pop("stream", {})
    cfg["monitoring"].update(monitoring)
    cfg["monitoring"]["stream"] = {**cfg["monitoring"].get("stream", {}), **stream}
    path = tmp / "penguins-monitoring.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def penguin_rows(shift_g: float = 0.0) -> list[dict]:
    """Complete penguins rows (inputs + species), body mass shifted by ``shift_g`` grams."""
    import palmerpenguins

    df = palmerpenguins.load_penguins().dropna(subset=FEATURES + ["species"])
    return [{**{c: float(r[c]) for c in NUMERIC}, "body_mass_g": float(r["body_mass_g"]) + shift_g,
             "island": str(r["island"]), "sex": str(r["sex"]), "species": str(r["species"])}
            for _, r in df.iterrows()]


def ts(seconds_from_now: float = 0.0) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_from_now)).isoformat()


def produce(bootstrap: str, topic: str, values: list[bytes], keys: list[str] | None = None) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i, v in enumerate(values):
        while True:
            try:
                p.produce(topic, value=v, key=(keys[i].encode() if keys else None))
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(60) == 0


def prediction_event(rid: str, row: dict, predicted: str, latency_ms: float = 3.0) -> bytes:
    inputs = {k: row[k] for k in FEATURES}
    return events.dumps(events.prediction(rid, 0, "penguins", 1, ts(), inputs, {"predicted_class": predicted}, latency_ms))


def label_event(rid: str, value: str) -> bytes:
    return events.dumps(events.ground_truth(rid, value))


@contextlib.contextmanager
def monitor_process(config: Path, bootstrap: str, report_dir: Path, *extra: str) -> Iterator[subprocess.Popen]:
    """``mlops monitor --stream`` as users run it (its own process), stopped with SIGTERM after."""
    cmd = [sys.executable, "-m", "pipelines.cli", "monitor", "--stream", "--config", str(config),
           "--bootstrap-servers", bootstrap, "--report-dir", str(report_dir), "--session-timeout-ms", "6000",
           "--log-level", "warning", *extra]
    log = open(report_dir.parent / f"monitor-{os.getpid()}-{len(list(report_dir.parent.glob('monitor-*')))}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def written_windows(report_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(report_dir.glob("*/window.json"))}


def direct_accuracy(pairs: list[tuple[str, str]]) -> float:
    """Accuracy computed straight from (label, prediction) pairs: what the window must report."""
    return sum(a == b for a, b in pairs) / len(pairs)
