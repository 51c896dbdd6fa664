"""Compress logic on a synthetic model with the same input layout as the pipeline's Keras model
(``<name>_xf`` inputs: a z-scored float and a vocabulary index). The end-to-end run on the real
exported penguins model is in ``tests/model/test_compression.py``."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from components.compress import logic

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def test_preprocess_follows_the_spec():
    spec = {
        "features": {
            "x": {"type": "numeric", "input": "x_xf", "mean": 10.0, "std": 2.0},
            "c": {"type": "categorical", "input": "c_xf", "vocabulary": ["b", "a"], "oov_index": 2},
        }
    }
    out = logic.preprocess(pd.DataFrame({"x": [10.0, 14.0], "c": ["a", "zzz"]}), spec)
    np.testing.assert_allclose(out["x_xf"], [0.0, 2.0])
    assert out["x_xf"].dtype == np.float32
    assert list(out["c_xf"]) == [1, 2] and out["c_xf"].dtype == np.int64


def test_choose_best_is_the_smallest_within_budget():
    rows = [
        logic.VariantResult("float32", size_bytes=100, within_budget=True, latency_ms=1.0),
        logic.VariantResult("full_integer", size_bytes=30, within_budget=False, latency_ms=1.0),
        logic.VariantResult("dynamic_range", size_bytes=40, within_budget=True, latency_ms=2.0),
        logic.VariantResult("pruned", size_bytes=40, within_budget=True, latency_ms=1.0),
        logic.VariantResult("distilled", size_bytes=10, within_budget=True, error="boom"),
    ]
    assert logic.choose_best(rows).name == "pruned"
    assert logic.choose_best([rows[1]]) is None


@pytest.fixture(scope="module")
def wide_model():
    """A 256x128 MLP over ``num_xf`` (float) and ``cat_xf`` (index): big enough for quantization
    to show; label = num > 0 xor cat == 2."""
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def data(n):
        x = {"num_xf": rng.normal(size=n).astype(np.float32), "cat_xf": rng.integers(0, 4, size=n).astype(np.int64)}
        return x, ((x["num_xf"] > 0) ^ (x["cat_xf"] == 2)).astype(np.int64)

    num = keras.Input(shape=(), name="num_xf", dtype="float32")
    cat = keras.Input(shape=(), name="cat_xf", dtype="int64")
    h = keras.layers.Concatenate()([keras.layers.Reshape((1,))(num), keras.layers.Embedding(5, 4)(cat)])
    h = keras.layers.Dense(256, activation="relu")(h)
    h = keras.layers.Dense(128, activation="relu")(h)
    out = keras.layers.Dense(2, activation="softmax", name="probabilities")(h)
    model = keras.Model({"num_xf": num, "cat_xf": cat}, out)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    train, evalset = data(1500), data(500)
    model.fit(*train, epochs=8, batch_size=64, verbose=0)
    acc = float((model.predict(evalset[0], verbose=0).argmax(1) == evalset[1]).mean())
    assert acc > 0.95, acc
    return model, train, evalset, acc, len(logic.convert(model, "float32"))


@pytest.mark.parametrize("variant", logic.QUANTIZATIONS)
def test_quantized_variant_loads_predicts_and_is_smaller(wide_model, variant):
    model, train, (x_eval, y_eval), acc, float32_size = wide_model
    content = logic.convert(model, variant, train[0])
    lite = logic.TFLiteModel(content)
    proba = lite.predict(x_eval)
    assert proba.shape == (len(y_eval), 2)
    assert float((proba.argmax(1) == y_eval).mean()) >= acc - 0.02
    ratio = len(content) / float32_size
    assert ratio < {"dynamic_range": 0.4, "float16": 0.6, "full_integer": 0.4}[variant], ratio
    assert lite.latency_ms(x_eval, runs=5, warmup=1) > 0


def test_full_integer_needs_representative_data(wide_model):
    with pytest.raises(ValueError, match="representative"):
        logic.convert(wide_model[0], "full_integer")


def test_pruning_reaches_the_sparsity_and_leaves_the_original_alone(wide_model):
    model, (x, y), (x_eval, y_eval), acc, _ = wide_model
    before = [w.copy() for w in model.get_weights()]
    pruned = logic.prune(model, {k: v[:640] for k, v in x.items()}, y[:640], sparsity=0.5, epochs=2)
    assert logic.sparsity_of(pruned) == pytest.approx(0.5, abs=0.02)
    assert logic.sparsity_of(model) < 0.01
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert float((pruned.predict(x_eval, verbose=0).argmax(1) == y_eval).mean()) >= acc - 0.03
    # Zeros do not shrink the flatbuffer, but they compress.
    dense, sparse = logic.convert(model, "dynamic_range"), logic.convert(pruned, "dynamic_range")
    import gzip

    assert len(gzip.compress(sparse)) < 0.8 * len(gzip.compress(dense))


def test_distilled_student_is_smaller_and_agrees(wide_model):
    model, (x, _), (x_eval, y_eval), acc, _ = wide_model
    student = logic.distill(model, x, hidden_units=(16,), epochs=10)
    assert student.count_params() < model.count_params() / 10
    assert sorted(student.input_names) == sorted(model.input_names)
    agree = float((student.predict(x_eval, verbose=0).argmax(1) == model.predict(x_eval, verbose=0).argmax(1)).mean())
    assert agree > 0.9, agree


def test_report_renders():
    report = logic.CompressionReport(
        accuracy_budget=0.02, n_eval=10, n_train=20,
        saved_model={"size_bytes": 1000, "accuracy": 0.9, "latency_ms": 1.0, "note": "ref"},
        variants=[
            logic.VariantResult("float32", "variants/float32.tflite", 100, 80, 0.9, 0.0, 1.0, 0.0, 0.01, True, True),
            logic.VariantResult("full_integer", error="RuntimeError: nope"),
        ],
        best="float32",
        reason="float32: smallest",
    )
    md = logic.markdown_table(report)
    assert "| float32 | 100 | 80 | 0.9000 | +0.0000 |" in md and "best" in md and "failed: RuntimeError" in md
    page = logic.render_html(report)
    assert "float32 (chosen)" in page and "RuntimeError: nope" in page


# --------------------------------------------------------------------------- regression: an error budget


@pytest.fixture(scope="module")
def regression_model():
    """The pipeline's regression head: a z-scored unit rescaled to the label's units (mean 150,
    spread 60, like a price or diabetes' progression), named ``predicted_value``."""
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)

    def data(n):
        x = {"num_xf": rng.normal(size=n).astype(np.float32), "cat_xf": rng.integers(0, 4, size=n).astype(np.int64)}
        return x, 150 + 50 * x["num_xf"] + 20 * (x["cat_xf"] == 2) + rng.normal(scale=5, size=n)

    num = keras.Input(shape=(), name="num_xf", dtype="float32")
    cat = keras.Input(shape=(), name="cat_xf", dtype="int64")
    h = keras.layers.Concatenate()([keras.layers.Reshape((1,))(num), keras.layers.Embedding(5, 4)(cat)])
    h = keras.layers.Dense(256, activation="relu")(h)
    h = keras.layers.Dense(128, activation="relu")(h)
    out = keras.layers.Rescaling(60.0, offset=150.0, name="predicted_value")(keras.layers.Dense(1)(h))
    model = keras.Model({"num_xf": num, "cat_xf": cat}, out)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    train, evalset = data(1500), data(500)
    model.fit(*train, epochs=8, batch_size=64, verbose=0)
    mae = float(np.abs(model.predict(evalset[0], verbose=0).reshape(-1) - evalset[1]).mean())
    assert mae < 10, mae
    return model, train, evalset, mae


def test_error_budget_is_relative_to_the_saved_models_mae():
    assert logic.within_error_budget(10.5, 10.0, 0.05)
    assert not logic.within_error_budget(10.6, 10.0, 0.05)
    assert logic.within_error_budget(9.0, 10.0, 0.0)  # less error is always within
    scores = logic.regression_scores(np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0]))
    assert scores["mae"] == pytest.approx((0 + 1 + 1.5) / 3)
    assert scores["agreement"] == pytest.approx(2 / 3) and scores["max_diff"] == pytest.approx(0.5)


@pytest.mark.parametrize("variant", logic.QUANTIZATIONS)
def test_quantized_regression_variant_predicts_values_within_a_small_error_increase(regression_model, variant):
    model, train, (x_eval, y_eval), mae = regression_model
    lite = logic.TFLiteModel(logic.convert(model, variant, train[0]))
    pred = lite.predict(x_eval)
    assert pred.shape == (len(y_eval),)  # one value per row, in the label's units
    variant_mae = logic.regression_scores(pred, pred, y_eval)["mae"]
    assert logic.within_error_budget(variant_mae, mae, 0.1), (variant_mae, mae)


def test_pruning_and_distillation_regress_for_a_regression_model(regression_model):
    model, (x, y), (x_eval, y_eval), mae = regression_model
    pruned = logic.prune(model, {k: v[:640] for k, v in x.items()}, y[:640], sparsity=0.5, epochs=2, regression=True)
    assert logic.sparsity_of(pruned) == pytest.approx(0.5, abs=0.02)
    pruned_mae = float(np.abs(pruned.predict(x_eval, verbose=0).reshape(-1) - y_eval).mean())
    assert pruned_mae < 1.5 * mae, (pruned_mae, mae)
    student = logic.distill(model, x, hidden_units=(16,), epochs=10, regression=True)
    assert student.output_names == ["predicted_value"] and student.count_params() < model.count_params() / 10
    student_mae = float(np.abs(student.predict(x_eval, verbose=0).reshape(-1) - y_eval).mean())
    always_mean = float(np.abs(y_eval - y.mean()).mean())
    assert student_mae < 0.5 * always_mean, (student_mae, always_mean)
