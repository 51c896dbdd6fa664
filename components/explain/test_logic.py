"""Explain logic: the feature the label depends on dominates; pure noise gets ~0."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from components.explain import logic

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """``label = signal > 0``; ``noise`` and ``color`` are independent of it."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "signal": rng.normal(size=n).astype(np.float32),
            "noise": rng.normal(size=n).astype(np.float32),
            "color": rng.choice(["red", "green", "blue"], size=n),
        }
    )
    df["label"] = (df["signal"] > 0).astype(int)
    return df


def test_codec_round_trips_mixed_columns():
    df = synthetic(20, 0)
    codec = logic.FrameCodec([df], ["signal", "color"])
    assert codec.categorical == ["color"]
    back = codec.decode(codec.encode(df))
    assert list(back["color"]) == list(df["color"])
    np.testing.assert_allclose(back["signal"], df["signal"])


def test_exact_attributions_of_a_known_function():
    """A model that ignores ``noise`` and ``color`` gives them exactly zero; sums are additive."""
    df = synthetic(200, 1)

    def proba(frame: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-3 * frame["signal"].to_numpy(dtype=float)))
        return np.stack([1 - p, p], axis=1)

    expl = logic.explain(proba, df.iloc[:20], df.iloc[100:130], ["signal", "noise", "color"], ["neg", "pos"])
    assert expl.ranking()[0][0] == "signal"
    assert expl.global_importance["noise"] == pytest.approx(0.0, abs=1e-9)
    assert expl.global_importance["color"] == pytest.approx(0.0, abs=1e-9)
    # Efficiency: attributions of the predicted class sum to p(x) - base value.
    for ex in expl.examples:
        total = sum(ex["attributions"].values())
        assert total == pytest.approx(ex["probability"] - expl.base_values[ex["predicted_class"]], abs=1e-6)


def test_trained_keras_model_signal_dominates_and_noise_is_near_zero(tmp_path):
    """Acceptance: a small tf_keras model trained on data whose label depends on ``signal`` only."""
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    train, evalset = synthetic(800, 2), synthetic(200, 3)
    colors = ["red", "green", "blue"]

    def matrix(frame: pd.DataFrame) -> np.ndarray:
        onehot = np.stack([(frame["color"] == c).to_numpy(dtype=np.float32) for c in colors], axis=1)
        return np.concatenate([frame[["signal", "noise"]].to_numpy(dtype=np.float32), onehot], axis=1)

    model = keras.Sequential(
        [keras.layers.Input((5,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")]
    )
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(matrix(train), train["label"].to_numpy(), epochs=15, batch_size=64, verbose=0)
    acc = float((model.predict(matrix(evalset), verbose=0).argmax(1) == evalset["label"]).mean())
    assert acc > 0.9, f"the test model did not learn the signal (accuracy {acc:.3f})"

    @tf.function(reduce_retracing=True)
    def call(x):
        return model(x, training=False)

    def proba(frame: pd.DataFrame) -> np.ndarray:
        return call(tf.constant(matrix(frame))).numpy()

    expl = logic.explain(proba, train.sample(25, random_state=0), evalset.iloc[:30], ["signal", "noise", "color"])
    imp = expl.global_importance
    assert expl.ranking()[0][0] == "signal"
    assert imp["noise"] < 0.1 * imp["signal"], imp
    assert imp["color"] < 0.1 * imp["signal"], imp
    assert imp["noise"] < 0.03, imp

    paths = logic.write_outputs(expl, str(tmp_path / "out"), "synthetic")
    data = json.loads(open(paths["json"]).read())
    assert data["ranking"][0] == "signal"
    assert len(data["examples"]) == 30
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    page = open(paths["html"]).read()
    assert "Global importance" in page and "signal" in page and "data:image/png;base64," in page


def test_regression_output_is_one_explained_value():
    """A regression model's ``predicted_value`` ([N, 1] via ServingModel.predict_proba): SHAP
    attributes the value itself; linear in ``signal`` only, so ``signal`` carries it all."""
    df = synthetic(200, 2)

    def value(frame: pd.DataFrame) -> np.ndarray:
        return (10.0 + 4.0 * frame["signal"].to_numpy(dtype=float)).reshape(-1, 1)

    expl = logic.explain(value, df.iloc[:20], df.iloc[100:120], ["signal", "noise", "color"], ["predicted_value"])
    assert expl.ranking()[0][0] == "signal"
    assert expl.global_importance["noise"] == pytest.approx(0.0, abs=1e-9)
    assert expl.global_importance["signal"] > 1.0
