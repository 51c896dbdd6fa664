"""One small storage interface over local paths, ``s3://``, ``gs://`` and ``package://``.

This is the layer for user-facing locations: data inputs, push destinations, prediction logs.
Pipeline *artifact* URIs (what a component's ``artifact.uri`` is: ``gs://`` on Kubeflow/Vertex)
go through :mod:`components.common.gfile_io` (``tf.io.gfile``, as TFX itself does) instead.

Why not ``tf.io.gfile`` here: TensorFlow 2.21 has no S3 filesystem, and the Airflow venv must not
import TensorFlow. boto3 and google-cloud-storage are imported lazily, on first use, and honour
their standard endpoint variables (``AWS_ENDPOINT_URL``, ``STORAGE_EMULATOR_HOST``) so the same
code talks to moto_server or gcp-storage-emulator in tests.

``package://<package>/<path>`` names a file shipped inside an installed Python package (the
penguins CSV), so configs never hard-code a site-packages path.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


class StorageError(RuntimeError):
    """A storage operation failed; the message names the URI."""


@dataclass(frozen=True)
class ObjectInfo:
    """What is known about one object without reading it.

    Attributes:
        uri: The object's URI.
        size: Size in bytes.
        version: Changes whenever the content changes: S3 ETag, GCS generation, or the local
            mtime in nanoseconds plus size.
    """

    uri: str
    size: int
    version: str


def split_uri(uri: str) -> tuple[str, str, str]:
    """Splits a URI into (scheme, bucket, key); local paths give ("file", "", path)."""
    for scheme in ("s3", "gs", "package"):
        prefix = f"{scheme}://"
        if uri.startswith(prefix):
            rest = uri[len(prefix):]
            bucket, _, key = rest.partition("/")
            if not bucket:
                raise StorageError(f"{uri}: missing bucket/package name")
            return scheme, bucket, key
    if uri.startswith("file://"):
        return "file", "", uri[len("file://"):]
    if "://" in uri:
        raise StorageError(f"{uri}: unsupported scheme (use a local path, s3://, gs:// or package://)")
    return "file", "", uri


def is_remote(uri: str) -> bool:
    """True for object-store URIs (s3://, gs://)."""
    return uri.startswith(("s3://", "gs://"))


def join(base: str, *parts: str) -> str:
    """Joins URI parts with '/', keeping the scheme intact."""
    out = base.rstrip("/")
    for p in parts:
        out = f"{out}/{p.strip('/')}"
    return out


@functools.lru_cache(maxsize=None)
def _s3():
    import boto3  # lazy: only needed for s3://

    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


@functools.lru_cache(maxsize=None)
def _gcs():
    from google.cloud import storage  # lazy: only needed for gs://

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=os.environ.get("GOOGLE_CLOUD_PROJECT", "emulator"), credentials=AnonymousCredentials()
        )
    return storage.Client()


def reset_clients() -> None:
    """Forgets cached clients (tests change endpoint variables between servers)."""
    _s3.cache_clear()
    _gcs.cache_clear()


def local_path(uri: str) -> Path:
    """Returns the local filesystem path of a local or ``package://`` URI."""
    scheme, bucket, key = split_uri(uri)
    if scheme == "file":
        return Path(key)
    if scheme == "package":
        spec = importlib.util.find_spec(bucket)
        if spec is None or not spec.submodule_search_locations:
            raise StorageError(f"{uri}: Python package {bucket!r} is not installed")
        return Path(list(spec.submodule_search_locations)[0]) / key
    raise StorageError(f"{uri}: not a local URI")


def read_bytes(uri: str) -> bytes:
    """Reads a whole object.

    Raises:
        StorageError: It does not exist or cannot be read; the message names the URI.
    """
    scheme, bucket, key = split_uri(uri)
    try:
        if scheme in ("file", "package"):
            return local_path(uri).read_bytes()
        if scheme == "s3":
            return _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        blob = _gcs().bucket(bucket).blob(key)
        return blob.download_as_bytes()
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise StorageError(f"{uri}: no such file") from exc
    except Exception as exc:  # boto/gcs raise many types; all mean "could not read"
        raise StorageError(f"{uri}: cannot read: {_short(exc)}") from exc


def write_bytes(uri: str, data: bytes) -> None:
    """Writes a whole object (local writes go through a temp file and an atomic rename)."""
    scheme, bucket, key = split_uri(uri)
    try:
        if scheme == "file":
            path = Path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        elif scheme == "s3":
            _s3().put_object(Bucket=bucket, Key=key, Body=data)
        elif scheme == "gs":
            _gcs().bucket(bucket).blob(key).upload_from_string(data)
        else:
            raise StorageError(f"{uri}: package:// URIs are read-only")
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"{uri}: cannot write: {_short(exc)}") from exc


def create_exclusive(uri: str, data: bytes) -> bool:
    """Creates an object only if it does not exist yet; returns False if it already did.

    Used to claim a push version: two pushers racing for the same number cannot both win.
    """
    scheme, bucket, key = split_uri(uri)
    try:
        if scheme == "file":
            path = Path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return True
        if scheme == "s3":
            from botocore.exceptions import ClientError

            try:
                _s3().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                    return False
                raise
            return True
        if scheme == "gs":
            from google.api_core.exceptions import PreconditionFailed

            blob = _gcs().bucket(bucket).blob(key)
            if blob.exists():  # cheap early answer; the precondition below settles races
                return False
            try:
                blob.upload_from_string(data, if_generation_match=0)
            except PreconditionFailed:
                return False
            return True
        raise StorageError(f"{uri}: package:// URIs are read-only")
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"{uri}: cannot create: {_short(exc)}") from exc


def exists(uri: str) -> bool:
    """True if the object (or local directory) exists."""
    try:
        stat(uri)
        return True
    except StorageError:
        scheme, _, _ = split_uri(uri)
        return scheme in ("file", "package") and local_path(uri).is_dir()


def is_folder(uri: str) -> bool:
    """True for a local directory or an ``s3://`` / ``gs://`` prefix ending in ``/``."""
    if is_remote(uri):
        return uri.endswith("/")
    return local_path(uri).is_dir()


def stat(uri: str) -> ObjectInfo:
    """Size and content version of one object, or of a folder (see :func:`is_folder`).

    A folder's size is its files' total and its version a hash of their names and versions,
    so it changes when any file under it is added, removed or rewritten (a Spark table that is
    written again gets a new version even with the same rows).

    Raises:
        StorageError: The object does not exist, or the folder holds no files.
    """
    scheme, bucket, key = split_uri(uri)
    if is_folder(uri):
        return _folder_stat(uri)
    try:
        if scheme in ("file", "package"):
            st = local_path(uri).stat()
            if not local_path(uri).is_file():
                raise StorageError(f"{uri}: not a file")
            if scheme == "package":
                # Package data is read-only and small; its mtime is the install time, which
                # changes with every image build and would re-run an unchanged pipeline.
                return ObjectInfo(uri, st.st_size, "sha256:" + hashlib.sha256(local_path(uri).read_bytes()).hexdigest())
            return ObjectInfo(uri, st.st_size, f"{st.st_mtime_ns}-{st.st_size}")
        if scheme == "s3":
            head = _s3().head_object(Bucket=bucket, Key=key)
            return ObjectInfo(uri, int(head["ContentLength"]), head["ETag"].strip('"'))
        blob = _gcs().bucket(bucket).get_blob(key)
        if blob is None:
            raise StorageError(f"{uri}: no such object")
        return ObjectInfo(uri, int(blob.size), str(blob.generation))
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise StorageError(f"{uri}: no such file") from exc
    except Exception as exc:
        raise StorageError(f"{uri}: cannot stat: {_short(exc)}") from exc


def _folder_stat(uri: str) -> ObjectInfo:
    files = list_uris(uri)
    if not files:
        raise StorageError(f"{uri}: no files under this folder")
    base = uri.rstrip("/") + "/"
    infos = [stat(f) for f in files]
    listing = "\n".join(f"{i.uri[len(base):]} {i.version}" for i in infos)
    return ObjectInfo(uri, sum(i.size for i in infos), "folder-" + hashlib.sha256(listing.encode()).hexdigest()[:32])


def list_uris(prefix: str) -> list[str]:
    """Lists object URIs under a prefix (recursively), sorted."""
    scheme, bucket, key = split_uri(prefix)
    try:
        if scheme in ("file", "package"):
            root = local_path(prefix)
            if root.is_file():
                return [prefix]
            if not root.is_dir():
                return []
            base = prefix.rstrip("/")
            return sorted(f"{base}/{p.relative_to(root).as_posix()}" for p in root.rglob("*") if p.is_file())
        if scheme == "s3":
            out = []
            for page in _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                out.extend(f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", []))
            return sorted(out)
        return sorted(f"gs://{bucket}/{b.name}" for b in _gcs().list_blobs(bucket, prefix=key))
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"{prefix}: cannot list: {_short(exc)}") from exc


def delete_prefix(prefix: str) -> None:
    """Deletes every object under a prefix (a local directory tree)."""
    scheme, bucket, key = split_uri(prefix)
    if scheme == "file":
        shutil.rmtree(key, ignore_errors=True)
        return
    for uri in list_uris(prefix):
        _, b, k = split_uri(uri)
        if scheme == "s3":
            _s3().delete_object(Bucket=b, Key=k)
        else:
            _gcs().bucket(b).blob(k).delete()


def upload_dir(local_dir: str | Path, dest: str) -> list[str]:
    """Copies a local directory tree to ``dest`` (any scheme); returns the written URIs."""
    local_dir = Path(local_dir)
    written = []
    for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(local_dir).as_posix()
        target = join(dest, rel)
        if split_uri(dest)[0] == "file":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        else:
            write_bytes(target, path.read_bytes())
        written.append(target)
    return written


def download_dir(prefix: str, local_dir: str | Path) -> Path:
    """Copies every object under ``prefix`` into ``local_dir`` keeping relative paths."""
    local_dir = Path(local_dir)
    base = prefix.rstrip("/") + "/"
    for uri in list_uris(prefix):
        rel = uri[len(base):] if uri.startswith(base) else Path(uri).name
        target = local_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read_bytes(uri))
    return local_dir


def fingerprint(uri: str) -> str:
    """A SHA-256 of the object's content (used for cache keys and push manifests)."""
    return hashlib.sha256(read_bytes(uri)).hexdigest()


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
