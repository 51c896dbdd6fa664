"""``:explain`` for the model server: SHAP (or LIME) attributions of single requests.

The pipeline's explain step ships ``explanation/background.json`` with each pushed version (SHAP's
background rows, LIME's training rows, the seed); the server explains a request with the same
functions the pipeline uses (``components.explain.logic`` / ``lime_logic``), on the same raw
features, calling the served model. So an attribution here is the pipeline's for that row.

Bounds, because one explanation costs thousands of model evaluations:
  * ``max_instances`` per request (413 ``too_many_instances``, naming ``--explain-max-instances``);
  * a time budget per request (``--explain-timeout-seconds``; past it, 408 ``explain_timeout``);
  * a pool of its own (``--explain-workers`` threads and as many waiting requests; beyond that
    429 ``explain_busy``), so explain requests never take the threads ``:predict`` runs on.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from serving.validation import InputSpec, RequestError

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


def frame_predictor(model, specs: Mapping[str, InputSpec]):
    """``DataFrame -> [N, C]`` over the served model (regression: ``predicted_value`` as [N, 1])."""

    def predict(df: pd.DataFrame) -> np.ndarray:
        columns = {}
        for name, spec in specs.items():
            values = df[name]
            if spec.kind == "string":
                columns[name] = np.array([str(v) for v in values], dtype=object)
            else:
                columns[name] = values.to_numpy().astype(spec.numpy_dtype)
        out = model.predict_columns(columns)
        if "probabilities" in out:
            return np.asarray(out["probabilities"], dtype=np.float64)
        return np.asarray(out["predicted_value"], dtype=np.float64).reshape(-1, 1)

    return predict


def explain_rows(model, specs: Mapping[str, InputSpec], background: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 method: str = "shap", lime_num_samples: int = 2000) -> list[dict[str, Any]]:
    """Per instance: the prediction and each feature's attribution, with the method named.

    Raises:
        RequestError: An instance misses a feature (explanations need every value).
    """
    from components.explain import lime_logic, logic

    features = list(background["feature_names"])
    for i, row in enumerate(rows):
        gaps = [f for f in features if row.get(f) is None]
        if gaps:
            raise RequestError(400, "missing_feature", f"instances[{i}]: :explain needs every feature; missing {gaps[0]!r}")
    sample = pd.DataFrame([{f: row[f] for f in features} for row in rows], columns=features)
    shap_bg, lime_rows = logic.read_background(background)
    predict = frame_predictor(model, specs)
    classes = list(background.get("class_names") or []) or None
    seed = int(background.get("seed", 0))
    regression = classes == ["predicted_value"]
    if method == "lime":
        expl = lime_logic.explain(predict, lime_rows, sample, features, classes, num_samples=lime_num_samples,
                                  seed=seed, regression=regression)
    else:
        expl = logic.explain(predict, shap_bg, sample, features, classes, seed=seed)
    base = expl.base_values
    out = []
    for ex in expl.examples:
        cls = ex["predicted_class"]
        out.append({
            "method": expl.method,
            "prediction": ({"predicted_value": ex["probability"]} if regression
                           else {"predicted_class": cls, "probability": ex["probability"]}),
            "attributions": ex["attributions"],
            "base_value": base.get(cls, base.get("intercept")),
        })
    return out


class ExplainPool:
    """A thread pool of its own with a bounded queue: explain work never queues behind, or
    takes, the threads ``:predict`` runs on."""

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="explain")
        self._slots = threading.BoundedSemaphore(2 * self.workers)  # running + waiting

    def submit(self, fn, *args):
        """A future, or RequestError 429 when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            raise RequestError(429, "explain_busy", f"{2 * self.workers} explain requests are running or waiting "
                                                    f"(--explain-workers {self.workers}); retry later")
        future = self._executor.submit(fn, *args)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
