"""Helpers shared by the serving tests (HTTP servers on 127.0.0.1, readiness, metrics)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: The request limits of ``limited_server`` (tests/serving/conftest.py), which its OpenAPI document publishes.
MAX_BODY = 64 * 1024
MAX_INSTANCES = 50
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island", "sex"]
NUMERIC = FEATURES[:4]


def instances_from_df(df, n: int | None = None) -> list[dict]:
    """Complete penguin rows as JSON instances (floats for numerics, strings for categoricals)."""
    rows = df.dropna(subset=FEATURES)
    if n is not None:
        rows = rows.head(n)
    return [
        {**{c: float(r[c]) for c in NUMERIC}, "island": str(r["island"]), "sex": str(r["sex"])}
        for _, r in rows.iterrows()
    ]


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_ready(url: str, version: int | None = None, timeout: float = 90.0) -> dict:
    def check():
        try:
            r = httpx.get(f"{url}/readyz", timeout=5)
        except httpx.TransportError:  # not listening yet
            return None
        if r.status_code == 200 and (version is None or r.json()["version"] == version):
            return r.json()
        return None

    return wait_for(check, timeout, 0.1, f"{url}/readyz (version {version})")


class ServeProcess:
    """``mlops serve`` running as its own process: ``url``, ``proc``, ``ready`` (the first ready
    /readyz body); after the ``with`` block, ``returncode`` and ``stderr``."""

    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc, self.url = proc, url
        self.ready: dict = {}
        self.returncode: int | None = None
        self.stderr = ""


@contextlib.contextmanager
def serve_process(*args: str, version: int | None = 1, timeout: float = 120, env: dict | None = None,
                  cwd: str | Path | None = None) -> Iterator[ServeProcess]:
    """Starts ``mlops serve ARGS --port <free port>`` as users do (its own process, 127.0.0.1) and
    waits until it serves ``version``; on leaving, SIGTERM and up to 60 s to exit (then kill).
    """
    from tests.object_stores import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", *args, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    served = ServeProcess(proc, f"http://127.0.0.1:{port}")
    try:
        served.ready = wait_ready(served.url, version, timeout=timeout)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            _, served.stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, served.stderr = proc.communicate()
        served.returncode = proc.returncode


def copy_version(src_destination: Path, dst_destination: Path, name: str = "penguins", version: int = 1) -> Path:
    target = dst_destination / name / str(version)
    shutil.copytree(src_destination / name / str(version), target)
    return target


def metric_samples(text: str) -> dict[tuple[str, tuple], float]:
    """``{(sample name, sorted label items): value}`` from Prometheus text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(samples: dict, name: str, **labels) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for (n, items), value in samples.items():
        if n == name and all(dict(items).get(k) == v for k, v in labels.items()):
            total += value
    return total
