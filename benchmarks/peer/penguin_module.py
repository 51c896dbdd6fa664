"""Module file of the stock-style peer pipeline (as in TFX's penguin example, Keras + TFT).

Same preprocessing and model as the project's ``pipelines/modules/tabular.py`` (z-scores,
vocabularies, an MLP of the configured sizes), hard-coded for penguins the way the example is.
"""

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]
LABEL = "species"


def _squeeze(x):
    return tf.squeeze(x, axis=1) if x.shape.rank == 2 else x


def preprocessing_fn(inputs):
    out = {f"{k}_xf": tft.scale_to_z_score(tf.cast(_squeeze(inputs[k]), tf.float32)) for k in NUMERIC}
    for k in CATEGORICAL:
        out[f"{k}_xf"] = tft.compute_and_apply_vocabulary(_squeeze(inputs[k]), num_oov_buckets=1, vocab_filename=f"vocab_{k}")
    out[f"{LABEL}_xf"] = tft.compute_and_apply_vocabulary(_squeeze(inputs[LABEL]), vocab_filename="label_vocab")
    return out


def _model(tf_transform_output, hp):
    inputs, encoded = {}, []
    for k in NUMERIC:
        inputs[f"{k}_xf"] = tf.keras.Input(shape=(), name=f"{k}_xf", dtype=tf.float32)
        encoded.append(tf.keras.layers.Reshape((1,))(inputs[f"{k}_xf"]))
    for k in CATEGORICAL:
        size = tf_transform_output.vocabulary_size_by_name(f"vocab_{k}") + 1
        inputs[f"{k}_xf"] = tf.keras.Input(shape=(), name=f"{k}_xf", dtype=tf.int64)
        encoded.append(tf.keras.layers.Embedding(size, min(8, size))(inputs[f"{k}_xf"]))
    x = tf.keras.layers.Concatenate()(encoded)
    for units in hp["hidden_units"]:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    n = tf_transform_output.vocabulary_size_by_name("label_vocab")
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(n, activation="softmax", name="probabilities")(x))
    model.compile(tf.keras.optimizers.Adam(hp["learning_rate"]), "sparse_categorical_crossentropy",
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])
    return model


def run_fn(fn_args):
    hp = fn_args.custom_config
    tft_out = tft.TFTransformOutput(fn_args.transform_output)

    def dataset(pattern, shuffle):
        return fn_args.data_accessor.tf_dataset_factory(
            pattern,
            tfxio.TensorFlowDatasetOptions(batch_size=hp["batch_size"], label_key=f"{LABEL}_xf", shuffle=shuffle, num_epochs=1),
            tft_out.transformed_metadata.schema,
        )

    model = _model(tft_out, hp)
    model.fit(dataset(fn_args.train_files, True), validation_data=dataset(fn_args.eval_files, False),
              epochs=hp["epochs"], verbose=0)
    model.tft_layer = tft_out.transform_features_layer()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_tf_examples(serialized):
        spec = tft_out.raw_feature_spec()
        spec.pop(LABEL)
        transformed = model.tft_layer(tf.io.parse_example(serialized, spec))
        return model(transformed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized):
        return model.tft_layer(tf.io.parse_example(serialized, tft_out.raw_feature_spec()))

    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures={"serving_default": serve_tf_examples, "transform_features": transform_features})
