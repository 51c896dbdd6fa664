"""Artifact I/O through ``tf.io.gfile``: the layer TFX itself uses for artifact URIs.

On Kubeflow / Vertex the pipeline root is an object store, so the URIs a component receives
are ``gs://...``; locally they are paths. Every custom component reads and writes its artifacts
through these functions, never through ``open()``, ``os.path``, ``shutil`` or ``pathlib``:

* writes create the parent folder first (on Kubeflow an output artifact's folder may not exist
  yet when the executor starts; on GCS ``makedirs`` is harmless);
* ``read_json(uri, default)`` answers ``default`` for a missing file instead of raising;
* ``copy_dir`` / ``copy_dir_to`` / ``download_dir`` move whole folders between any two of local
  disk and ``gs://`` (a component's local temp output to its artifact, an artifact to a local
  ``report_dir``, a SavedModel to a temp dir for code that needs local files).

Which layer for what: artifact URIs go through here (``tf.io.gfile`` reads and writes ``gs://``
but has no ``s3://`` in TF 2.21); user-facing storage (data inputs, push destinations, prediction
logs; local, ``s3://``, ``gs://``) goes through :mod:`components.common.storage` (boto3 /
google-cloud-storage, no TensorFlow), which is also what the Airflow venv can import.

TensorFlow is imported lazily. The filesystem behind a scheme can be swapped with
:func:`set_filesystem` (the tests point ``gs://`` at gcp-storage-emulator that way: TF's own GCS
filesystem has a hard-coded endpoint and cannot talk to an emulator).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

_MISSING = object()
_OVERRIDES: dict[str, Any] = {}
_CHUNK = 4 << 20


def _scheme(uri: str) -> str:
    head, sep, _ = str(uri).partition("://")
    return head if sep else "file"


def set_filesystem(scheme: str, fs: Any | None) -> None:
    """Serves ``<scheme>://`` URIs with ``fs`` (an object with the ``tf.io.gfile`` functions
    used here: GFile, exists, isdir, makedirs, listdir, glob, walk, rmtree, remove); None
    restores ``tf.io.gfile``. For tests."""
    if fs is None:
        _OVERRIDES.pop(scheme, None)
    else:
        _OVERRIDES[scheme] = fs


def _fs(uri: str):
    fs = _OVERRIDES.get(_scheme(uri))
    if fs is not None:
        return fs
    import tensorflow as tf

    return tf.io.gfile


def join(base: str, *parts: str) -> str:
    """Joins with '/', keeping ``gs://`` intact (``os.path.join`` would too on POSIX; this is
    explicit about it)."""
    out = str(base)
    for p in parts:
        out = posixpath.join(out, str(p))
    return out


def exists(uri: str) -> bool:
    return bool(_fs(uri).exists(str(uri)))


def isdir(uri: str) -> bool:
    return bool(_fs(uri).isdir(str(uri)))


def makedirs(uri: str) -> None:
    """Creates a folder and its parents (no error if it exists)."""
    _fs(uri).makedirs(str(uri))


def _make_parent(uri: str) -> None:
    """Creates the folder that will hold ``uri`` (nothing for a bare file name or a bucket root)."""
    parent = posixpath.dirname(str(uri).rstrip("/"))
    if parent and not _is_bucket_root(parent):
        makedirs(parent)


def _is_bucket_root(uri: str) -> bool:
    """``gs://bucket`` (or what ``dirname`` leaves of ``gs://``: ``gs:``, ``gs:/``)."""
    _, sep, rest = uri.partition("://")
    if not sep:
        return uri.rstrip("/").endswith(":")
    return "/" not in rest.strip("/")


def read_bytes(uri: str) -> bytes:
    """The whole file. Raises FileNotFoundError (naming the URI) when it does not exist."""
    if not exists(uri):
        raise FileNotFoundError(f"{uri}: no such file")
    with _fs(uri).GFile(str(uri), "rb") as fh:
        return fh.read()


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


def read_json(uri: str, default: Any = _MISSING) -> Any:
    """Parsed JSON; ``default`` (when given) for a missing file, else FileNotFoundError."""
    if default is not _MISSING and not exists(uri):
        return default
    return json.loads(read_bytes(uri))


def read_lines(uri: str) -> list[str]:
    """Lines without their newline; [] for a missing file (vocabulary files are optional)."""
    if not exists(uri):
        return []
    return read_text(uri).splitlines()


def write_bytes(uri: str, data: bytes) -> str:
    """Writes a whole file, creating its folder first; returns ``uri``."""
    _make_parent(uri)
    with _fs(uri).GFile(str(uri), "wb") as fh:
        fh.write(data)
    return str(uri)


def write_text(uri: str, text: str) -> str:
    return write_bytes(uri, text.encode("utf-8"))


def write_json(uri: str, data: Any, indent: int = 2, **dump_kwargs: Any) -> str:
    return write_text(uri, json.dumps(data, indent=indent, **dump_kwargs))


def glob(pattern: str) -> list[str]:
    """Sorted matches; [] when the folder does not exist."""
    try:
        return sorted(_fs(pattern).glob(str(pattern)))
    except Exception as exc:  # tf.errors.NotFoundError; the emulator filesystem raises OSError
        if _is_not_found(exc):
            return []
        raise


def listdir(uri: str) -> list[str]:
    """Entry names (folders without a trailing '/'), sorted; [] when it does not exist."""
    if not isdir(uri):
        return []
    return sorted({n.rstrip("/") for n in _fs(uri).listdir(str(uri))})


def _walk(uri: str) -> Iterator[tuple[str, list[str]]]:
    """(folder relative to ``uri`` ('' for itself), its file names) for every folder under it."""
    root = str(uri).rstrip("/")
    for dirpath, _, files in _fs(uri).walk(root):
        yield str(dirpath).rstrip("/")[len(root):].strip("/"), list(files)


def list_files(uri: str) -> list[str]:
    """Every file under a folder, recursively, as sorted '/'-separated relative paths; [] when
    the folder does not exist."""
    if not isdir(uri):
        return []
    return sorted(posixpath.join(d, f) if d else f for d, files in _walk(uri) for f in files)


def dir_size(uri: str) -> int:
    """Total bytes of the files under a folder."""
    fs = _fs(uri)
    return sum(int(fs.stat(join(uri, rel)).length) for rel in list_files(uri))


def rmtree(uri: str) -> None:
    """Deletes a folder tree (or a file); nothing if it does not exist."""
    fs = _fs(uri)
    if not fs.exists(str(uri)):
        return
    if fs.isdir(str(uri)):
        fs.rmtree(str(uri))
    else:
        fs.remove(str(uri))


def copy_file(src: str, dst: str) -> str:
    """Copies one file between any two filesystems (local, gs://), creating ``dst``'s folder."""
    _make_parent(dst)
    with _fs(src).GFile(str(src), "rb") as fin, _fs(dst).GFile(str(dst), "wb") as fout:
        while True:
            chunk = fin.read(_CHUNK)
            if not chunk:
                break
            fout.write(chunk)
    return str(dst)


def copy_dir(src: str, dst: str, replace: bool = True) -> list[str]:
    """Copies the folder tree ``src`` to ``dst`` (any two of local and gs://), keeping relative
    paths and empty folders.

    Args:
        replace: Delete ``dst`` first, so it holds exactly ``src`` (a report folder refreshed
            by a re-run keeps no stale files).

    Returns:
        The written file URIs. ``dst`` exists afterwards even when ``src`` is empty or missing.
    """
    if replace:
        rmtree(dst)
    makedirs(dst)
    written = []
    if not isdir(src):
        return written
    for rel_dir, files in _walk(src):
        if rel_dir:
            makedirs(join(dst, rel_dir))
        for name in sorted(files):
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            written.append(copy_file(join(src, rel), join(dst, rel)))
    return sorted(written)


def copy_dir_to(local_dir: str | os.PathLike, uri: str, replace: bool = True) -> list[str]:
    """Ships a local folder (a tool's temp output) to an artifact URI."""
    return copy_dir(os.fspath(local_dir), uri, replace=replace)


def download_dir(uri: str, local_dir: str | os.PathLike) -> Path:
    """Copies an artifact folder into a local folder (for code that needs local files)."""
    copy_dir(uri, os.fspath(local_dir), replace=False)
    return Path(local_dir)


def is_local(uri: str) -> bool:
    return _scheme(str(uri)) == "file"


@contextlib.contextmanager
def local_dir(uri: str | os.PathLike) -> Iterator[str]:
    """A local path holding the folder ``uri``: the path itself when it is local, else a temp
    copy removed on exit. For tools that need real files (hashing a SavedModel, shutil)."""
    uri = os.fspath(uri)
    if is_local(uri):
        yield uri[len("file://"):] if uri.startswith("file://") else uri
        return
    tmp = tempfile.mkdtemp(prefix="gfile-")
    try:
        target = os.path.join(tmp, posixpath.basename(uri.rstrip("/")) or "dir")
        download_dir(uri, target)
        yield target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def local_dirs(uris: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """:func:`local_dir` for several folders at once: ``{name: uri}`` -> ``{name: local path}``."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(local_dir(uri)) for name, uri in uris.items()}


def _is_not_found(exc: Exception) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - the image always has TensorFlow
        return False
    return isinstance(exc, tf.errors.NotFoundError)
