"""Generic TFX module file for tabular classification and regression: ``preprocessing_fn`` and ``run_fn``.

Nothing here is written for one dataset. Feature names, types, the label and hyperparameters
arrive through ``custom_config`` (built by ``PipelineConfig.module_config()``), so a new CSV needs
a new YAML only. Transform and Trainer import it by path (``pipelines.modules.tabular``) from the
project image, which is also the SDK container of Beam workers; it imports TensorFlow, TFT and
tfx_bsl only, so a worker pays for nothing else.
"""

from __future__ import annotations

import json
import os
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

# What an optional serving input holds where a value is missing, and where the contract is written.
from components.common.model_contract import (
    EXAMPLES_SIGNATURE,
    INPUT_CONTRACT_FILE,
    MISSING_STRING,
    TRANSFORM_RAW_SIGNATURE,
)

LABEL_VOCAB = "label_vocab"
#: The regression model's one output: the predicted label value (in the label's own units).
PREDICTED_VALUE = "predicted_value"
XF_SUFFIX = "_xf"
OOV_BUCKETS = 1


def xf(name: str) -> str:
    """Name of the transformed version of a raw column."""
    return f"{name}{XF_SUFFIX}"


def _features(custom_config: dict[str, Any]) -> list[dict[str, str]]:
    return list(custom_config["features"])


def is_regression(custom_config: dict[str, Any]) -> bool:
    """``task: regression`` (a numeric label and a one-value output) rather than classification."""
    return custom_config.get("task", "classification") == "regression"




def _dense(x: Any, default: Any) -> tf.Tensor:
    """Dense [batch] tensor from a dense [batch, 1] / [batch] or sparse input."""
    if isinstance(x, tf.sparse.SparseTensor):
        x = tf.sparse.to_dense(tf.sparse.reset_shape(x, [x.dense_shape[0], 1]), default_value=default)
    if x.shape.rank == 2:
        x = tf.squeeze(x, axis=1)
    return x


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, Any]:
    """TFT preprocessing: z-score numerics, vocabularies for categoricals, label to index.

    A column the schema marks optional (some rows miss it) arrives as a ``SparseTensor``; its
    missing values are imputed here, so training and serving fill them the same way: a numeric
    one with the training mean (the z-score is computed over the present values and a missing
    value becomes 0, the mean), a categorical one with its own category (the empty string, in
    the vocabulary like any value).

    Args:
        inputs: Raw features from TFT (dense [batch, 1] for required columns, sparse for optional).
        custom_config: ``{"label": str, "features": [{"name", "type"}], ...}``.

    Returns:
        Transformed features: ``<name>_xf`` per feature (float32 [batch] or int64 [batch]) and the
        label index ``<label>_xf`` (int64 [batch]).
    """
    outputs = {}
    for feat in _features(custom_config):
        name, ftype = feat["name"], feat["type"]
        raw = inputs[name]
        if ftype == "categorical":
            value = _dense(raw, MISSING_STRING.encode())
            outputs[xf(name)] = tft.compute_and_apply_vocabulary(
                value, num_oov_buckets=OOV_BUCKETS, vocab_filename=f"vocab_{name}"
            )
        elif isinstance(raw, tf.sparse.SparseTensor):
            # Mean and variance over the present values only; a missing value is 0 = the mean.
            z = tft.scale_to_z_score(tf.sparse.map_values(tf.cast, raw, tf.float32))
            outputs[xf(name)] = _dense(z, 0.0)
        else:
            outputs[xf(name)] = tft.scale_to_z_score(tf.cast(_dense(raw, 0), tf.float32))
    label = custom_config["label"]
    raw_label = _dense(inputs[label], b"" if inputs[label].dtype == tf.string else 0)
    if is_regression(custom_config):
        # The value itself: the model predicts in the label's units (see build_keras_model).
        outputs[xf(label)] = tf.cast(raw_label, tf.float32)
        return outputs
    if raw_label.dtype != tf.string:
        raw_label = tf.strings.as_string(raw_label)
    # A two-class label's order is fixed (negative, positive: ``label_classes``), so the Evaluator
    # knows the positive class's index; other labels' vocabularies follow frequency.
    reserved = custom_config.get("label_classes") or None
    outputs[xf(label)] = tft.compute_and_apply_vocabulary(raw_label, vocab_filename=LABEL_VOCAB,
                                                          reserved_tokens=reserved)
    return outputs


def build_keras_model(
    custom_config: dict[str, Any], tf_transform_output: tft.TFTransformOutput, label_stats: tuple[float, float] = (0.0, 1.0)
) -> tf.keras.Model:
    """A small MLP over transformed features: embeddings for categoricals, dense layers on top.

    Classification: a softmax over the label vocabulary. Regression: one linear unit, rescaled by
    the training label's ``(mean, std)`` (``label_stats``), so the network learns a z-scored
    target while the model (and the serving signature) answers in the label's own units.
    """
    hp = custom_config["model"]
    inputs, encoded = {}, []
    for feat in _features(custom_config):
        name = xf(feat["name"])
        if feat["type"] == "categorical":
            inp = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
            size = tf_transform_output.vocabulary_size_by_name(f"vocab_{feat['name']}") + OOV_BUCKETS
            emb = tf.keras.layers.Embedding(size, min(8, size))(inp)
            encoded.append(emb)
        else:
            inp = tf.keras.Input(shape=(), name=name, dtype=tf.float32)
            encoded.append(tf.keras.layers.Reshape((1,))(inp))
        inputs[name] = inp
    x = tf.keras.layers.Concatenate()(encoded) if len(encoded) > 1 else encoded[0]
    for units in hp["hidden_units"]:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
        if hp.get("dropout"):
            x = tf.keras.layers.Dropout(hp["dropout"])(x)
    if is_regression(custom_config):
        # Adam's steps do not depend on the gradient's scale, so plain MSE in label units trains
        # the z-scored unit at the same pace for any label scale.
        mean, std = label_stats
        z = tf.keras.layers.Dense(1, name="z_value")(x)
        out = tf.keras.layers.Rescaling(scale=std, offset=mean, name=PREDICTED_VALUE)(z)  # [batch, 1]
        loss, metric = tf.keras.losses.MeanSquaredError(), tf.keras.metrics.MeanAbsoluteError()
    else:
        n_classes = tf_transform_output.vocabulary_size_by_name(LABEL_VOCAB)
        out = tf.keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
        loss, metric = tf.keras.losses.SparseCategoricalCrossentropy(), tf.keras.metrics.SparseCategoricalAccuracy()
    model = tf.keras.Model(inputs=inputs, outputs=out)
    model.compile(optimizer=tf.keras.optimizers.Adam(hp["learning_rate"]), loss=loss, metrics=[metric])
    return model


def label_mean_std(dataset) -> tuple[float, float]:
    """Mean and standard deviation of the label over one pass of a ``(features, label)`` dataset."""
    total = total_sq = 0.0
    count = 0
    for _, y in dataset:
        y = tf.cast(tf.reshape(y, [-1]), tf.float64)
        total += float(tf.reduce_sum(y))
        total_sq += float(tf.reduce_sum(tf.square(y)))
        count += int(tf.size(y))
    mean = total / max(count, 1)
    var = max(total_sq / max(count, 1) - mean * mean, 0.0)
    return mean, (var ** 0.5) or 1.0


# TFXIO's records-then-batches defaults (tfx_bsl TensorFlowDatasetOptions), kept so the order is its order.
SHUFFLE_BUFFER = 10_000


def _dataset(file_pattern, tf_transform_output, label, batch_size, shuffle: bool) -> tf.data.Dataset:
    """``(features, label)`` batches of the transformed examples, read with plain tf.data.

    The same ops in the same order as TFXIO's ``TensorFlowDataset`` (tfx_bsl's
    ``make_tf_record_dataset``: list the files, read records, shuffle 10,000 records with the
    global seed, batch, parse), so with one shard (what Transform writes on DirectRunner) the
    batches are identical, seed for seed. Two differences make an epoch 4-8x faster (5.2 s vs
    0.6-1.3 s for 225k rows, ``docs/benchmarks.md``): files are read one after another instead
    of through a parallel interleave, which on a single file only adds a thread hand-off per
    record, and the parse runs as a parallel ``map``. With several shards the files are read in
    their (seeded) listed order rather than interleaved: still deterministic, a different order.
    """
    files = tf.io.gfile.glob(file_pattern)
    if not files:
        raise ValueError(f"no transformed examples match {file_pattern}")
    compression = "GZIP" if all(f.endswith(".gz") for f in files) else ""
    spec = tf_transform_output.transformed_feature_spec()
    label_key = xf(label)
    ds = tf.data.Dataset.list_files(file_pattern, shuffle=shuffle)
    ds = ds.flat_map(lambda f: tf.data.TFRecordDataset(f, compression))
    if shuffle:
        ds = ds.shuffle(SHUFFLE_BUFFER)
    ds = ds.batch(batch_size).map(
        lambda records: tf.io.parse_example(records, spec), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return ds.map(lambda features: (features, features.pop(label_key))).prefetch(tf.data.AUTOTUNE)


def distribution_strategy(gpus: int) -> tf.distribute.Strategy:
    """The default strategy on one device; MirroredStrategy over two or more visible GPUs;
    MultiWorkerMirroredStrategy when ``TF_CONFIG`` names more than one worker.

    ``gpus`` is what the config asked for; we use what is actually visible, since a local run
    of a GPU config must still work on a laptop. MirroredStrategy on a single device (CPU or one
    GPU) only adds cost: it rebuilds a distributed iterator every epoch (fit took 3x as long on
    penguins, same accuracy).
    """
    visible = tf.config.list_physical_devices("GPU")
    if gpus and not visible:
        tf.get_logger().warning("config asks for %d GPU(s) but none is visible; training on CPU", gpus)
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    if len(cluster.get("worker", [])) + len(cluster.get("chief", [])) > 1:
        # Several training machines (TF_CONFIG, as Vertex / a TFJob sets it).
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(visible) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def make_serving_fns(model: tf.keras.Model, tf_transform_output: tft.TFTransformOutput, custom_config: dict[str, Any]):
    """Builds the exported signatures.

    ``serving_default`` takes **raw** features as named tensors of shape [batch] and applies
    the transform graph, so clients never re-implement preprocessing. An optional feature (a
    ``VarLenFeature`` in the raw spec: the schema lets rows miss it) is a float64 input with NaN
    for a missing value (numeric) or a string input with ``""`` (categorical); the model imputes
    it as ``preprocessing_fn`` does in training. ``transform_features``
    takes serialized tf.Examples and returns transformed features including the label index
    (TFMA uses it to find the label). ``transform_raw`` takes ``serving_default``'s inputs and
    returns the model's inputs (the TFT layer's output), for tools that feed the inner Keras
    model (compression) without re-implementing how a missing value enters the transform.
    ``serve_examples`` answers as ``serving_default`` from serialized tf.Examples (the
    Evaluator's signature when a feature may be missing).
    """
    model.tft_layer = tf_transform_output.transform_features_layer()
    label = custom_config["label"]
    raw_spec = tf_transform_output.raw_feature_spec()
    regression = is_regression(custom_config)
    classes = None if regression else tf.constant(
        [c.decode() if isinstance(c, bytes) else c for c in tf_transform_output.vocabulary_by_name(LABEL_VOCAB)]
    )
    contract = input_contract(raw_spec, custom_config)
    signature = {
        name: tf.TensorSpec([None], tf.as_dtype(c["dtype"]), name=name) for name, c in contract.items()
    }

    def as_parsed(features):
        """Serving tensors ([batch] each) as TFT's raw feature spec parses a tf.Example."""
        raw = {}
        for name, spec in raw_spec.items():
            if name == label or name not in features:
                continue
            if isinstance(spec, tf.io.VarLenFeature):
                raw[name] = _present_values(features[name], spec.dtype)
                continue
            value = tf.cast(features[name], spec.dtype)
            raw[name] = tf.expand_dims(value, 1) if len(getattr(spec, "shape", [])) == 1 else value
        return raw

    @tf.function(input_signature=[signature])
    def transform_raw(features):
        return model.tft_layer(as_parsed(features))

    def answer(parsed):
        """The served outputs from raw features as TFT parses them (dense, or sparse when optional)."""
        transformed = model.tft_layer(parsed)
        probs = model({xf(f["name"]): transformed[xf(f["name"])] for f in _features(custom_config)})
        if regression:
            return {PREDICTED_VALUE: tf.squeeze(probs, axis=1)}  # one value per row, [batch]
        top = tf.argmax(probs, axis=1)
        return {
            "probabilities": probs,
            "predicted_class": tf.gather(classes, top),
            "classes": tf.broadcast_to(classes, tf.shape(probs)),
        }

    @tf.function(input_signature=[signature])
    def serve_raw(features):
        return answer(as_parsed(features))

    features_spec = {k: v for k, v in raw_spec.items() if k != label}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        # What TFMA calls when a feature may be missing: it cannot turn a tf.Example without the
        # feature into serving_default's dense input, while parsing here leaves it out as ingest did.
        return answer(tf.io.parse_example(serialized, features_spec))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized):
        parsed = tf.io.parse_example(serialized, raw_spec)
        return model.tft_layer(parsed)

    return {"serving_default": serve_raw, "transform_features": transform_features,
            TRANSFORM_RAW_SIGNATURE: transform_raw, EXAMPLES_SIGNATURE: serve_examples}


def input_contract(raw_spec: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each feature's serving input: ``{"dtype", "type", "optional"}``.

    Optional (the raw spec's ``VarLenFeature``: the schema lets rows miss it) numeric features
    take float64 with NaN for missing, optional categoricals a string with ``""`` for missing.
    """
    out = {}
    for feat in _features(custom_config):
        name, ftype = feat["name"], feat["type"]
        optional = isinstance(raw_spec[name], tf.io.VarLenFeature)
        if ftype == "categorical":
            dtype = tf.string
        else:
            dtype = tf.float64 if optional else raw_spec[name].dtype
        out[name] = {"dtype": dtype.name, "type": ftype, "optional": optional}
    return out


def _present_values(dense: tf.Tensor, dtype: tf.DType) -> tf.sparse.SparseTensor:
    """A [batch] input as the [batch, 1] SparseTensor TFT parses a ``VarLenFeature`` into: the
    missing values (NaN, ``""``) left out, as a tf.Example leaves out a missing feature."""
    present = tf.not_equal(dense, MISSING_STRING) if dense.dtype == tf.string else tf.logical_not(tf.math.is_nan(dense))
    rows = tf.where(present)  # [n, 1] row indices of present values
    indices = tf.concat([rows, tf.zeros_like(rows)], axis=1)
    values = tf.gather_nd(dense, rows)
    values = values if dtype == tf.string else tf.cast(values, dtype)
    return tf.sparse.SparseTensor(indices, values, tf.stack([tf.shape(dense, out_type=tf.int64)[0], 1]))


def write_input_contract(serving_model_dir: str, contract: dict[str, dict[str, Any]]) -> None:
    """``assets.extra/input_contract.json`` beside the SavedModel (the server's request rules)."""
    path = os.path.join(serving_model_dir, INPUT_CONTRACT_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump({"version": 1, "inputs": contract}, f, indent=2, sort_keys=True)


#: Where a Trainer with ``fairness.mitigation`` leaves the model trained without it, beside
#: ``Format-Serving`` in the Model artifact: the fairness gate compares the two on the same eval
#: split; the pusher ships ``Format-Serving`` only.
UNMITIGATED_DIR = "Unmitigated-Serving"


def reweighing_table(dataset, columns: list[str], label: str) -> tf.lookup.StaticHashTable:
    """Kamiran & Calders weights per (group, label) cell of the transformed train split
    (``components/fairness/reweighing.py``), as a table from ``"g1|g2|...|y"`` to the weight.

    One pass over ``dataset`` (``(features, label)`` batches) counts the cells; the group of an
    example is the combination of its sensitive columns' vocabulary indices.
    """
    from components.fairness.reweighing import cell_weights

    groups, labels = [], []
    for features, y in dataset:
        cols = [tf.reshape(features[xf(c)], [-1]).numpy() for c in columns]
        groups.extend(zip(*cols))
        labels.extend(tf.reshape(y, [-1]).numpy().tolist())
    cells = cell_weights([tuple(int(v) for v in g) for g in groups], [int(v) for v in labels])
    keys = ["|".join(str(v) for v in (*g, y)) for g, y in cells]
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.constant(list(cells.values()), tf.float32)),
        default_value=1.0,
    )


def with_weights(dataset, table, columns: list[str]):
    """``(features, label)`` batches -> ``(features, label, sample_weight)`` from ``table``."""

    def add(features, y):
        parts = [tf.strings.as_string(tf.reshape(features[xf(c)], [-1])) for c in columns]
        key = tf.strings.reduce_join(tf.stack([*parts, tf.strings.as_string(tf.reshape(y, [-1]))], axis=1),
                                     axis=1, separator="|")
        return features, y, table.lookup(key)

    return dataset.map(add)


def _train_and_save(custom_config, tf_transform_output, strategy, train_ds, eval_ds, label_stats, out_dir: str):
    hp = custom_config["model"]
    with strategy.scope():
        model = build_keras_model(custom_config, tf_transform_output, label_stats)
    history = model.fit(train_ds, validation_data=eval_ds, epochs=int(hp["epochs"]), verbose=0)
    signatures = make_serving_fns(model, tf_transform_output, custom_config)
    model.save(out_dir, save_format="tf", signatures=signatures)
    write_input_contract(out_dir, input_contract(tf_transform_output.raw_feature_spec(), custom_config))
    return history


def run_fn(fn_args) -> None:
    """TFX Trainer entry point: trains under a distribution strategy and exports the SavedModel.

    With ``reweighing`` in ``custom_config`` (``fairness.mitigation: reweighing``) it trains
    twice from the same seed: first as without mitigation, saved to ``UNMITIGATED_DIR`` for the
    fairness gate's before/after comparison, then with Kamiran & Calders weights over the
    sensitive columns, which is the model it exports. Without it, nothing changes.
    """
    custom_config = fn_args.custom_config
    hp = custom_config["model"]
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    label = custom_config["label"]
    strategy = distribution_strategy(int(hp.get("gpus", 0)))
    batch = int(hp["batch_size"]) * strategy.num_replicas_in_sync
    seed = int(custom_config.get("seed", 42))
    tf.keras.utils.set_random_seed(seed)
    train_ds = _dataset(fn_args.train_files, tf_transform_output, label, batch, True)
    eval_ds = _dataset(fn_args.eval_files, tf_transform_output, label, batch, False)
    label_stats = label_mean_std(train_ds) if is_regression(custom_config) else (0.0, 1.0)
    mitigation = custom_config.get("reweighing")
    if mitigation:
        columns = list(mitigation["columns"])
        _train_and_save(custom_config, tf_transform_output, strategy, train_ds, eval_ds, label_stats,
                        os.path.join(os.path.dirname(fn_args.serving_model_dir.rstrip("/")), UNMITIGATED_DIR))
        table = reweighing_table(_dataset(fn_args.train_files, tf_transform_output, label, batch, False), columns, label)
        tf.keras.utils.set_random_seed(seed)  # the same start as the model above: only the weights differ
        train_ds = with_weights(_dataset(fn_args.train_files, tf_transform_output, label, batch, True), table, columns)
    history = _train_and_save(custom_config, tf_transform_output, strategy, train_ds, eval_ds, label_stats,
                              fn_args.serving_model_dir)
    summary = {k: float(v[-1]) for k, v in history.history.items()}
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, "training_summary.json"), "w") as f:
        json.dump({"final_metrics": summary, "replicas": strategy.num_replicas_in_sync}, f, indent=2)
