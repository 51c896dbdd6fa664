"""Streaming monitoring (issue 25): what the Kafka sink costs the server, what the monitor reads.

1. Serving at ``--clients`` (16) concurrent clients, single-instance requests (penguin rows,
   cycled), one ``mlops serve`` process per mode on 127.0.0.1: **no log**, **file log**
   (``--log-dir``), **Kafka** (``--kafka`` to a local broker). p50/p99 latency and throughput;
   the modes run in turn, ``--rounds`` times (order rotated each round), and each mode's figures
   are the median over its rounds. Goal: p99 with Kafka <= 1.1x no log.
2. Monitor throughput: ``--events`` prediction events and as many labels on a fresh broker;
   records/s of a bare confluent-kafka consumer reading both topics to their end (subscribe,
   no processing) vs ``StreamMonitor`` (parse, validate, join, windows of ``--window`` records
   with quality, slices and drift, reports written, result events, commits), both counted from
   their first record to their last record processed / last window written (the group join is
   left out of both). Goal: >= 0.5x.

The broker is Tansu (``tests/kafka_broker.py``), on this machine, memory storage.

Usage (in the project image; a model under --models, or one is trained as serving_latency does):
    python -m benchmarks.streaming [--models .build/issue25/models] [--requests 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.serving_latency import REPO, _free_port, ensure_model, penguin_instances, run_load

TOPICS = ("mlops.predictions", "mlops.ground-truth", "mlops.monitoring-results", "mlops.monitoring-dead-letter")


def _serve(models: str, name: str, extra: list[str]):
    import subprocess

    import httpx

    port = _free_port()
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--models", models, "--model", name, "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", *extra]
    proc = subprocess.Popen(cmd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            sys.exit(f"mlops serve {' '.join(extra)} exited with {proc.returncode}")
        time.sleep(0.2)
    proc.kill()
    sys.exit("mlops serve did not become ready")


def serving(models: str, name: str, bootstrap: str, requests: int, clients: int, rounds: int, work: Path) -> dict:
    import httpx

    bodies = [json.dumps({"instances": [inst]}).encode() for inst in penguin_instances()]
    modes = {"no log": [], "file log": ["--log-dir", str(work / "logs")],
             "kafka": ["--kafka", "--bootstrap-servers", bootstrap]}
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    order = list(modes)
    for r in range(rounds):
        for mode in order[r % 3:] + order[:r % 3]:
            proc, port = _serve(models, name, modes[mode])
            local = threading.local()
            url = f"http://127.0.0.1:{port}/v1/models/{name}:predict"

            def call(i):
                client = getattr(local, "client", None)
                if client is None:
                    client = local.client = httpx.Client(timeout=60)
                resp = client.post(url, content=bodies[i % len(bodies)], headers={"content-type": "application/json"})
                if resp.status_code != 200:
                    raise RuntimeError(f"HTTP {resp.status_code}")

            try:
                runs[mode].append(run_load(call, requests, clients, warmup=100))
            finally:
                proc.terminate()
                proc.wait(60)
    out = {}
    for mode, rows in runs.items():
        out[mode] = {k: statistics.median(row[k] for row in rows) for k in ("p50_ms", "p99_ms", "throughput_rps")}
        out[mode]["rounds"] = [{k: round(row[k], 2) for k in ("p50_ms", "p99_ms", "throughput_rps")} for row in rows]
    return out


def _produce(bootstrap: str, n: int) -> None:
    from confluent_kafka import Producer

    from monitoring import events

    rows = penguin_instances()
    species = ["Adelie", "Chinstrap", "Gentoo"]
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    now = events.now_iso()

    def put(topic, value, key):
        while True:
            try:
                p.produce(topic, value=value, key=key)
                return
            except BufferError:
                p.poll(0.05)

    for i in range(n):
        rid = f"b-{i}"
        put(TOPICS[0], events.dumps(events.prediction(rid, 0, "penguins", 1, now, rows[i % len(rows)],
                                                      {"predicted_class": species[i % 3]}, 5.0)), rid.encode())
        put(TOPICS[1], events.dumps(events.ground_truth(rid, species[(i // 2) % 3], timestamp=now)), rid.encode())
    assert p.flush(120) == 0


def bare_consumer(bootstrap: str, total: int, decode: bool = False, group: str = "bench-bare") -> float:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 6000})
    c.subscribe(list(TOPICS[:2]))
    seen, first = 0, None
    deadline = time.monotonic() + 300
    while seen < total:
        if time.monotonic() > deadline:
            sys.exit(f"the bare consumer read {seen} of {total} records in 300 s")
        for msg in c.consume(1000, 0.5):
            if msg.error():
                continue
            if first is None:
                first = time.monotonic()
            if decode:
                json.loads(msg.value())
            seen += 1
    elapsed = time.monotonic() - first
    c.close()
    return total / elapsed


def _warm_up_plots() -> None:
    """Matplotlib builds its font cache on first use in a fresh HOME (~30 s here): a one-time start
    cost of any process that draws, not part of the monitor's steady throughput."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar([0], [1])
    ax.set_title("warm-up")
    fig.savefig(os.devnull, format="png")
    plt.close(fig)


def monitor_throughput(bootstrap: str, n: int, window: int, work: Path) -> tuple[float, int]:
    from argparse import Namespace

    from monitoring.cli import build_monitor
    from pipelines.config import load_config

    args = Namespace(bootstrap_servers=bootstrap, baseline=None, report_dir=str(work / "reports"), window="count",
                     window_records=window, window_seconds=None, lateness_seconds=3600.0, group_id="bench-monitor",
                     session_timeout_ms=6000, config="pipelines/configs/penguins.yaml")
    monitor = build_monitor(args, load_config(args.config))
    done = {}
    monitor.on_window = lambda event: done.__setitem__("at", time.monotonic())
    windows = monitor.run(max_windows=n // window)
    return 2 * n / (done["at"] - monitor.first_record_at), windows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help="push destination (default: train one, as benchmarks.serving_latency)")
    p.add_argument("--model", default="penguins")
    p.add_argument("--workdir", default=str(REPO / "runs" / "bench-serving"))
    p.add_argument("--requests", type=int, default=3000, help="requests per mode and round")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--events", type=int, default=20_000, help="prediction events (and as many labels) for part 2")
    p.add_argument("--window", type=int, default=5000, help="monitor window (records) for part 2")
    p.add_argument("--skip-serving", action="store_true")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path.insert(0, str(REPO))
    from tests.kafka_broker import running_broker

    results: dict = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_serving:
            models, _ = ensure_model(args.models, args.model, Path(args.workdir))
            with running_broker(work / "broker-serving", TOPICS) as broker:
                results["serving"] = serving(models, args.model, broker.bootstrap, args.requests, args.clients,
                                             args.rounds, work)
            s = results["serving"]
            print(f"\nServing, {args.clients} clients, {args.requests} requests per mode and round, median of "
                  f"{args.rounds} rounds\n\n| mode | p50 ms | p99 ms | req/s |\n|---|---:|---:|---:|")
            for mode, row in s.items():
                print(f"| {mode} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['throughput_rps']:.0f} |")
            base = s["no log"]
            for mode in ("file log", "kafka"):
                print(f"{mode} / no log: p50 {s[mode]['p50_ms'] / base['p50_ms']:.2f}x, p99 "
                      f"{s[mode]['p99_ms'] / base['p99_ms']:.2f}x, throughput {s[mode]['throughput_rps'] / base['throughput_rps']:.2f}x")
        with running_broker(work / "broker-monitor", TOPICS) as broker:
            t0 = time.monotonic()
            _produce(broker.bootstrap, args.events)
            produced = time.monotonic() - t0
            bare = bare_consumer(broker.bootstrap, 2 * args.events)
            decoded = bare_consumer(broker.bootstrap, 2 * args.events, decode=True, group="bench-json")
            _warm_up_plots()
            mon, windows = monitor_throughput(broker.bootstrap, args.events, args.window, work)
        results["monitor"] = {"events": args.events, "records": 2 * args.events, "window": args.window,
                              "windows": windows, "bare_records_per_s": bare, "json_records_per_s": decoded,
                              "monitor_records_per_s": mon,
                              "ratio": mon / bare, "produce_s": produced}
        print(f"\nMonitor: {2 * args.events} records ({args.events} predictions + labels), windows of {args.window}: "
              f"bare consumer {bare:,.0f} records/s, the same + json.loads {decoded:,.0f} records/s, monitor "
              f"{mon:,.0f} records/s, ratio monitor/bare {mon / bare:.3f}x, monitor/json {mon / decoded:.2f}x "
              f"({windows} windows)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
