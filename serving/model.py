"""Loading pushed SavedModels and finding the newest complete version.

A *model source* is anything with ``name``, ``latest() -> (version, manifest) | None`` and
``load(version, manifest) -> LoadedModel``. :class:`PushDestinationSource` reads the versioned
push layout of ``components/versioned_pusher`` (``<destination>/<model>/<version>/saved_model``,
visible once ``manifest.json`` exists) on a local path, ``s3://`` or ``gs://``. Tests can pass
their own source.
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
    """A version could not be loaded (the message names the path)."""


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
        raise ModelLoadError(f"{path}: cannot load SavedModel: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if DEFAULT_SIGNATURE not in loaded.signatures:
        raise ModelLoadError(f"{path}: no {DEFAULT_SIGNATURE!r} signature (has: {', '.join(loaded.signatures) or 'none'})")
    fn = loaded.signatures[DEFAULT_SIGNATURE]
    _, kwargs_spec = fn.structured_input_signature
    inputs = {}
    try:
        for key, spec in sorted(kwargs_spec.items()):
            inputs[key] = InputSpec(key, kind_of_dtype(spec.dtype.name), spec.dtype.name)
    except ValueError as exc:
        raise ModelLoadError(f"{path}: {exc}") from exc
    dtypes = {key: spec.dtype for key, spec in kwargs_spec.items()}

    def predict_fn(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {k: tf.constant(columns[k], dtype=dtypes[k]) for k in dtypes}
        return {k: v.numpy() for k, v in fn(**tensors).items()}

    model = LoadedModel(name, int(version), path, inputs, predict_fn, dict(manifest or {}), keepalive=(loaded, fn, keep))
    try:
        model.predict(warmup_batch(inputs))
    except Exception as exc:
        raise ModelLoadError(f"{path}: warm-up prediction failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    model.loaded_at = time.time()
    return model


def warmup_batch(inputs: Mapping[str, InputSpec]) -> dict[str, np.ndarray]:
    """One dummy instance (zeros and empty strings) to trace and warm the graph."""
    return {
        name: np.array([b"" if spec.kind == "string" else 0], dtype=spec.numpy_dtype) for name, spec in inputs.items()
    }


class ModelSource(Protocol):
    name: str

    def latest(self) -> tuple[int, dict[str, Any]] | None: ...

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

    def version_uri(self, version: int) -> str:
        return storage.join(push_logic.model_root(self.destination, self.name), str(version))

    def load(self, version: int, manifest: Mapping[str, Any]) -> LoadedModel:
        uri = storage.join(self.version_uri(version), "saved_model")
        if storage.is_remote(uri):
            tmp = _TempDir(f"mlops-serve-{self.name}-{version}-")
            try:
                storage.download_dir(uri, tmp.path / "saved_model")
            except storage.StorageError as exc:
                raise ModelLoadError(f"{uri}: download failed: {exc}") from exc
            return load_saved_model(tmp.path / "saved_model", self.name, version, manifest, keep=tmp)
        path = storage.local_path(uri)
        if not path.is_dir():
            raise ModelLoadError(f"{path}: version {version} has a manifest but no saved_model/ directory")
        return load_saved_model(path, self.name, version, manifest)


class ModelManager:
    """Holds the model being served and swaps in newer versions without downtime.

    A background thread polls the source every ``poll_seconds``. When the newest complete
    version differs from the one served, it loads that version *fully* (including a warm-up
    prediction) while the old one keeps answering, then swaps one reference (atomic in Python).
    A request takes the reference once at its start (:meth:`current`), so in-flight requests
    finish on the model they started with; the old model is freed when the last one is done.

    A version that fails to load is logged, counted and skipped until a newer one appears; the
    old model keeps serving.
    """

    def __init__(
        self,
        source: ModelSource,
        poll_seconds: float = 2.0,
        on_swap: Callable[[LoadedModel | None, LoadedModel], None] | None = None,
        on_load_error: Callable[[int, Exception], None] | None = None,
    ):
        self.source = source
        self.poll_seconds = poll_seconds
        self._model: LoadedModel | None = None
        self._failed: dict[int, str] = {}
        self._on_swap = on_swap
        self._on_load_error = on_load_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()
        self.last_poll_error: str | None = None
        self.last_load_error: str | None = None

    def current(self) -> LoadedModel | None:
        return self._model

    def poll_once(self) -> bool:
        """Checks the source once; loads and swaps if a different version is newest. True if swapped."""
        with self._poll_lock:
            try:
                found = self.source.latest()
                self.last_poll_error = None
            except Exception as exc:  # storage hiccups must not kill the poller
                self.last_poll_error = f"{type(exc).__name__}: {exc}"
                log.warning("cannot list versions of %s: %s", self.source.describe(), self.last_poll_error)
                return False
            if found is None:
                return False
            version, manifest = found
            current = self._model
            if current is not None and current.version == version:
                return False
            if version in self._failed:
                return False
            log.info("loading %s version %d", self.source.describe(), version)
            start = time.monotonic()
            try:
                model = self.source.load(version, manifest)
            except Exception as exc:
                self._failed[version] = str(exc)
                self.last_load_error = f"version {version}: {exc}"
                log.error("cannot load version %d of %s; still serving %s: %s", version, self.source.describe(),
                          current.version if current else "nothing", exc)
                if self._on_load_error:
                    self._on_load_error(version, exc)
                return False
            self._model = model  # the swap
            log.info("now serving %s version %d (loaded in %.1fs)", model.name, model.version, time.monotonic() - start)
            if self._on_swap:
                self._on_swap(current, model)
            return True

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
