"""Serving latency: `mlops serve` over HTTP vs calling the same SavedModel in-process.

For each concurrency level (default 1 and 16 clients) and the same single-instance requests
(penguin rows, cycled), it measures p50/p99 latency and throughput of
  * in-process: the SavedModel's ``serving_default`` signature called directly from N threads;
  * http: POST /v1/models/<name>:predict against ``mlops serve`` running as its own process on
    127.0.0.1 (the way it is deployed), from N client threads with keep-alive connections;
and prints both plus the ratio http / in-process: the price of HTTP, JSON, validation, metrics
and the event loop.

A pushed model is needed: ``--models <push destination>`` (with ``<model>/<version>/``), or by
default one is trained once into ``--workdir`` (penguins, 10 epochs, extras off) with
``pipelines.local.run.run_local`` and reused on later runs.

Usage (in the project image; `make bench` runs the defaults):
    python -m benchmarks.serving_latency [--models runs/models] [--requests 2000] [--concurrency 1,16]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island", "sex"]


def ensure_model(models: str | None, name: str, workdir: Path) -> tuple[str, int]:
    """A push destination holding ``name``: the given one, or one trained into ``workdir``."""
    from components.versioned_pusher import logic as push_logic

    if models:
        found = push_logic.latest(models, name)
        if found is None:
            sys.exit(f"no complete version of {name!r} under {models}; push one or leave --models out to train one")
        return models, found[0]
    dest = str(workdir / "models")
    found = push_logic.latest(dest, name)
    if found:
        return dest, found[0]
    from pipelines.config import load_config
    from pipelines.local.run import run_local

    from tests.configs import extras_off, penguins_raw, write_config

    raw = extras_off(penguins_raw())
    raw["model"]["epochs"] = 10
    raw["push"] = {**raw["push"], "destination": dest, "model_name": name}
    workdir.mkdir(parents=True, exist_ok=True)
    cfg_path = write_config(workdir, raw, "bench-config.yaml")
    print(f"[bench] no model under {dest}: training one (about 2 minutes)", file=sys.stderr, flush=True)
    summary = run_local(load_config(cfg_path), str(workdir / "run"))
    if summary.status != "succeeded":
        sys.exit(f"training failed: {summary.reason}")
    return dest, push_logic.latest(dest, name)[0]


def penguin_instances() -> list[dict]:
    import pandas as pd

    from components.common import storage

    df = pd.read_csv(storage.local_path("package://palmerpenguins/data/penguins.csv")).dropna(subset=FEATURES)
    return [
        {**{c: float(r[c]) for c in FEATURES[:4]}, "island": str(r["island"]), "sex": str(r["sex"])}
        for _, r in df.iterrows()
    ]


def run_load(call, n: int, concurrency: int, warmup: int = 50) -> dict[str, float]:
    """Runs ``call(i)`` n times from ``concurrency`` threads; latency percentiles and throughput."""
    for i in range(warmup):
        call(i)
    latencies = np.zeros(n)
    counter = iter(range(n))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            call(i)
            latencies[i] = time.perf_counter() - t0

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    wall = time.perf_counter() - start
    return {
        "requests": n,
        "concurrency": concurrency,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
        "throughput_rps": n / wall,
        "seconds": wall,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(models: str, name: str, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--models", models, "--model", name,
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"mlops serve exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("mlops serve did not become ready within 180 s")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help="push destination holding <model>/<version>/ (default: train one into --workdir)")
    p.add_argument("--model", default="penguins")
    p.add_argument("--workdir", default=str(REPO / "runs" / "bench-serving"), help="where a trained model is kept")
    p.add_argument("--requests", type=int, default=2000, help="requests per mode and concurrency level")
    p.add_argument("--concurrency", default="1,16", help="comma-separated client counts")
    p.add_argument("--json", help="also write the results as JSON here")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]

    models, version = ensure_model(args.models, args.model, Path(args.workdir))
    instances = penguin_instances()
    bodies = [json.dumps({"instances": [inst]}).encode() for inst in instances]

    import httpx
    import tensorflow as tf

    from components.versioned_pusher import logic as push_logic

    saved_model = os.path.join(push_logic.model_root(models, args.model), str(version), "saved_model")
    loaded = tf.saved_model.load(saved_model)
    fn = loaded.signatures["serving_default"]
    specs = fn.structured_input_signature[1]

    def in_process(i):
        inst = instances[i % len(instances)]
        out = fn(**{k: tf.constant([inst[k]], dtype=s.dtype) for k, s in specs.items()})
        return out["predicted_class"].numpy()

    port = _free_port()
    proc = start_server(models, args.model, port)
    local = threading.local()
    url = f"http://127.0.0.1:{port}/v1/models/{args.model}:predict"

    def over_http(i):
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        r = client.post(url, content=bodies[i % len(bodies)], headers={"content-type": "application/json"})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        return r

    def server_side() -> tuple[float, float]:
        """(sum, count) of the server's own predict latency histogram."""
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        total = count = 0.0
        for line in text.splitlines():
            if line.startswith("mlops_serving_request_latency_seconds_sum") and 'endpoint="predict"' in line:
                total = float(line.rsplit(" ", 1)[1])
            if line.startswith("mlops_serving_request_latency_seconds_count") and 'endpoint="predict"' in line:
                count = float(line.rsplit(" ", 1)[1])
        return total, count

    rows = []
    try:
        for c in levels:
            rows.append({"mode": "in-process", **run_load(in_process, args.requests, c)})
            s0, n0 = server_side()
            row = {"mode": "http", **run_load(over_http, args.requests, c)}
            s1, n1 = server_side()
            # time inside the server (ASGI app: validation, model, JSON), without the HTTP client
            # and uvicorn's parsing; includes the warm-up requests.
            row["server_mean_ms"] = (s1 - s0) / max(n1 - n0, 1) * 1000
            rows.append(row)
    finally:
        proc.terminate()
        proc.wait(30)

    env = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "machine": platform.machine(),
        "model": f"{models}/{args.model}/{version}",
    }
    print(f"\nServing latency ({env['model']}; {env['cpus']} CPUs, TF {env['tensorflow']}; "
          f"{args.requests} single-instance requests per row)\n")
    print("| mode | clients | p50 ms | p99 ms | req/s | mean ms inside the server app |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        inside = f"{r['server_mean_ms']:.2f}" if "server_mean_ms" in r else "-"
        print(f"| {r['mode']} | {r['concurrency']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['throughput_rps']:.0f} | {inside} |")
    print("\n| clients | p50 http/in-process | p99 http/in-process | throughput http/in-process |\n|---:|---:|---:|---:|")
    ratios = []
    for c in levels:
        a = next(r for r in rows if r["mode"] == "in-process" and r["concurrency"] == c)
        b = next(r for r in rows if r["mode"] == "http" and r["concurrency"] == c)
        ratio = {"concurrency": c, "p50": b["p50_ms"] / a["p50_ms"], "p99": b["p99_ms"] / a["p99_ms"],
                 "throughput": b["throughput_rps"] / a["throughput_rps"]}
        ratios.append(ratio)
        print(f"| {c} | {ratio['p50']:.2f}x | {ratio['p99']:.2f}x | {ratio['throughput']:.2f}x |")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "rows": rows, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
