"""TFLite variants of the exported model, measured against the SavedModel; pick the best.

What is converted, and why
--------------------------
The exported ``serving_default`` signature contains the TFT transform graph. Converting it was
tried and does not give a usable TFLite model:

* with builtin ops only, conversion fails: ``tf.StringToHashBucketFast`` (the vocabulary's OOV
  bucket) and ``tf.BroadcastTo`` on strings (the ``classes`` output) are not TFLite builtins;
* with ``SELECT_TF_OPS`` it converts, but the result needs the Flex delegate, which the
  ``tf.lite.Interpreter`` shipped with TF 2.21 does not link ("Select TensorFlow op(s) ... are
  not supported by this interpreter"), nor does the LiteRT runtime on most devices without the
  extra ``tensorflow-lite-select-tf-ops`` dependency. It cannot be verified here, and full-integer
  quantization of string inputs is meaningless anyway.

So we convert the **inner Keras model over transformed features** (``<name>_xf`` inputs:
z-scored float32 for numeric columns, int64 vocabulary indices for categorical columns; output
``probabilities``), which uses builtin ops only. The transform runs **before** it: each variant
ships with ``preprocessing.json`` — the z-score mean/std and the vocabularies, read out of the
exported model's own TFT layer by probing it — and :func:`preprocess` is the reference
implementation (a few lines of numpy, easy to port to Kotlin/Swift/JS). Every accuracy number
below is measured through that path (raw eval rows -> ``preprocess`` -> TFLite), and
``preprocessing_max_abs_diff`` records how far it is from the TFT layer on the eval split.

Variants
--------
* ``float32``: no quantization (the reference TFLite size).
* ``dynamic_range``: weights int8, activations float (``Optimize.DEFAULT``). Note that the
  converter leaves tensors under 1024 elements in float, so a very small model does not shrink.
* ``float16``: weights float16.
* ``full_integer``: weights and activations int8 (``TFLITE_BUILTINS_INT8``), calibrated on a
  representative sample of the *train* split. Inputs/outputs stay float32 (int64 for the
  vocabulary indices), with quantize/dequantize at the edges: clients still feed z-scores.
* ``pruned``: 50 % magnitude pruning with tensorflow-model-optimization 0.8.1 (works with
  ``tf_keras`` 2.21: the pruning wrappers need the legacy Keras, which the image uses), a short
  fine-tune on the train split, ``strip_pruning``, then dynamic-range conversion. Zeros do not
  make a ``.tflite`` file smaller by themselves; ``gzip_bytes`` shows the gain on the wire.
* ``distilled``: a smaller student MLP (same inputs) trained on the teacher's probabilities
  over the train split, dynamic-range converted.

Selection: among variants whose eval accuracy is at most ``accuracy_budget`` below the
SavedModel's, the smallest file wins (ties: lower latency). Latency is the median of single-
example ``invoke`` calls (1 thread), without preprocessing.

Regression (a model whose output is ``predicted_value``, in the label's units): the budget is an
**error budget**, ``max_error_increase``: a variant qualifies when its eval MAE is at most
``(1 + max_error_increase)`` times the SavedModel's (0.05: 5 % more error). Pruning fine-tunes on
the squared error and the distilled student regresses the teacher's predicted values. The
report's generic columns then hold the regression numbers (``metric`` says which): ``accuracy``
is the MAE, ``accuracy_delta`` the MAE's change (positive: worse), ``agreement`` the share of
eval rows predicted within 1 % of the labels' standard deviation of the SavedModel's value,
``max_probability_diff`` the largest change of the predicted value.
"""

from __future__ import annotations

import gzip
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from components.common import gfile_io
from components.common import html as report_html
from components.common.model_contract import MISSING_STRING, TRANSFORM_RAW_SIGNATURE

QUANTIZATIONS = ("dynamic_range", "float16", "full_integer")
ALL_VARIANTS = ("float32", *QUANTIZATIONS, "pruned", "distilled")
XF_SUFFIX = "_xf"
#: The outputs of the exported model: class probabilities, or the regression's one value.
PROBABILITIES = "probabilities"
PREDICTED_VALUE = "predicted_value"
#: Regression ``agreement``: a variant's value within this fraction of the labels' std of the SavedModel's.
AGREEMENT_TOLERANCE = 0.01
VOCAB_PREFIX = "vocab_"
OOV_PROBE = "\x00__mlops_oov_probe__"


# --------------------------------------------------------------------------- preprocessing


def preprocess(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, np.ndarray]:
    """Raw rows -> the TFLite model's inputs, following ``preprocessing.json``.

    ``spec["features"][name]`` is ``{"type": "numeric", "input": ..., "mean": m, "std": s}``
    (input = ``(x - m) / s`` as float32) or ``{"type": "categorical", "input": ...,
    "vocabulary": [...], "oov_index": k}`` (input = position in the vocabulary, else ``k``;
    int64).
    """
    out = {}
    for name, f in spec["features"].items():
        col = df[name]
        if f["type"] == "numeric":
            z = (col.to_numpy(dtype=np.float64, na_value=np.nan) - f["mean"]) / f["std"]
            # A missing number is the training mean (z = 0), as the SavedModel imputes it.
            out[f["input"]] = np.nan_to_num(z, nan=0.0).astype(np.float32)
        else:
            index = {v: i for i, v in enumerate(f["vocabulary"])}
            # A missing category is "" (its own vocabulary term when training saw gaps), as in the SavedModel.
            out[f["input"]] = np.array([index.get(MISSING_STRING if pd.isna(v) else str(v), f["oov_index"]) for v in col],
                                       dtype=np.int64)
    return out


class ExportedModel:
    """The exported SavedModel opened three ways: ``serving_default`` (raw features), the inner
    Keras model (transformed features) and its TFT layer (raw -> transformed)."""

    def __init__(self, saved_model_dir: str):
        import tf_keras as keras

        self.path = saved_model_dir
        self._loaded = keras.models.load_model(saved_model_dir)
        # A plain functional model over the same layers: the loaded one also tracks the TFT layer,
        # which pruning's clone_model rejects ("Subclassed models are not supported").
        self.keras = keras.Model(inputs=self._loaded.inputs, outputs=self._loaded.outputs)
        self.tft_layer = self._loaded.tft_layer
        # The signatures of the same load: the model is read once.
        self.serving = self._loaded.signatures["serving_default"]
        specs = self.serving.structured_input_signature[1]
        self.raw_dtypes = {n: s.dtype for n, s in specs.items()}
        self.feature_names = sorted(specs)
        self.input_names = list(self.keras.input_names)
        self.output = PREDICTED_VALUE if PREDICTED_VALUE in self.serving.structured_outputs else PROBABILITIES
        self.regression = self.output == PREDICTED_VALUE
        self.class_names = [] if self.regression else _read_lines(gfile_io.join(saved_model_dir, "assets", "label_vocab"))

    def input_of(self, feature: str) -> str:
        name = feature + XF_SUFFIX
        if name not in self.input_names:
            raise KeyError(f"the Keras model has no input {name!r} for feature {feature!r} (inputs: {self.input_names})")
        return name

    def transform(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw rows -> transformed model inputs, through the exported transform.

        The model's ``transform_raw`` signature takes the serving inputs (an optional feature's
        missing values as NaN / ``""``, as the model imputes them); a model exported before it
        existed has only required features, fed to its TFT layer directly.
        """
        import tensorflow as tf

        raw = self._serving_inputs(df)
        if TRANSFORM_RAW_SIGNATURE in self._loaded.signatures:
            out = self._loaded.signatures[TRANSFORM_RAW_SIGNATURE](**raw)
        else:
            try:
                out = self.tft_layer({k: tf.expand_dims(v, 1) for k, v in raw.items()})
            except (ValueError, TypeError, tf.errors.InvalidArgumentError):
                out = self.tft_layer(raw)
        return {name: np.asarray(out[name]).reshape(-1) for name in self.input_names}

    def predict_raw(self, df: pd.DataFrame) -> np.ndarray:
        """``probabilities`` ([rows, classes]) or ``predicted_value`` ([rows]) from ``serving_default`` on raw rows."""
        return self.serving(**self._serving_inputs(df))[self.output].numpy()

    def _serving_inputs(self, df: pd.DataFrame) -> dict[str, Any]:
        """Raw rows as ``serving_default``'s tensors; a missing value as NaN / ``""`` (the model imputes it)."""
        import tensorflow as tf

        out = {}
        for name, dtype in self.raw_dtypes.items():
            if dtype == tf.string:
                values = [MISSING_STRING if pd.isna(v) else str(v) for v in df[name]]
            elif dtype.is_floating:
                values = df[name].to_numpy(dtype=dtype.as_numpy_dtype, na_value=np.nan)
            else:
                values = df[name].to_numpy()
            out[name] = tf.constant(values, dtype=dtype)
        return out

    def preprocessing_spec(self, sample: pd.DataFrame) -> dict[str, Any]:
        """``preprocessing.json``: mean/std per numeric feature and vocabulary per categorical one,
        recovered by probing the TFT layer (the sample's min and max for numerics; every vocabulary term and
        an unseen string for categoricals), then checked on ``sample``."""
        import tensorflow as tf

        probe = sample.iloc[[0, 0, 0]].reset_index(drop=True)
        numeric = [n for n in self.feature_names if self.raw_dtypes[n] != tf.string]
        points = {}
        for n in numeric:
            # Probe at two far-apart points of the data's own range: z-scores are float32, so
            # probing at 0 and 1 would lose precision for a column in the thousands.
            lo, hi = float(sample[n].min()), float(sample[n].max())
            hi = hi if hi > lo else lo + 1.0
            # A whole midpoint between whole ends: an optional integer feature's input is float64
            # and the model casts it to int64, which would cut 53.5 to 53 and break the affine check.
            mid = (lo + hi) // 2 if lo.is_integer() and hi.is_integer() else (lo + hi) / 2
            probe[n] = np.array([lo, hi, mid]).astype(self.raw_dtypes[n].as_numpy_dtype)
            points[n] = tuple(float(v) for v in probe[n])
        t = self.transform(probe)
        features: dict[str, Any] = {}
        for n in numeric:
            (x0, x1, xm), (z0, z1, zm) = points[n], (float(v) for v in t[self.input_of(n)])
            std = (x1 - x0) / (z1 - z0) if z1 != z0 else 1.0
            mean = x0 - z0 * std
            if abs((xm - mean) / std - zm) > 1e-4 * max(1.0, abs(zm)):
                raise ValueError(f"feature {n!r}: the transform is not a z-score (affine); cannot export it for TFLite")
            features[n] = {"type": "numeric", "input": self.input_of(n), "mean": mean, "std": std}
        for n in self.feature_names:
            if n in features:
                continue
            vocab = _read_lines(gfile_io.join(self.path, "assets", f"{VOCAB_PREFIX}{n}"))
            terms = [*vocab, OOV_PROBE]
            rows = sample.iloc[[0] * len(terms)].reset_index(drop=True)
            rows[n] = terms
            idx = [int(v) for v in self.transform(rows)[self.input_of(n)]]
            if idx[:-1] != list(range(len(vocab))):
                raise ValueError(f"feature {n!r}: vocabulary file and TFT lookup disagree")
            features[n] = {"type": "categorical", "input": self.input_of(n), "vocabulary": vocab, "oov_index": idx[-1]}
        output_note = ("Output: predicted_value, in the label's units." if self.regression
                       else "Output: probabilities per class, in 'classes' order.")
        spec = {
            "features": features,
            "inputs": self.input_names,
            "output": self.output,
            "classes": self.class_names,
            "note": "Run these steps before the TFLite model: numeric: (x - mean) / std as float32, 0 where x is "
            "missing; categorical: index in vocabulary (a missing value is the empty string; else oov_index) as int64. "
            f"{output_note}",
        }
        return spec


def _read_lines(path: str) -> list[str]:
    return gfile_io.read_lines(path)  # [] when missing; local or gs://


# --------------------------------------------------------------------------- conversion


def convert(keras_model, variant: str, representative: dict[str, np.ndarray] | None = None, max_calibration: int = 200) -> bytes:
    """Keras model -> ``.tflite`` bytes for ``float32``/``dynamic_range``/``float16``/``full_integer``."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if variant == "float32":
        pass
    elif variant == "dynamic_range":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "full_integer":
        if not representative:
            raise ValueError("full_integer quantization needs representative data")
        n = min(max_calibration, len(next(iter(representative.values()))))

        def gen():
            for i in range(n):
                yield {k: v[i:i + 1] for k, v in representative.items()}

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = gen
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(ALL_VARIANTS)}")
    return conv.convert()


class TFLiteModel:
    """A ``.tflite`` model called through its signature runner (1 thread)."""

    def __init__(self, content: bytes):
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
            self.interpreter = tf.lite.Interpreter(model_content=content, num_threads=1)
        self.runner = self.interpreter.get_signature_runner()
        self.input_details = self.runner.get_input_details()

    def _feed(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: np.asarray(inputs[k]).astype(d["dtype"]) for k, d in self.input_details.items()}

    def predict(self, inputs: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
        """``probabilities`` [rows, classes], or a regression's one output as [rows]."""
        n = len(next(iter(inputs.values())))
        parts = []
        for s in range(0, n, batch_size):
            out = self.runner(**self._feed({k: v[s:s + batch_size] for k, v in inputs.items()}))
            # The converted Keras model names its output after its last layer.
            value = out[PROBABILITIES] if PROBABILITIES in out else next(iter(out.values()))
            parts.append(np.asarray(value, dtype=np.float64))
        out = np.concatenate(parts)
        return out if PROBABILITIES in self.runner.get_output_details() else out.reshape(len(out), -1)[:, 0]

    def latency_ms(self, one: dict[str, np.ndarray], runs: int = 200, warmup: int = 20) -> float:
        feed = self._feed({k: v[:1] for k, v in one.items()})
        for _ in range(warmup):
            self.runner(**feed)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            self.runner(**feed)
            times.append(time.perf_counter() - t)
        return 1000 * statistics.median(times)


# --------------------------------------------------------------------------- pruning, distillation


def prune(keras_model, x: dict[str, np.ndarray], y: np.ndarray, sparsity: float = 0.5, epochs: int = 10,
          learning_rate: float = 1e-3, batch_size: int = 32, regression: bool = False):
    """Magnitude pruning to ``sparsity`` with a short fine-tune; returns the stripped model.

    The input model is left untouched (a copy is pruned). ``y``: class indices, or the label's
    values for a regression model (fine-tuned on the squared error).
    """
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    copy = keras.models.clone_model(keras_model)
    copy.set_weights(keras_model.get_weights())
    schedule = tfmot.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, frequency=1)
    if regression:
        # The regression head ends in a Rescaling layer, which pruning's registry refuses: wrap the
        # layers with weights to prune (Dense kernels, embeddings) one by one instead. The wrappers
        # hold the copy's own (trained) layers; the others are reused as they are.
        def wrap(layer):
            if isinstance(layer, (keras.layers.Dense, keras.layers.Embedding)):
                return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
            return layer

        pruned = keras.models.clone_model(copy, clone_function=wrap)
    else:
        pruned = tfmot.sparsity.keras.prune_low_magnitude(copy, pruning_schedule=schedule)
    loss = keras.losses.MeanSquaredError() if regression else keras.losses.SparseCategoricalCrossentropy()
    pruned.compile(keras.optimizers.Adam(learning_rate), loss)
    pruned.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(pruned)


def sparsity_of(keras_model) -> float:
    """Fraction of zeros among kernel/embedding weights."""
    zeros = total = 0
    for layer in keras_model.layers:
        for w in layer.weights:
            if "kernel" in w.name or "embeddings" in w.name:
                arr = w.numpy()
                zeros += int((arr == 0).sum())
                total += arr.size
    return zeros / total if total else 0.0


def distill(teacher, x: dict[str, np.ndarray], hidden_units: Sequence[int] = (8,), epochs: int = 40,
            learning_rate: float = 0.01, batch_size: int = 32, seed: int = 0, regression: bool = False):
    """A smaller student over the same inputs, trained on the teacher's probabilities, or for a
    regression teacher on its predicted values (squared error; like the pipeline's model, the
    student's unit is rescaled by the teacher's mean and spread, so it learns a z-score)."""
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    vocab_sizes = {}
    for layer in teacher.layers:
        if isinstance(layer, keras.layers.Embedding):
            vocab_sizes[layer._inbound_nodes[0].inbound_layers.name] = layer.input_dim
    inputs, encoded = {}, []
    for inp in teacher.inputs:
        layer_name = inp._keras_history.layer.name
        if inp.dtype.is_integer:
            size = vocab_sizes.get(layer_name) or int(max(x[layer_name].max() + 1, 2))
            i = keras.Input(shape=(), name=layer_name, dtype=inp.dtype)
            encoded.append(keras.layers.Embedding(size, min(2, size))(i))
        else:
            i = keras.Input(shape=(), name=layer_name, dtype=tf.float32)
            encoded.append(keras.layers.Reshape((1,))(i))
        inputs[layer_name] = i
    h = keras.layers.Concatenate()(encoded) if len(encoded) > 1 else encoded[0]
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    soft = teacher.predict(x, verbose=0, batch_size=1024)
    if regression:
        soft = soft.reshape(len(soft), -1)[:, :1]
        scale = float(soft.std()) or 1.0
        z = keras.layers.Dense(1)(h)
        out = keras.layers.Rescaling(scale=scale, offset=float(soft.mean()), name=PREDICTED_VALUE)(z)
        loss = keras.losses.MeanSquaredError()
    else:
        n_classes = teacher.outputs[0].shape[-1]
        out = keras.layers.Dense(n_classes, activation="softmax", name=PROBABILITIES)(h)
        loss = keras.losses.CategoricalCrossentropy()
    student = keras.Model(inputs=inputs, outputs=out)
    student.compile(keras.optimizers.Adam(learning_rate), loss)
    student.fit(x, soft, epochs=epochs, batch_size=batch_size, verbose=0)
    return student


# --------------------------------------------------------------------------- report


@dataclass
class VariantResult:
    """One row of the table. ``accuracy_delta`` = variant - SavedModel (negative: worse).

    Regression: ``mae`` and ``mae_increase`` (relative to the SavedModel's MAE: 0.05 = 5 % more
    error); the generic columns hold the regression numbers (see the module docstring).
    """

    name: str
    file: str = ""
    size_bytes: int = 0
    gzip_bytes: int = 0
    accuracy: float | None = None
    accuracy_delta: float | None = None
    agreement: float | None = None
    max_probability_diff: float | None = None
    latency_ms: float | None = None
    within_budget: bool = False
    smaller_than_saved_model: bool = False
    smaller_than_float32: bool | None = None
    notes: str = ""
    error: str = ""
    mae: float | None = None
    mae_increase: float | None = None


@dataclass
class CompressionReport:
    """The table and the choice.

    ``metric``: what the budget bounds: ``accuracy`` (classification, ``accuracy_budget``) or
    ``mae`` (regression, ``max_error_increase``).
    """

    accuracy_budget: float
    n_eval: int
    n_train: int
    saved_model: dict[str, Any]
    variants: list[VariantResult] = field(default_factory=list)
    best: str | None = None
    preprocessing_max_abs_diff: float = 0.0
    reason: str = ""
    metric: str = "accuracy"
    max_error_increase: float | None = None

    def row(self, name: str) -> VariantResult:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dir_size(path: str) -> int:
    return gfile_io.dir_size(path)


def saved_model_latency_ms(model: ExportedModel, one_row: pd.DataFrame, runs: int = 50, warmup: int = 5) -> float:
    for _ in range(warmup):
        model.predict_raw(one_row)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        model.predict_raw(one_row)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def within_error_budget(mae: float, reference_mae: float, max_error_increase: float) -> bool:
    """A regression variant's eval MAE is at most ``(1 + max_error_increase)`` x the SavedModel's."""
    return mae <= reference_mae * (1.0 + max_error_increase) + 1e-9


def regression_scores(pred: np.ndarray, reference: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """MAE of ``pred`` against ``y``; agreement with and largest change from ``reference``."""
    pred, reference, y = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (pred, reference, y))
    tolerance = AGREEMENT_TOLERANCE * (float(y.std()) or 1.0)
    diff = np.abs(pred - reference)
    return {"mae": float(np.abs(pred - y).mean()), "agreement": float((diff <= tolerance).mean()),
            "max_diff": float(diff.max()) if len(diff) else 0.0}


def choose_best(variants: Iterable[VariantResult]) -> VariantResult | None:
    """Smallest file within the budget; ties broken by latency."""
    ok = [v for v in variants if v.within_budget and not v.error]
    return min(ok, key=lambda v: (v.size_bytes, v.latency_ms or 0.0)) if ok else None


def compress(
    saved_model_dir: str,
    train: pd.DataFrame,
    evalset: pd.DataFrame,
    label: str,
    out_dir: str,
    variants: Sequence[str] = QUANTIZATIONS,
    accuracy_budget: float = 0.02,
    do_prune: bool = True,
    do_distill: bool = True,
    student_hidden_units: Sequence[int] = (8,),
    prune_sparsity: float = 0.5,
    latency_runs: int = 200,
    log: Callable[[str], None] = lambda msg: None,
    max_error_increase: float = 0.05,
) -> CompressionReport:
    """Builds, measures and writes every variant; copies the best one to ``out_dir/best``.

    Args:
        saved_model_dir: The exported SavedModel (``Format-Serving``).
        train: Raw train rows (features + label): calibration, pruning fine-tune, distillation.
        evalset: Raw eval rows (features + label): accuracy of the SavedModel and every variant.
        label: Label column.
        out_dir: Gets ``variants/<name>.tflite``, ``report.json``, ``index.html`` and, when a
            variant is within the budget, ``best/{model.tflite, preprocessing.json, labels.txt,
            variant.json}``.
        variants: Quantizations to build (``float32`` is always built as the reference).
        accuracy_budget: Classification: how far below the SavedModel's eval accuracy a variant may be.
        max_error_increase: Regression (the model outputs ``predicted_value``): how much more eval MAE
            than the SavedModel's a variant may have, relative.
    """
    unknown = [v for v in variants if v not in QUANTIZATIONS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(QUANTIZATIONS)}")
    gfile_io.makedirs(gfile_io.join(out_dir, "variants"))
    model = ExportedModel(saved_model_dir)
    columns = [*model.feature_names, label]
    train, evalset = (_complete_rows(df, columns) for df in (train, evalset))
    if len(evalset) == 0 or len(train) == 0:
        raise ValueError(f"compress needs complete train and eval rows ({len(train)} train, {len(evalset)} eval)")
    regression = model.regression
    classes = model.class_names
    if regression:
        y_eval = evalset[label].to_numpy(dtype=np.float64)
        y_train = train[label].to_numpy(dtype=np.float64)
    else:
        y_eval = np.array([classes.index(_label_str(v)) for v in evalset[label]])
        y_train = np.array([classes.index(_label_str(v)) for v in train[label]])
    ref_proba = model.predict_raw(evalset)
    if regression:
        ref_pred = ref_proba.reshape(-1)
        ref_acc = regression_scores(ref_pred, ref_pred, y_eval)["mae"]  # the MAE (see the module docstring)
    else:
        ref_pred = ref_proba.argmax(1)
        ref_acc = float((ref_pred == y_eval).mean())
    sm_size = dir_size(saved_model_dir)
    report = CompressionReport(
        accuracy_budget=accuracy_budget,
        n_eval=len(evalset),
        n_train=len(train),
        saved_model={
            "size_bytes": sm_size,
            "accuracy": ref_acc,
            **({"mae": ref_acc} if regression else {}),
            "latency_ms": saved_model_latency_ms(model, evalset.iloc[:1]),
            "note": "serving_default on raw features, TFT transform included",
        },
        metric="mae" if regression else "accuracy",
        max_error_increase=max_error_increase if regression else None,
    )
    spec = model.preprocessing_spec(evalset)
    x_eval = preprocess(evalset, spec)
    x_eval_tft = model.transform(evalset)
    report.preprocessing_max_abs_diff = float(
        max(np.abs(x_eval[k].astype(np.float64) - x_eval_tft[k].astype(np.float64)).max() for k in x_eval)
    )
    x_train = model.transform(train)
    log(f"SavedModel {report.metric} {ref_acc:.4f} on {len(evalset)} eval rows; preprocessing diff "
        f"{report.preprocessing_max_abs_diff:.2e}")

    builders: list[tuple[str, Callable[[], tuple[bytes, str]]]] = [("float32", lambda: (convert(model.keras, "float32"), ""))]
    for v in variants:
        builders.append((v, lambda v=v: (convert(model.keras, v, x_train), "")))
    if do_prune:
        def build_pruned():
            pruned = prune(model.keras, x_train, y_train, sparsity=prune_sparsity, regression=regression)
            return convert(pruned, "dynamic_range"), f"{sparsity_of(pruned):.0%} of weights zero; dynamic-range converted"
        builders.append(("pruned", build_pruned))
    if do_distill:
        def build_student():
            student = distill(model.keras, x_train, hidden_units=student_hidden_units, regression=regression)
            n = student.count_params()
            return convert(student, "dynamic_range"), (
                f"student {list(student_hidden_units)} ({n} params vs {model.keras.count_params()}); dynamic-range converted")
        builders.append(("distilled", build_student))

    float32_size = None
    for name, build in builders:
        row = VariantResult(name=name)
        try:
            content, row.notes = build()
            rel = f"variants/{name}.tflite"
            gfile_io.write_bytes(gfile_io.join(out_dir, rel), content)
            row.file = rel
            row.size_bytes = len(content)
            row.gzip_bytes = len(gzip.compress(content, 9))
            lite = TFLiteModel(content)
            proba = lite.predict(x_eval)
            if regression:
                scores = regression_scores(proba, ref_pred, y_eval)
                row.accuracy = row.mae = scores["mae"]
                row.accuracy_delta = row.mae - ref_acc
                row.mae_increase = row.accuracy_delta / ref_acc if ref_acc else (0.0 if row.mae == 0 else float("inf"))
                row.agreement, row.max_probability_diff = scores["agreement"], scores["max_diff"]
                row.within_budget = within_error_budget(row.mae, ref_acc, max_error_increase)
            else:
                pred = proba.argmax(1)
                row.accuracy = float((pred == y_eval).mean())
                row.accuracy_delta = row.accuracy - ref_acc
                row.agreement = float((pred == ref_pred).mean())
                row.max_probability_diff = float(np.abs(proba - ref_proba).max())
                row.within_budget = ref_acc - row.accuracy <= accuracy_budget + 1e-9
            row.latency_ms = lite.latency_ms(x_eval, runs=latency_runs)
            row.smaller_than_saved_model = row.size_bytes < sm_size
            if name == "float32":
                float32_size = row.size_bytes
            elif float32_size is not None:
                row.smaller_than_float32 = row.size_bytes < float32_size
        except Exception as exc:  # one broken variant must not hide the others
            row.error = f"{type(exc).__name__}: {str(exc)[:500]}"
        log(f"variant {name}: {row.size_bytes} B, {report.metric} {row.accuracy}, {row.error or 'ok'}")
        report.variants.append(row)

    best = choose_best(report.variants)
    best_dir = gfile_io.join(out_dir, "best")
    gfile_io.rmtree(best_dir)
    if best is None and regression:
        report.reason = (f"no variant within {max_error_increase:.0%} more MAE than the SavedModel's "
                         f"{ref_acc:.4g} (compress.max_error_increase)")
    elif best is None:
        report.reason = f"no variant within {accuracy_budget} of the SavedModel's accuracy {ref_acc:.4f}"
    else:
        report.best = best.name
        report.reason = (
            f"{best.name}: smallest within the error budget ({best.size_bytes} B, MAE {best.mae:.4g} vs "
            f"{ref_acc:.4g}, {best.mae_increase:+.1%})" if regression else
            f"{best.name}: smallest within the accuracy budget ({best.size_bytes} B, "
            f"accuracy {best.accuracy:.4f} vs {ref_acc:.4f})"
        )
        gfile_io.copy_file(gfile_io.join(out_dir, best.file), gfile_io.join(best_dir, "model.tflite"))
        gfile_io.write_json(gfile_io.join(best_dir, "preprocessing.json"), spec)
        if not regression:
            gfile_io.write_text(gfile_io.join(best_dir, "labels.txt"), "".join(c + "\n" for c in classes))
        budget = ({"saved_model_mae": ref_acc, "max_error_increase": max_error_increase} if regression
                  else {"saved_model_accuracy": ref_acc, "accuracy_budget": accuracy_budget})
        gfile_io.write_json(gfile_io.join(best_dir, "variant.json"), {**asdict(best), "file": "model.tflite", **budget})
    gfile_io.write_json(gfile_io.join(out_dir, "report.json"), report.to_dict())
    gfile_io.write_text(gfile_io.join(out_dir, "index.html"), render_html(report))
    return report


def _complete_rows(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the data (have {sorted(df.columns)})")
    return df[list(columns)].dropna().reset_index(drop=True)


def _label_str(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def markdown_table(report: CompressionReport) -> str:
    """The table as Markdown (for docs/benchmarks.md)."""
    sm = report.saved_model
    lines = [
        "| variant | size (bytes) | gzip (bytes) | accuracy | Δ accuracy | agreement | latency (ms, 1 example) | within budget |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|",
        f"| SavedModel (reference) | {sm['size_bytes']} | | {sm['accuracy']:.4f} | | | {sm['latency_ms']:.3f} | |",
    ]
    for v in report.variants:
        if v.error:
            lines.append(f"| {v.name} | failed: {v.error} | | | | | | |")
            continue
        mark = "best" if v.name == report.best else ("yes" if v.within_budget else "no")
        lines.append(
            f"| {v.name} | {v.size_bytes} | {v.gzip_bytes} | {v.accuracy:.4f} | {v.accuracy_delta:+.4f} | "
            f"{v.agreement:.3f} | {v.latency_ms:.3f} | {mark} |"
        )
    return "\n".join(lines)


def render_html(report: CompressionReport) -> str:
    """The compression page: the choice and its reason, one row per variant against the SavedModel."""
    return report_html.render(
        "compression.html.j2",
        kind="compression",
        title="Model compression (TFLite)",
        verdict=f"chosen: {report.best}" if report.best else "no variant chosen",
        verdict_class="ok" if report.best else "warn",
        report=report,
    )
