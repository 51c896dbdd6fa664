"""A real ``mlflow server`` on 127.0.0.1 for tests (the one the project image installs).

Its store is a SQLite file and its artifacts a folder under the given root, as a team server
would keep them in a database and a bucket; clients reach it over HTTP only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator


def wait_healthy(url: str, timeout: float, stopped: Callable[[], str | None]) -> None:
    """Waits until ``url/health`` answers 200; fails with ``stopped()``'s message if the server
    process ended, or after ``timeout`` seconds. (Standard library only: the host-side browser
    test uses it too.)"""
    deadline = time.monotonic() + timeout
    while True:
        why = stopped()
        assert why is None, f"mlflow server stopped: {why}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"mlflow server at {url} did not answer in {timeout} s"
        time.sleep(1)


@contextlib.contextmanager
def running(root: Path, port: int | None = None, timeout: float = 240) -> Iterator[str]:
    """Starts ``mlflow server`` over ``root/mlflow.db`` and ``root/artifacts``; yields its URL and
    stops it (its whole process group) afterwards."""
    from tests.object_stores import free_port

    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    log_path = root / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--artifacts-destination", str(root / "artifacts"),
             "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout, lambda: None if proc.poll() is None else log_path.read_text()[-3000:])
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def closed_port_url() -> str:
    """The URL of a port nothing listens on: a tracking server that is down."""
    from tests.object_stores import free_port

    return f"http://127.0.0.1:{free_port()}"
