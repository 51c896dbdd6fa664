"""Versioned push: ``<destination>/<model>/<version>/{saved_model/, manifest.json, ...}``.

Guarantees:
  * Versions are integers, monotonic, and never overwritten (TF Serving and KServe read them).
  * A version is *visible* only once complete: locally the whole directory appears through one
    ``rename``; on S3/GCS the ``manifest.json`` is written last and readers ignore versions
    without it. A crash mid-push leaves an invisible, incomplete prefix, never a broken model.
  * Pushing the same model bytes twice does not create a second version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from components.common import gfile_io, storage
# The layout and its readers are shared with the Airflow DAGs (no TensorFlow there): one definition.
from pipelines.push_layout import MANIFEST, complete_versions, latest, model_root, read_manifest  # noqa: F401

CLAIM = ".claim"
_MODEL_KEY = "\0saved_model"  # the SavedModel among push()'s source dirs (not a valid extra name)


@dataclass(frozen=True)
class PushResult:
    """Outcome of a push.

    Attributes:
        version: The version now holding the model (new, or the existing identical one).
        uri: ``<destination>/<model>/<version>``.
        created: False when an identical model was already the latest version.
        manifest: The manifest of that version.
    """

    version: int
    uri: str
    created: bool
    manifest: dict[str, Any]


def dir_fingerprint(local_dir: str | Path) -> str:
    """SHA-256 over relative paths and contents of every file in a directory."""
    h = hashlib.sha256()
    root = Path(local_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _all_version_numbers(destination: str, model_name: str) -> set[int]:
    """Every version number in use, complete or not (so a crashed push's number is not reused)."""
    root = model_root(destination, model_name)
    if storage.split_uri(root)[0] == "file":
        base = Path(storage.local_path(root))
        return {int(p.name) for p in base.iterdir() if p.name.isdigit()} if base.is_dir() else set()
    nums = set()
    for uri in storage.list_uris(root + "/"):
        head = uri[len(root) + 1:].split("/")[0]
        if head.isdigit():
            nums.add(int(head))
    return nums


def _read_json(path: str) -> dict:
    return gfile_io.read_json(path, default={})  # an artifact file: local or gs://


def extras_manifest(
    explanation_dir: str | None = None,
    fairness_dir: str | None = None,
    tflite_dir: str | None = None,
    tflite_variant: str | None = None,
    compression_ran: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Manifest fields and directories to ship for the explain / fairness / compress outputs.

    Args:
        explanation_dir: A ModelExplanation output (``attributions.json``, plot, page), or None.
        fairness_dir: A FairnessGate result (``result.json``, page), or None.
        tflite_dir: The chosen TFLite variant's directory, or None when none qualified.
        tflite_variant: Its name.
        compression_ran: Whether compression ran (then ``tflite_variant`` is recorded, None when
            no variant was within the budget).

    Returns:
        ``(fields, dirs)``: fields to merge into the manifest, ``{name: artifact dir}`` to ship.
    """
    fields: dict[str, Any] = {}
    dirs: dict[str, str] = {}
    if explanation_dir:
        data = _read_json(gfile_io.join(explanation_dir, "attributions.json"))
        fields["explanation"] = {
            "method": data.get("method", ""),
            "top_features": list(data.get("ranking", []))[:5],
            "global_importance": data.get("global_importance", {}),
        }
        dirs["explanation"] = explanation_dir
    if fairness_dir:
        data = _read_json(gfile_io.join(fairness_dir, "result.json"))
        fields["fairness"] = {
            "passed": data.get("passed"),
            "reasons": data.get("reasons", []),
            "thresholds": data.get("thresholds", {}),
        }
        dirs["fairness"] = fairness_dir
    if compression_ran:
        fields["tflite_variant"] = tflite_variant if tflite_dir else None
    if tflite_dir:
        dirs["tflite"] = tflite_dir
    return fields, dirs


def push(
    model_dir: str | Path,
    destination: str,
    model_name: str,
    manifest_fields: Mapping[str, Any],
    extra_dirs: Mapping[str, str | Path] | None = None,
    max_attempts: int = 5,
    version_files: Callable[[Mapping[str, Any]], Mapping[str, str]] | None = None,
) -> PushResult:
    """Pushes a SavedModel directory as the next version.

    Args:
        model_dir: SavedModel directory (copied to ``saved_model/``): a local path or an
            artifact URI such as ``gs://`` (read through ``tf.io.gfile`` into a temp dir first).
        destination: Local path, ``s3://`` or ``gs://`` prefix.
        model_name: Model folder name.
        manifest_fields: Metrics, fingerprints, run and MLMD ids, etc.
        extra_dirs: Other directories to ship beside it (e.g. ``{"tflite": ...}``), local or
            artifact URIs like ``model_dir``.
        max_attempts: Versions to try when racing another pusher.
        version_files: Called with the new version's manifest (its number known), returns
            ``{relative path: text}`` written into the version before it becomes visible (the
            model card, which names its version). Not called when an identical model is the
            latest version already.

    Raises:
        storage.StorageError: The destination could not be written; no version became visible.
    """
    sources = {_MODEL_KEY: os.fspath(model_dir), **{k: os.fspath(v) for k, v in (extra_dirs or {}).items()}}
    with gfile_io.local_dirs(sources) as local:
        local_model = local.pop(_MODEL_KEY)
        return _push(local_model, destination, model_name, manifest_fields, local, max_attempts, version_files)


def _push(model_dir, destination, model_name, manifest_fields, extra_dirs, max_attempts, version_files=None) -> PushResult:
    fingerprint = dir_fingerprint(model_dir)
    current = latest(destination, model_name)
    if current and current[1].get("model_fingerprint") == fingerprint:
        version, manifest = current
        return PushResult(version, storage.join(model_root(destination, model_name), str(version)), False, manifest)
    for _ in range(max_attempts):
        used = _all_version_numbers(destination, model_name)
        version = max(used, default=0) + 1
        manifest = {
            **manifest_fields,
            "model_name": model_name,
            "version": version,
            "model_fingerprint": fingerprint,
            "pushed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "files": ["saved_model", *sorted(extra_dirs or {})],
        }
        texts = dict(version_files(manifest)) if version_files else {}
        folders = {path.split("/")[0] for path in texts}
        manifest["files"] = ["saved_model", *sorted(set(extra_dirs or {}) | folders)]
        if storage.split_uri(destination)[0] == "file":
            uri = _push_local(model_dir, destination, model_name, version, manifest, extra_dirs or {}, texts)
        else:
            uri = _push_remote(model_dir, destination, model_name, version, manifest, extra_dirs or {}, texts)
        if uri:
            return PushResult(version, uri, True, manifest)
    raise storage.StorageError(f"could not claim a version under {model_root(destination, model_name)} after {max_attempts} attempts")


def _push_local(model_dir, destination, model_name, version, manifest, extra_dirs, texts=None) -> str | None:
    root = Path(storage.local_path(model_root(destination, model_name)))
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{version}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(model_dir, staging / "saved_model")
        for name, path in extra_dirs.items():
            shutil.copytree(path, staging / name)
        for rel, text in (texts or {}).items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text)
        target = root / str(version)
        try:
            os.rename(staging, target)  # claims the number; fails if another pusher took it
        except OSError:
            return None
        # The manifest last, itself atomic: a version is visible (complete_versions) only once every
        # file is in place, also where renaming a folder is not atomic (BlobFuse2 on a flat-namespace
        # Azure container copies blob by blob; docs/kubeflow.md, Azure).
        tmp = target / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        os.replace(tmp, target / MANIFEST)
        return str(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _push_remote(model_dir, destination, model_name, version, manifest, extra_dirs, texts=None) -> str | None:
    base = storage.join(model_root(destination, model_name), str(version))
    if not storage.create_exclusive(storage.join(base, CLAIM), json.dumps({"claimed_at": manifest["pushed_at"]}).encode()):
        return None
    storage.upload_dir(model_dir, storage.join(base, "saved_model"))
    for name, path in extra_dirs.items():
        storage.upload_dir(path, storage.join(base, name))
    for rel, text in (texts or {}).items():
        storage.write_bytes(storage.join(base, *rel.split("/")), text.encode())
    # Last: the manifest makes the version visible.
    storage.write_bytes(storage.join(base, MANIFEST), json.dumps(manifest, indent=2, sort_keys=True, default=str).encode())
    return base
