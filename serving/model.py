"""Loading pushed SavedModels and finding the newest complete version.

A *model source* is anything with ``name``, ``latest() -> (version, manifest) | None``,
``load(version, manifest) -> LoadedModel`` and, to fall back to older versions when the newest
does not load, ``complete_versions() -> [versions with a manifest]`` and ``manifest(version)``.
:class:`PushDestinationSource` reads the versioned push layout of ``components/versioned_pusher``
(``<destination>/<model>/<version>/saved_model``, visible once ``manifest.json`` exists) on a
local path, ``s3://`` or ``gs://``. Tests can pass their own source.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import numpy as np

from components.common import storage
from components.versioned_pusher import logic as push_logic
from serving.validation import DEFAULT_SIGNATURE, InputSpec, kind_of_dtype

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A version could not be loaded (the message names the path).

    ``reason`` is a short label for metrics: ``not_a_saved_model``, ``no_signature``,
    ``unsupported_input``, ``warmup_failed``, ``no_saved_model_dir``, ``download_failed``.
    """

    def __init__(self, message: str, reason: str = "load_error"):
        super().__init__(message)
        self.reason = reason


@dataclass
class LoadedModel:
    """A model ready to answer requests.

    Attributes:
        name: Model name (the URL's ``<name>``).
        version: Push version.
        path: Where it was loaded from.
        inputs: The serving signature's inputs by name.
        predict_fn: ``{name: np.ndarray} -> {output: np.ndarray}`` (batch-major).
        manifest: The push manifest.
        loaded_at: Unix time the load finished.
    """

    name: str
    version: int
    path: str
    inputs: dict[str, InputSpec]
    predict_fn: Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]
    manifest: dict[str, Any] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.time)
    keepalive: Any = None  # the SavedModel object (and temp dir) must outlive predict_fn's use

    def predict_columns(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Raw outputs for a batch."""
        return {k: np.asarray(v) for k, v in self.predict_fn(columns).items()}

    def predict(self, columns: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
        """One JSON-ready dict per instance (bytes decoded, numpy scalars as Python values)."""
        return rows_from_outputs(self.predict_columns(columns))


def to_jsonable(array: np.ndarray) -> Any:
    """Numpy output to plain Python (strings decoded as UTF-8)."""
    if array.dtype == object or array.dtype.kind in ("S", "U"):
        flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in array.reshape(-1)]
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    return array.tolist()


def rows_from_outputs(outputs: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """``{output: [N, ...]}`` -> ``[{output: value_i}, ...]`` (TF Serving's row format)."""
    converted = {k: to_jsonable(v) for k, v in outputs.items()}
    n = len(next(iter(converted.values()))) if converted else 0
    return [{k: converted[k][i] for k in sorted(converted)} for i in range(n)]


def columns_from_outputs(outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """``{output: [N, ...]}`` as plain lists (TF Serving's columnar ``outputs``)."""
    return {k: to_jsonable(v) for k, v in sorted(outputs.items())}


def load_saved_model(
    path: str | Path, name: str, version: int, manifest: Mapping[str, Any] | None = None, keep: Any = None
) -> LoadedModel:
    """Loads a SavedModel's ``serving_default`` signature and runs it once (warm-up).

    The model is only returned once the warm-up call succeeded, so a swap never exposes a model
    that cannot answer.

    Raises:
        ModelLoadError: Not a SavedModel, no ``serving_default``, unsupported input types, or
            the warm-up call failed.
    """
    import tensorflow as tf

    path = str(path)
    try:
        loaded = tf.saved_model.load(path)
    except Exception as exc:  # TF raises OSError, ValueError, InvalidArgumentError, ...
        raise ModelLoadError(f"{path}: cannot load SavedModel: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                             "not_a_saved_model") from exc
    if DEFAULT_SIGNATURE not in loaded.signatures:
        raise ModelLoadError(f"{path}: no {DEFAULT_SIGNATURE!r} signature (has: {', '.join(loaded.signatures) or 'none'})",
                             "no_signature")
    fn = loaded.signatures[DEFAULT_SIGNATURE]
    _, kwargs_spec = fn.structured_input_signature
    contract = read_input_contract(path)
    inputs = {}
    try:
        for key, spec in sorted(kwargs_spec.items()):
            declared = contract.get(key, {})
            # An optional integer feature is a float64 input (NaN = missing): still an integer to clients.
            kind = "int" if declared.get("type") == "int" else kind_of_dtype(spec.dtype.name)
            inputs[key] = InputSpec(key, kind, spec.dtype.name, optional=bool(declared.get("optional")))
    except ValueError as exc:
        raise ModelLoadError(f"{path}: {exc}", "unsupported_input") from exc
    dtypes = {key: spec.dtype for key, spec in kwargs_spec.items()}

    def predict_fn(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {k: tf.constant(columns[k], dtype=dtypes[k]) for k in dtypes}
        return {k: v.numpy() for k, v in fn(**tensors).items()}

    model = LoadedModel(name, int(version), path, inputs, predict_fn, dict(manifest or {}), keepalive=(loaded, fn, keep))
    try:
        model.predict(warmup_batch(inputs))
    except Exception as exc:
        raise ModelLoadError(f"{path}: warm-up prediction failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                             "warmup_failed") from exc
    model.loaded_at = time.time()
    return model


def read_input_contract(path: str) -> dict[str, dict[str, Any]]:
    """The Trainer's ``assets.extra/input_contract.json`` (which inputs may be missing); ``{}``
    for a model without one (every input required, as before the file existed)."""
    import json

    import tensorflow as tf

    from components.common.model_contract import INPUT_CONTRACT_FILE

    contract = f"{path.rstrip('/')}/{INPUT_CONTRACT_FILE}"
    try:
        if not tf.io.gfile.exists(contract):
            return {}
        with tf.io.gfile.GFile(contract) as fh:
            inputs = json.load(fh).get("inputs", {})
    except (OSError, ValueError, tf.errors.OpError) as exc:
        raise ModelLoadError(f"{path}: unreadable {INPUT_CONTRACT_FILE}: {exc}", "unsupported_input") from exc
    return inputs if isinstance(inputs, dict) else {}


def warmup_batch(inputs: Mapping[str, InputSpec]) -> dict[str, np.ndarray]:
    """One dummy instance (zeros and empty strings) to trace and warm the graph."""
    return {
        name: np.array([b"" if spec.kind == "string" else 0], dtype=spec.numpy_dtype) for name, spec in inputs.items()
    }


class ModelSource(Protocol):
    """Where versions come from. ``complete_versions``/``manifest`` are optional: a source with only
    ``latest`` is served with its newest version alone (no fallback to older ones)."""

    name: str

    def latest(self) -> tuple[int, dict[str, Any]] | None: ...

    def complete_versions(self) -> list[int]: ...

    def manifest(self, version: int) -> dict[str, Any]: ...

    def load(self, version: int, manifest: Mapping[str, Any]) -> LoadedModel: ...

    def describe(self) -> str: ...


class _TempDir:
    """A temp dir deleted when the model holding it is garbage-collected."""

    def __init__(self, prefix: str):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)


class PushDestinationSource:
    """The newest complete version under ``<destination>/<name>/``.

    Local versions are loaded in place: the pusher makes a version appear through one atomic
    rename and never rewrites it. Remote versions (s3://, gs://) are downloaded to a temp dir
    first (TensorFlow 2.21 cannot read S3); the temp dir is removed when the model object is
    garbage-collected (assets such as vocabularies stay on disk while it may still use them).
    """

    def __init__(self, destination: str, name: str):
        self.destination = str(destination)
        self.name = name

    def describe(self) -> str:
        return push_logic.model_root(self.destination, self.name)

    def latest(self) -> tuple[int, dict[str, Any]] | None:
        return push_logic.latest(self.destination, self.name)

    def complete_versions(self) -> list[int]:
        """The complete versions (with a manifest), ascending."""
        return push_logic.complete_versions(self.destination, self.name)

    def manifest(self, version: int) -> dict[str, Any]:
        try:
            manifest = push_logic.read_manifest(self.destination, self.name, version)
        except Exception as exc:  # unreadable or not JSON: this version cannot be served
            raise ModelLoadError(f"{self.version_uri(version)}/manifest.json: cannot read: {type(exc).__name__}: {exc}",
                                 "bad_manifest") from exc
        if not isinstance(manifest, dict):
            raise ModelLoadError(f"{self.version_uri(version)}/manifest.json: not a JSON object", "bad_manifest")
        return manifest

    def version_uri(self, version: int) -> str:
        return storage.join(push_logic.model_root(self.destination, self.name), str(version))

    def load(self, version: int, manifest: Mapping[str, Any]) -> LoadedModel:
        uri = storage.join(self.version_uri(version), "saved_model")
        if storage.is_remote(uri):
            tmp = _TempDir(f"mlops-serve-{self.name}-{version}-")
            try:
                storage.download_dir(uri, tmp.path / "saved_model")
            except storage.StorageError as exc:
                raise ModelLoadError(f"{uri}: download failed: {exc}", "download_failed") from exc
            return load_saved_model(tmp.path / "saved_model", self.name, version, manifest, keep=tmp)
        path = storage.local_path(uri)
        if not path.is_dir():
            raise ModelLoadError(f"{path}: version {version} has a manifest but no saved_model/ directory", "no_saved_model_dir")
        return load_saved_model(path, self.name, version, manifest)


class VersionFailure:
    """Why a version is not served: the last error, how often it failed, when it is retried."""

    __slots__ = ("version", "error", "reason", "attempts", "first_failed_at", "last_failed_at", "retry_at")

    def __init__(self, version: int, error: str, reason: str, now: float):
        self.version = version
        self.error = error
        self.reason = reason
        self.attempts = 0
        self.first_failed_at = now
        self.last_failed_at = now
        self.retry_at = now

    def as_dict(self, now: float) -> dict[str, Any]:
        return {"version": self.version, "error": self.error, "reason": self.reason, "attempts": self.attempts,
                "retry_in_seconds": round(max(0.0, self.retry_at - now), 3)}


def failure_reason(exc: BaseException) -> str:
    """A short, bounded label for a load failure (the ``reason`` label of the failure metric)."""
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason)
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")[:40] or "error"


class ModelManager:
    """Holds the model being served and swaps in newer versions without downtime.

    A background thread polls the source every ``poll_seconds``. Each poll walks the complete
    versions from the newest down and serves the first one that loads: a version newer than
    the one served is loaded *fully* (including a warm-up prediction) while the old one keeps
    answering, then one reference is swapped (atomic in Python). A request takes the reference
    once at its start (:meth:`current`), so in-flight requests finish on the model they started
    with; the old model is freed when the last one is done.

    A version that fails to load is logged, counted and retried with exponential backoff
    (``retry_base_seconds`` doubling up to ``retry_max_seconds``): a transient failure (a
    storage hiccup during the download, memory pressure) heals by itself, and a corrupt newest
    version never blocks the good ones below it: after a restart the server serves the newest
    version that loads and keeps retrying the newer failed ones (:meth:`failures` says which
    and why). The walk stops at the version being served, so a good model is never replaced
    by an older one unless the served version disappears from the source (then it follows
    downwards, as it does when the newest version is deleted).
    """

    def __init__(
        self,
        source: ModelSource,
        poll_seconds: float = 2.0,
        on_swap: Callable[[LoadedModel | None, LoadedModel], None] | None = None,
        on_load_error: Callable[[int, Exception], None] | None = None,
        retry_base_seconds: float | None = None,
        retry_max_seconds: float = 300.0,
        on_failures_changed: Callable[[dict[int, "VersionFailure"]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.source = source
        self.poll_seconds = poll_seconds
        self.retry_base_seconds = poll_seconds if retry_base_seconds is None else retry_base_seconds
        self.retry_max_seconds = max(retry_max_seconds, self.retry_base_seconds)
        self._model: LoadedModel | None = None
        self._failed: dict[int, VersionFailure] = {}
        self._on_swap = on_swap
        self._on_load_error = on_load_error
        self._on_failures_changed = on_failures_changed
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()
        self.last_poll_error: str | None = None
        self.newest_version: int | None = None

    def current(self) -> LoadedModel | None:
        return self._model

    def failures(self) -> list[dict[str, Any]]:
        """The versions above the served one (or any, while none is served) that failed, newest first."""
        now = self._clock()
        return [f.as_dict(now) for f in sorted(dict(self._failed).values(), key=lambda f: -f.version)]

    @property
    def last_load_error(self) -> str | None:
        """The newest failed version's error (``version N: ...``), or None."""
        failed = dict(self._failed)
        if not failed:
            return None
        newest = failed[max(failed)]
        return f"version {newest.version}: {newest.error}"

    def _versions(self) -> list[int]:
        lister = getattr(self.source, "complete_versions", None)
        if lister is not None:
            return sorted(int(v) for v in lister())
        found = self.source.latest()  # a minimal source: only its newest version
        return [] if found is None else [int(found[0])]

    def _manifest(self, version: int) -> dict[str, Any]:
        reader = getattr(self.source, "manifest", None)
        if reader is not None:
            return dict(reader(version))
        found = self.source.latest()
        if found is None or int(found[0]) != version:
            raise ModelLoadError(f"version {version} disappeared before it could be loaded")
        return dict(found[1])

    def _record_failure(self, version: int, exc: Exception, serving: LoadedModel | None) -> None:
        now = self._clock()
        f = self._failed.get(version)
        if f is None:
            f = self._failed[version] = VersionFailure(version, str(exc), failure_reason(exc), now)
        f.error, f.reason, f.last_failed_at = str(exc), failure_reason(exc), now
        f.attempts += 1
        delay = min(self.retry_base_seconds * (2 ** (f.attempts - 1)), self.retry_max_seconds)
        f.retry_at = now + delay
        log.error("cannot load version %d of %s (attempt %d, retry in %.0fs); serving %s: %s", version,
                  self.source.describe(), f.attempts, delay,
                  f"version {serving.version}" if serving else "nothing", exc)
        if self._on_load_error:
            self._on_load_error(version, exc)

    def _forget_failures(self, keep) -> None:
        gone = [v for v in self._failed if not keep(v)]
        for v in gone:
            del self._failed[v]

    def poll_once(self) -> bool:
        """Checks the source once; serves the newest version that loads. True if swapped."""
        with self._poll_lock:
            before = {v: (f.attempts, f.reason) for v, f in self._failed.items()}
            try:
                return self._poll()
            finally:
                after = {v: (f.attempts, f.reason) for v, f in self._failed.items()}
                if after != before and self._on_failures_changed:
                    self._on_failures_changed(dict(self._failed))

    def _poll(self) -> bool:
        try:
            versions = self._versions()
            self.last_poll_error = None
        except Exception as exc:  # storage hiccups must not kill the poller
            self.last_poll_error = f"{type(exc).__name__}: {exc}"
            log.warning("cannot list versions of %s: %s", self.source.describe(), self.last_poll_error)
            return False
        listed = set(versions)
        self._forget_failures(lambda v: v in listed)  # a deleted version is no longer a failure
        self.newest_version = versions[-1] if versions else None
        current = self._model
        now = self._clock()
        for version in reversed(versions):
            if current is not None and version == current.version:
                break  # nothing newer loads (yet): keep serving this one
            failure = self._failed.get(version)
            if failure is not None and now < failure.retry_at:
                continue  # backing off; try the ones below
            log.info("loading %s version %d%s", self.source.describe(), version,
                     f" (retry {failure.attempts})" if failure else "")
            start = time.monotonic()
            try:
                model = self.source.load(version, self._manifest(version))
            except Exception as exc:
                self._record_failure(version, exc, current)
                continue
            self._failed.pop(version, None)
            self._model = model  # the swap
            self._forget_failures(lambda v: v > version)  # failures below the served version do not matter
            log.info("now serving %s version %d (loaded in %.1fs)", model.name, model.version, time.monotonic() - start)
            if self._on_swap:
                self._on_swap(current, model)
            return True
        return False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"model-poller-{self.source.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # never let the poller die
                log.exception("model poller error")
            self._stop.wait(self.poll_seconds)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
