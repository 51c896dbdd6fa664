"""Load the exported SavedModel and the eval/train data as the explain, fairness and compress
components need them.

Shared by the three components (they live in separate packages; this module belongs to
``components.explain`` only because it came first — it would move to ``components.common``
as is).

The exported model's ``serving_default`` signature takes RAW features as named tensors of shape
``[None]`` (float/int for numeric features, ``tf.string`` for categoricals) and applies the TFT
transform itself, so every prediction here goes through exactly what a client would call.
"""

from __future__ import annotations

from typing import Collection, Sequence

import numpy as np
import pandas as pd

from components.common import gfile_io
from components.common.model_contract import INPUT_CONTRACT_FILE, MISSING_STRING

SERVING_SIGNATURE = "serving_default"


def serving_dir(model_uri: str) -> str:
    """The SavedModel inside a Trainer's Model artifact (``Format-Serving``), or the dir itself
    (local or ``gs://``: ``tf.saved_model.load`` reads either)."""
    path = gfile_io.join(model_uri, "Format-Serving")
    return path if gfile_io.isdir(path) else model_uri


def clean_frame(df: pd.DataFrame, columns: Sequence[str], optional: Collection[str] = ()) -> tuple[pd.DataFrame, int]:
    """Keeps ``columns``, drops rows where any of them but the ``optional`` ones is missing
    (the model imputes an optional feature: :attr:`ServingModel.optional`).

    Returns:
        The cleaned frame (index reset) and how many rows were dropped.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the data (have {sorted(df.columns)})")
    out = df[list(columns)].copy()
    bad = out[[c for c in columns if c not in optional]].isna().any(axis=1)
    return out[~bad].reset_index(drop=True), int(bad.sum())


def read_examples(
    examples_uri: str, split: str, columns: Sequence[str], limit: int | None = None, optional: Collection[str] = ()
) -> tuple[pd.DataFrame, int]:
    """One split of an Examples artifact as a DataFrame of ``columns``, rows with gaps in a
    non-``optional`` column dropped."""
    from components.common import examples_io

    return clean_frame(examples_io.read_split(examples_uri, split, limit=limit), columns, optional)


#: The regression model's output (``pipelines/modules/tabular.py`` PREDICTED_VALUE).
REGRESSION_OUTPUT = "predicted_value"


def optional_inputs(saved_model_dir: str) -> frozenset[str]:
    """The inputs the model imputes when missing (its input contract); none without one."""
    import json

    path = gfile_io.join(saved_model_dir, INPUT_CONTRACT_FILE)
    if not gfile_io.exists(path):
        return frozenset()
    inputs = json.loads(gfile_io.read_text(path)).get("inputs", {})
    return frozenset(name for name, c in inputs.items() if c.get("optional"))


class ServingModel:
    """The exported model, called through ``serving_default`` on raw-feature DataFrames.

    Attributes:
        path: The SavedModel directory.
        optional: Inputs the model imputes when missing (NaN, or ``""`` for strings).
        input_dtypes: Signature input name -> numpy dtype (``object`` for strings).
        feature_names: Signature inputs, in a stable (sorted) order.
        class_names: Label classes in the order of the ``probabilities`` columns.
    """

    def __init__(self, path: str, batch_size: int = 4096):
        import tensorflow as tf

        self.path = path
        self.batch_size = batch_size
        self._loaded = tf.saved_model.load(path)
        self._fn = self._loaded.signatures[SERVING_SIGNATURE]
        specs = self._fn.structured_input_signature[1]
        self.input_dtypes = {
            name: (object if spec.dtype == tf.string else spec.dtype.as_numpy_dtype) for name, spec in specs.items()
        }
        self.feature_names = sorted(self.input_dtypes)
        self.optional = optional_inputs(path)
        # A regression model (task: regression) answers one number per row, ``predicted_value``.
        self.regression = REGRESSION_OUTPUT in self._fn.structured_outputs
        self.class_names = [REGRESSION_OUTPUT] if self.regression else self._read_classes()

    def _read_classes(self) -> list[str]:
        return gfile_io.read_lines(gfile_io.join(self.path, "assets", "label_vocab"))

    def _inputs(self, df: pd.DataFrame) -> dict:
        import tensorflow as tf

        out = {}
        for name, dtype in self.input_dtypes.items():
            col = df[name]
            if dtype is object:
                # A missing categorical is "" to the model (what ingest never writes as a value).
                out[name] = tf.constant([MISSING_STRING if pd.isna(v) else str(v) for v in col], dtype=tf.string)
            elif name in self.optional:
                out[name] = tf.constant(pd.to_numeric(col).astype("float64").to_numpy(dtype, na_value=np.nan))
            else:
                out[name] = tf.constant(col.to_numpy().astype(dtype))
        return out

    def call(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw outputs of ``serving_default`` for every row (batched)."""
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(df), self.batch_size):
            result = self._fn(**self._inputs(df.iloc[start:start + self.batch_size]))
            for key, value in result.items():
                parts.setdefault(key, []).append(value.numpy())
        out = {k: np.concatenate(v) for k, v in parts.items()}
        if not self.class_names and "classes" in out and len(out["classes"]):
            self.class_names = [c.decode() if isinstance(c, bytes) else str(c) for c in out["classes"][0]]
        return out

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """``probabilities`` [N, C] as float64; for a regression model, ``predicted_value`` as [N, 1]."""
        if len(df) == 0:
            return np.zeros((0, len(self.class_names)))
        if self.regression:
            return self.call(df)[REGRESSION_OUTPUT].astype(np.float64).reshape(-1, 1)
        return self.call(df)["probabilities"].astype(np.float64)

    def predict_class(self, df: pd.DataFrame) -> np.ndarray:
        """Predicted class names [N] (``str``)."""
        proba = self.predict_proba(df)
        if not self.class_names:
            raise ValueError(f"{self.path}: cannot tell the class names (no assets/label_vocab)")
        return np.asarray(self.class_names, dtype=object)[proba.argmax(axis=1)]


def label_strings(values: Sequence) -> np.ndarray:
    """Labels as the model's class names: the Transform writes the label vocabulary as strings
    (integers via ``as_string``), so 1 becomes ``"1"``."""
    out = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        out.append(str(v))
    return np.asarray(out, dtype=object)
