"""moto_server (S3) and gcp-storage-emulator (GCS) on 127.0.0.1: one place that starts them.

``tests/conftest.py`` starts both once per session (``object_store_servers``) and points the
storage clients at them for a module (``object_stores``); tests create the buckets they use
with :func:`bucket`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    """Waits until something answers HTTP at ``url`` (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # the server answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def servers() -> Iterator[dict[str, str]]:
    """Starts both emulators; yields the environment that points clients at them."""
    missing = [exe for exe in ("moto_server", "gcp-storage-emulator") if not shutil.which(exe)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed: they are in the project image's lock file")
    s3_port, gcs_port = free_port(), free_port()
    procs = [
        subprocess.Popen([shutil.which("moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([shutil.which("gcp-storage-emulator"), "start", "-H", "127.0.0.1", "--port", str(gcs_port),
                          "--in-memory"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{gcs_port}",
        "GOOGLE_CLOUD_PROJECT": "test-project",
    }
    try:
        wait_http(env["AWS_ENDPOINT_URL"])
        wait_http(env["STORAGE_EMULATOR_HOST"])
        yield env
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Sets ``env`` for the storage clients (``components.common.storage``), then restores."""
    from components.common import storage

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    storage.reset_clients()
    try:
        yield env
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        storage.reset_clients()


def bucket(uri: str) -> str:
    """Creates the bucket of an ``s3://`` or ``gs://`` URI if it does not exist; returns the URI."""
    from components.common import storage

    scheme, name, _ = storage.split_uri(uri)
    if scheme == "s3":
        client = storage._s3()  # noqa: SLF001 - the project's configured client
        if name not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=name)
    elif scheme == "gs":
        client = storage._gcs()  # noqa: SLF001
        if client.lookup_bucket(name) is None:
            client.create_bucket(name)
    else:
        raise ValueError(f"not an object store URI: {uri}")
    return uri
