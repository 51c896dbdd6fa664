"""`:explain` latency, and what explain traffic does to `:predict`.

Against `mlops serve` in its own process on 127.0.0.1 (as deployed):
  1. `:explain` alone: one client, single-instance requests, SHAP and LIME (p50/p99);
  2. `:predict` alone: 16 clients, single-instance requests (p50/p99, throughput);
  3. the same `:predict` load while 2 clients send `:explain` (SHAP) back to back;
and prints predict p99 with explain traffic over predict p99 alone (the acceptance bound is 1.2).

The model needs `explanation/background.json` (the pipeline's explain step ships it): `--models`
names a push destination holding one, or one is trained into `--workdir` (penguins, 10 epochs,
explain on, other extras off).

Usage (in the project image):
    python -m benchmarks.explain_latency [--models runs/models] [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.serving_latency import REPO, _free_port, penguin_instances, run_load, start_server


def ensure_explained_model(models: str | None, name: str, workdir: Path) -> str:
    """A push destination whose newest ``name`` version ships an explanation background."""
    from components.versioned_pusher import logic as push_logic

    if models:
        return models
    dest = str(workdir / "models")
    found = push_logic.latest(dest, name)
    if found and (Path(push_logic.model_root(dest, name)) / str(found[0]) / "explanation" / "background.json").is_file():
        return dest
    from pipelines.config import load_config
    from pipelines.local.run import run_local
    from tests.configs import extras_off, penguins_raw, write_config

    raw = extras_off(penguins_raw())
    raw["model"]["epochs"] = 10
    raw["explain"] = {"enabled": True, "sample_size": 10, "background_size": 25, "methods": ["shap"]}
    raw["push"] = {**raw["push"], "destination": dest, "model_name": name}
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"[bench] training a model with explain on into {dest} (about 3 minutes)", file=sys.stderr, flush=True)
    summary = run_local(load_config(write_config(workdir, raw, "bench-config.yaml")), str(workdir / "run"))
    if summary.status != "succeeded":
        sys.exit(f"training failed: {summary.reason}")
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models")
    p.add_argument("--model", default="penguins")
    p.add_argument("--workdir", default=str(REPO / "runs" / "bench-explain"))
    p.add_argument("--requests", type=int, default=2000, help="predict requests per phase")
    p.add_argument("--explain-requests", type=int, default=20, help="explain requests per method, alone")
    p.add_argument("--json", help="also write the results as JSON here")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import httpx

    models = ensure_explained_model(args.models, args.model, Path(args.workdir))
    instances = penguin_instances()
    bodies = [json.dumps({"instances": [inst]}).encode() for inst in instances]
    port = _free_port()
    proc = start_server(models, args.model, port)
    base = f"http://127.0.0.1:{port}/v1/models/{args.model}"
    local = threading.local()

    def post(url: str, body: bytes):
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=120)
        r = client.post(url, content=body, headers={"content-type": "application/json"})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")

    results: dict[str, dict] = {}
    try:
        for method in ("shap", "lime"):
            results[f"explain_{method}_alone"] = run_load(
                lambda i, m=method: post(f"{base}:explain?method={m}", bodies[i % len(bodies)]),
                args.explain_requests, 1, warmup=2)
        predict = lambda i: post(f"{base}:predict", bodies[i % len(bodies)])  # noqa: E731
        results["predict_alone"] = run_load(predict, args.requests, 16)
        stop = threading.Event()
        explain_latencies: list[float] = []

        def explainer(k: int):
            i = k
            while not stop.is_set():
                t0 = time.perf_counter()
                post(f"{base}:explain", bodies[i % len(bodies)])
                explain_latencies.append(time.perf_counter() - t0)
                i += 2

        threads = [threading.Thread(target=explainer, args=(k,), daemon=True) for k in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # both explain clients busy before predict starts
        results["predict_with_2_explain_clients"] = run_load(predict, args.requests, 16)
        stop.set()
        for t in threads:
            t.join(120)
        results["explain_during_predict"] = {"requests": len(explain_latencies),
                                             "p50_ms": float(np.percentile(explain_latencies, 50) * 1000),
                                             "p99_ms": float(np.percentile(explain_latencies, 99) * 1000)}
    finally:
        proc.terminate()
        proc.wait(30)
    ratio = results["predict_with_2_explain_clients"]["p99_ms"] / results["predict_alone"]["p99_ms"]
    print(f"\n:explain / :predict on {os.cpu_count()} CPUs ({models}/{args.model})\n")
    print(f"{'phase':34s} {'requests':>8s} {'p50 ms':>9s} {'p99 ms':>9s} {'req/s':>8s}")
    for phase, row in results.items():
        rps = f"{row['throughput_rps']:8.1f}" if "throughput_rps" in row else f"{'-':>8s}"
        print(f"{phase:34s} {row['requests']:8d} {row['p50_ms']:9.1f} {row['p99_ms']:9.1f} {rps}")
    print(f"\npredict p99 with 2 explain clients / alone: {ratio:.2f}x (bound 1.2x)")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "p99_ratio": ratio, "cpus": os.cpu_count()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
