"""``:explain`` for the model server: SHAP (or LIME) attributions of single requests.

The pipeline's explain step ships ``explanation/background.json`` with each pushed version (SHAP's
background rows, LIME's training rows, the seed); the server explains a request with the same
functions the pipeline uses (``components.explain.logic`` / ``lime_logic``), on the same raw
features, calling the served model. So an attribution here is the pipeline's for that row.

Bounds, because one explanation costs thousands of model evaluations:
  * ``max_instances`` per request (413 ``too_many_instances``, naming ``--explain-max-instances``);
  * a time budget per request (``--explain-timeout-seconds``; past it, 408 ``explain_timeout``);
  * worker processes of their own at a lower CPU priority (``--explain-workers``, and as many
    waiting requests; beyond that 429 ``explain_busy``), so explain requests never take the
    threads ``:predict`` runs on and yield the CPU to it.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from serving.validation import RequestError

METHODS = ("shap", "lime")


class NoBackground(RequestError):
    """The served version was pushed without ``explanation/background.json``."""


def read_background(version_uri: str | None) -> dict[str, Any] | None:
    """The parsed ``explanation/background.json`` of a pushed version (local, s3://, gs://), or None."""
    from components.common import storage
    from components.explain.logic import BACKGROUND_JSON

    if not version_uri:
        return None
    uri = storage.join(version_uri, "explanation", BACKGROUND_JSON)
    try:
        return json.loads(storage.read_bytes(uri))
    except Exception:  # noqa: BLE001 - absent (pushed without explain) or unreadable: no background
        return None


class BackgroundCache:
    """One background per served version, read on the first :explain of that version."""

    def __init__(self, version_uri):
        self._version_uri = version_uri  # version -> its URI, or None
        self._lock = threading.Lock()
        self._cached: tuple[int, dict[str, Any] | None] | None = None

    def get(self, version: int) -> dict[str, Any] | None:
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                self._cached = (version, read_background(self._version_uri(version)))
            return self._cached[1]


_MODELS: dict[str, Any] = {}  # in an explain worker process: SavedModel path -> ServingModel


def _init_worker(niceness: int) -> None:
    """Explain workers run at a lower CPU priority than the server, so that on a busy machine
    the scheduler serves :predict first."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    try:
        os.nice(niceness)
    except OSError:  # not permitted: same priority, still another process
        pass


def _served(model_path: str):
    from components.common import model_io

    model = _MODELS.get(model_path)
    if model is None:
        _MODELS.clear()  # one version at a time
        model = _MODELS[model_path] = model_io.ServingModel(model_path)
    return model


def load_in_worker(model_path: str) -> bool:
    """Starts TensorFlow and loads the version in a worker, before the first request's budget runs."""
    _served(model_path)
    return True


def explain_in_worker(model_path: str, background: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                      method: str = "shap", lime_num_samples: int = 2000) -> list[dict[str, Any]]:
    """:func:`explain_rows` in an explain worker process, the SavedModel loaded there once per
    path (``components.common.model_io.ServingModel``: what the pipeline's explain step calls).
    A client error comes back as ``{"request_error": [status, kind, message]}``."""
    model = _served(model_path)
    try:
        return explain_rows(model.predict_proba, background, rows, method, lime_num_samples)
    except RequestError as exc:  # as data: it would not unpickle in the server (and break the pool)
        return {"request_error": [exc.status, exc.kind, exc.message]}


def explain_rows(predict, background: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 method: str = "shap", lime_num_samples: int = 2000) -> list[dict[str, Any]]:
    """Per instance: the prediction and each feature's attribution, with the method named.

    ``predict``: raw-feature DataFrame -> [N, C] probabilities (regression: [N, 1]).

    Raises:
        RequestError: An instance misses a feature (explanations need every value). An instance
            the model answers NaN for gets ``None`` attributions and a ``note``.
    """
    from components.explain import lime_logic, logic

    features = list(background["feature_names"])
    for i, row in enumerate(rows):
        gaps = [f for f in features if row.get(f) is None]
        if gaps:
            raise RequestError(400, "missing_feature", f"instances[{i}]: :explain needs every feature; missing {gaps[0]!r}")
    sample = pd.DataFrame([{f: row[f] for f in features} for row in rows], columns=features)
    shap_bg, lime_rows = logic.read_background(background)
    classes = list(background.get("class_names") or []) or None
    seed = int(background.get("seed", 0))
    regression = classes == ["predicted_value"]
    outputs = np.asarray(predict(sample), dtype=np.float64)
    # e.g. a value near float32's limit: valid JSON, but the model answers NaN; nothing to explain
    finite = [i for i in range(len(rows)) if np.all(np.isfinite(outputs[i]))]
    out: list[dict[str, Any]] = [{"method": "", "prediction": None, "attributions": None, "base_value": None,
                                  "note": "the model's output for these values is not a finite number"}
                                 for _ in rows]
    if not finite:
        return out
    try:
        if method == "lime":
            expl = lime_logic.explain(predict, lime_rows, sample.iloc[finite], features, classes,
                                      num_samples=lime_num_samples, seed=seed, regression=regression)
        else:
            expl = logic.explain(predict, shap_bg, sample.iloc[finite], features, classes, seed=seed)
    except (ValueError, FloatingPointError) as exc:  # a coalition of extreme values the model answers NaN for
        raise RequestError(400, "unexplainable", f"the explainer could not fit these instances: {exc}") from exc
    base = expl.base_values
    for i, ex in zip(finite, expl.examples):
        cls = ex["predicted_class"]
        out[i] = {
            "method": expl.method,
            "prediction": ({"predicted_value": ex["probability"]} if regression
                           else {"predicted_class": cls, "probability": ex["probability"]}),
            "attributions": ex["attributions"],
            "base_value": base.get(cls, base.get("intercept")),
        }
    return out


class ExplainPool:
    """Worker processes of their own, at a lower CPU priority, with a bounded queue: explain
    work never takes the threads ``:predict`` runs on, and on a busy machine the scheduler gives
    ``:predict`` the CPU first (threads in the server process would share its TensorFlow thread
    pool: predict p99 rose 1.5x beside two explain clients on 2 CPUs, ``docs/benchmarks.md``)."""

    def __init__(self, workers: int = 1, niceness: int = 10):
        import multiprocessing

        self.workers = max(1, int(workers))
        self._niceness = niceness
        self._context = multiprocessing.get_context("spawn")  # never fork a process that runs TensorFlow
        self._executor = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(2 * self.workers)  # running + waiting
        self._warmed: set[str] = set()

    def _pool(self):
        from concurrent.futures import ProcessPoolExecutor

        with self._lock:  # started on first use: a server nobody asks to explain starts no process
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.workers, mp_context=self._context,
                                                     initializer=_init_worker, initargs=(self._niceness,))
            return self._executor

    def warm(self, model_path: str):
        """A future loading ``model_path`` in a worker the first time a version is explained
        (starting a worker and TensorFlow takes seconds, which no request's budget should pay),
        else None."""
        with self._lock:
            if model_path in self._warmed:
                return None
            self._warmed.add(model_path)
        return self._pool().submit(load_in_worker, model_path)

    def submit(self, fn, *args):
        """A future, or RequestError 429 when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            raise RequestError(429, "explain_busy", f"{2 * self.workers} explain requests are running or waiting "
                                                    f"(--explain-workers {self.workers}); retry later")
        try:
            future = self._pool().submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
