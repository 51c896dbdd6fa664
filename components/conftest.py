"""Component tests share the repo-wide fixtures (penguins data, configs), plus a ``gs://`` pipeline
root on gcp-storage-emulator for the artifact I/O tests (``gs_root``)."""

from __future__ import annotations

import fnmatch
import io
import types
import uuid

import pytest

from tests.conftest import (  # noqa: F401
    object_store_servers, object_stores, penguins_csv, penguins_df, raw_config, trained_pipeline,
)

EMULATOR_BUCKET = "mlops-artifacts"


class EmulatorGfile:
    """The ``tf.io.gfile`` functions that ``components.common.gfile_io`` uses, for ``gs://``,
    over google-cloud-storage (which honours ``STORAGE_EMULATOR_HOST``).

    Why not TF itself: TensorFlow's GCS filesystem has hard-coded endpoints
    (``https://www.googleapis.com/storage/v1/``) and ignores ``STORAGE_EMULATOR_HOST``; pointed
    at the emulator it fails with "Could not resolve host: www.googleapis.com". So the tests swap
    this in with ``gfile_io.set_filesystem("gs", ...)``. It keeps the object-store semantics
    that matter for the components: folders are only key prefixes (``makedirs`` writes a
    ``dir/`` marker object, as TF's GCS filesystem does), ``listdir`` names sub-folders with a
    trailing '/', and a write never needs its folder to exist.
    """

    def __init__(self, client):
        self.client = client

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        assert uri.startswith("gs://"), uri
        bucket, _, key = uri[len("gs://"):].partition("/")
        return bucket, key

    def _names(self, bucket: str, prefix: str) -> list[str]:
        return [b.name for b in self.client.list_blobs(bucket, prefix=prefix)]

    def exists(self, uri: str) -> bool:
        bucket, key = self._split(uri)
        if key.strip("/") and not key.endswith("/") and self.client.bucket(bucket).blob(key).exists():
            return True
        return self.isdir(uri)

    def isdir(self, uri: str) -> bool:
        bucket, key = self._split(uri)
        key = key.strip("/")
        if not key:
            return self.client.bucket(bucket).exists()
        return bool(list(self.client.list_blobs(bucket, prefix=key + "/", max_results=1)))

    def makedirs(self, uri: str) -> None:
        bucket, key = self._split(uri)
        parts = [p for p in key.split("/") if p]
        for i in range(1, len(parts) + 1):
            marker = self.client.bucket(bucket).blob("/".join(parts[:i]) + "/")
            if not marker.exists():
                marker.upload_from_string(b"")

    def listdir(self, uri: str) -> list[str]:
        if not self.isdir(uri):
            raise FileNotFoundError(uri)
        bucket, key = self._split(uri)
        prefix = key.strip("/") + "/" if key.strip("/") else ""
        children = set()
        for name in self._names(bucket, prefix):
            rest = name[len(prefix):]
            if rest:
                head, sep, _ = rest.partition("/")
                children.add(head + "/" if sep else head)
        return sorted(children)

    def walk(self, top: str):
        top = top.rstrip("/")
        if not self.isdir(top):
            return
        entries = self.listdir(top)
        dirs = [e.rstrip("/") for e in entries if e.endswith("/")]
        yield top, dirs, [e for e in entries if not e.endswith("/")]
        for d in dirs:
            yield from self.walk(f"{top}/{d}")

    def glob(self, pattern: str) -> list[str]:
        bucket, key = self._split(pattern)
        first = min([key.find(c) for c in "*?[" if c in key] or [len(key)])
        base = key[:first].rpartition("/")[0]
        candidates = set()
        for name in self._names(bucket, base + "/" if base else ""):
            parts = name.rstrip("/").split("/")
            candidates.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        want = key.rstrip("/").split("/")
        return sorted(
            f"gs://{bucket}/{c}" for c in candidates
            if len(c.split("/")) == len(want) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(c.split("/"), want))
        )

    def stat(self, uri: str):
        bucket, key = self._split(uri)
        blob = self.client.bucket(bucket).get_blob(key)
        if blob is None:
            raise FileNotFoundError(uri)
        return types.SimpleNamespace(length=int(blob.size), is_directory=False)

    def remove(self, uri: str) -> None:
        bucket, key = self._split(uri)
        self.client.bucket(bucket).blob(key).delete()

    def rmtree(self, uri: str) -> None:
        bucket, key = self._split(uri)
        for name in self._names(bucket, key.strip("/") + "/"):
            self.client.bucket(bucket).blob(name).delete()

    def GFile(self, uri: str, mode: str = "r"):  # noqa: N802 - tf.io.gfile's name
        return _EmulatorFile(self, uri, mode)


class _EmulatorFile:
    """A whole-object file: reads download on open, writes upload on close."""

    def __init__(self, fs: EmulatorGfile, uri: str, mode: str):
        from google.api_core.exceptions import NotFound

        self._blob = fs.client.bucket(fs._split(uri)[0]).blob(fs._split(uri)[1])
        self._mode, self._text = mode, "b" not in mode
        if "r" in mode:
            try:
                data = self._blob.download_as_bytes()
            except NotFound as exc:
                raise FileNotFoundError(uri) from exc
            self._buf = io.StringIO(data.decode()) if self._text else io.BytesIO(data)
        else:
            self._buf = io.StringIO() if self._text else io.BytesIO()

    def read(self, n: int = -1):
        return self._buf.read(n)

    def write(self, data) -> None:
        self._buf.write(data)

    def close(self) -> None:
        if "w" in self._mode and self._buf is not None:
            value = self._buf.getvalue()
            self._blob.upload_from_string(value.encode() if self._text else value)
        self._buf = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture(scope="module")
def gcs_emulator(object_stores):
    """The shared gcp-storage-emulator (tests/conftest.py) with the ``mlops-artifacts`` bucket."""
    from tests.object_stores import bucket

    bucket(f"gs://{EMULATOR_BUCKET}")
    return EMULATOR_BUCKET


@pytest.fixture
def gs_root(gcs_emulator, tmp_path, monkeypatch):
    """A fresh ``gs://`` pipeline root for ``gfile_io`` (on the emulator, see EmulatorGfile).

    The test runs in ``tmp_path``: code that treated a ``gs://`` URI as a local path (``os.makedirs``,
    ``open(..., "w")``) would leave a local ``gs:`` folder there, which fails the test.
    """
    from components.common import gfile_io, storage

    monkeypatch.chdir(tmp_path)
    gfile_io.set_filesystem("gs", EmulatorGfile(storage._gcs()))
    try:
        yield f"gs://{gcs_emulator}/{uuid.uuid4().hex[:12]}"
    finally:
        gfile_io.set_filesystem("gs", None)
    assert not (tmp_path / "gs:").exists(), "a gs:// URI was written as a local path"
