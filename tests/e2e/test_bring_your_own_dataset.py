"""Bring your own dataset in three commands, through the `mlops` CLI process as a user runs it:
`mlops init` -> `mlops schema` -> `mlops run`, with no edit of the generated files.

Three scikit-learn bundled sets (nothing downloaded), none of them penguins:
* diabetes as Parquet, regression, integer features (age, sex): the pushed model's eval MSE must
  be at most 0.8x that of predicting the training mean (R² >= 0.2 against the mean predictor);
  with `init --sensitive sex --explain --compress`, the fairness gate reports each sex's MAE and
  their gap, SHAP explains the predicted value (attributions add up to it), R² is reported, and
  the TFLite variant within the MAE budget ships with the push;
* breast_cancer as CSV with a True/False label (``malignant``): a two-class label, gated on the
  AUC of its positive class ``"1"`` (True); AUC, precision and recall equal scikit-learn's for
  that class on the pushed model, accuracy beats the majority class by 0.2, and an AUC bound the
  model misses leaves it unblessed (exit 4) naming auc;
* iris as CSV with its own headers (``sepal length (cm)``: spaces and parentheses) and an integer
  label 0/1/2: the pushed model's eval accuracy must beat always-the-majority-class by 0.4, and
  it serves requests keyed by the renamed features.
Then a copy of iris with ``petal length (cm) = -1000`` in 12 rows stops at the data gate (exit 3)
naming the column and the curated range.
"""

import json

import httpx
import numpy as np
import pytest

from pipelines.config import load_config
from tests.cli import REPO, mlops
from tests.serving.helpers import serve_process

pytestmark = [pytest.mark.slow, pytest.mark.e2e]





def _three_commands(tmp_path, data, label, name, *init_args):
    config = tmp_path / f"{name}.yaml"
    proc = mlops("init", "--data", str(data), "--label", label, "--output", str(config),
                  "--push-destination", str(tmp_path / "models"), *init_args)
    assert proc.returncode == 0, proc.stderr
    generated = config.read_text()
    proc = mlops("schema", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    proc = mlops("run", "--config", str(config), "--output-dir", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "succeeded" and summary["pushed"]["version"] == 1
    # schema curated and used: ImportSchemaGen, not SchemaGen
    assert "ImportSchemaGen" in summary["components"] and "SchemaGen" not in summary["components"]
    return config, generated, summary


def _eval_split(config):
    """The train and eval frames exactly as the pipeline split them."""
    from components.ingest import logic as ingest

    cfg = load_config(config)
    df = ingest.apply_rename(ingest.read_table(cfg.data.uri, cfg.data.format), cfg.data.rename)
    tidy, _ = ingest.tidy(df, {f.name: f.type for f in cfg.features}, cfg.label, True, cfg.data.max_dropped_fraction)
    mask = ingest.split_mask(tidy, cfg.split.eval_fraction, cfg.split.seed)
    return cfg, tidy[~mask], tidy[mask]


def _evaluated_rows(tmp_path):
    """The eval split the Evaluator, the fairness gate and compression read: DataIngest's artifact."""
    from components.common import examples_io

    (examples,) = sorted((tmp_path / "run" / "pipeline_root" / "DataIngest" / "examples").iterdir())
    return examples_io.read_split(str(examples), "eval")


def test_diabetes_regression_parquet_beats_the_mean_predictor(tmp_path):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["age"] = frame["age"].astype("int64")
    frame["sex"] = frame["sex"].astype("int64")
    data = tmp_path / "diabetes.parquet"
    frame.to_parquet(data, index=False)
    config, generated, summary = _three_commands(tmp_path, data, "target", "diabetes",
                                                 "--sensitive", "sex", "--explain", "--compress")
    assert "task: regression" in generated and "type: int" in generated and "max_error_increase: 0.05" in generated
    cfg, train, evaluation = _eval_split(config)
    assert cfg.task == "regression"
    mean_mse = float(np.mean((evaluation["target"] - train["target"].mean()) ** 2))
    mse = summary["metrics"]["mean_squared_error"]
    assert mse <= 0.8 * mean_mse, f"model MSE {mse:.1f} vs mean predictor {mean_mse:.1f}"
    assert {"mean_absolute_error", "root_mean_squared_error"} <= set(summary["metrics"])
    # the pushed model answers with the predicted value, in the label's units
    from serving.model import load_saved_model

    served = load_saved_model(tmp_path / "models" / "diabetes" / "1" / "saved_model", "diabetes", 1)
    rows = evaluation.head(20)
    columns = {name: rows[name].to_numpy().astype(served.inputs[name].numpy_dtype) for name in cfg.feature_names}
    predictions = served.predict(columns)
    assert set(predictions[0]) == {"predicted_value"}
    values = np.array([p["predicted_value"] for p in predictions])
    assert np.mean(np.abs(values - rows["target"].to_numpy())) < np.mean(np.abs(rows["target"] - train["target"].mean()))

    # Every evaluated row through the pushed model: the reference for R², fairness and compression.
    evaluation = _evaluated_rows(tmp_path)
    assert len(evaluation) == summary["metrics"]["example_count"]
    columns = {name: evaluation[name].to_numpy().astype(served.inputs[name].numpy_dtype) for name in cfg.feature_names}
    predicted = served.predict_columns(columns)["predicted_value"].reshape(-1).astype(np.float64)
    y = evaluation["target"].to_numpy(dtype=np.float64)
    from sklearn.metrics import r2_score

    assert summary["metrics"]["r2_score"] == pytest.approx(r2_score(y, predicted), abs=1e-3)

    # Fairness (init --sensitive sex): each group's MAE on the eval split, and their gap
    reports = tmp_path / "run" / "reports"
    fairness = json.loads((reports / "fairness" / "result.json").read_text())
    assert fairness["task"] == "regression" and fairness["passed"] is True
    (sex,) = fairness["columns"]
    assert sex["column"] == "sex" and set(sex["groups"]) == {"1", "2"}
    for group, stats in sex["groups"].items():
        rows_of = evaluation["sex"].to_numpy() == int(group)
        assert stats["count"] == int(rows_of.sum())
        assert stats["mae"] == pytest.approx(np.abs(predicted[rows_of] - y[rows_of]).mean(), rel=1e-4)
    maes = [g["mae"] for g in sex["groups"].values()]
    assert sex["mae_gap"]["value"] == pytest.approx(max(maes) - min(maes), abs=1e-6)
    assert sex["mae_gap"]["value"] <= cfg.fairness.max_mae_gap
    manifest = json.loads((tmp_path / "models" / "diabetes" / "1" / "manifest.json").read_text())
    assert manifest["fairness"]["passed"] is True

    # SHAP (init --explain) explains the regression output: base value + attributions = prediction
    shap = json.loads((reports / "explain" / "attributions.json").read_text())
    assert shap["class_names"] == ["predicted_value"] and set(shap["global_importance"]) == set(cfg.feature_names)
    base = shap["base_values"]["predicted_value"]
    for example in shap["examples"]:
        assert base + sum(example["attributions"].values()) == pytest.approx(example["probability"], abs=1e-3 * np.std(y))
    assert (tmp_path / "models" / "diabetes" / "1" / "explanation" / "attributions.json").exists()

    # Compression (init --compress): an error budget on the eval MAE; the chosen variant ships
    compressed = json.loads((reports / "compress" / "report.json").read_text())
    assert compressed["metric"] == "mae" and compressed["max_error_increase"] == 0.05
    saved_mae = compressed["saved_model"]["mae"]
    assert saved_mae == pytest.approx(np.abs(predicted - y).mean(), rel=1e-4)
    best = next(v for v in compressed["variants"] if v["name"] == compressed["best"])
    assert best["mae"] <= 1.05 * saved_mae + 1e-9 and best["within_budget"]
    assert manifest["tflite_variant"] == compressed["best"]
    tflite = tmp_path / "models" / "diabetes" / "1" / "tflite"
    from components.compress import logic as compress

    spec = json.loads((tflite / "preprocessing.json").read_text())
    assert spec["output"] == "predicted_value" and not (tflite / "labels.txt").exists()
    lite = compress.TFLiteModel((tflite / "model.tflite").read_bytes()).predict(compress.preprocess(evaluation, spec))
    assert np.abs(lite - y).mean() <= 1.05 * saved_mae + 1e-6


def test_iris_with_raw_headers_trains_serves_and_gates_out_of_range_values(tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame  # headers like "sepal length (cm)"; target 0/1/2
    assert "petal length (cm)" in frame.columns
    data = tmp_path / "iris.csv"
    frame.to_csv(data, index=False)
    config, generated, summary = _three_commands(tmp_path, data, "target", "iris")
    assert '"petal length (cm)": "petal_length_cm"' in generated
    cfg, train, evaluation = _eval_split(config)
    majority = evaluation["target"].value_counts(normalize=True).iloc[0]
    accuracy = summary["metrics"]["sparse_categorical_accuracy"]
    assert accuracy >= majority + 0.4, f"accuracy {accuracy:.3f} vs majority class {majority:.3f}"

    # serves by config only (push.destination, the model name, and the drift monitor's baseline,
    # renamed): requests name the renamed features
    with serve_process("--config", str(config), "--log-level", "warning", "--poll-seconds", "1", cwd=REPO) as served:
        url = served.url
        rows = evaluation.head(10)
        instances = [{f: float(row[f]) for f in cfg.feature_names} for _, row in rows.iterrows()]
        assert set(instances[0]) == {"sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"}
        r = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": instances}, timeout=30)
        assert r.status_code == 200, r.text
        predicted = [p["predicted_class"] for p in r.json()["predictions"]]
        assert sum(p == str(t) for p, t in zip(predicted, rows["target"])) >= 8
        raw_header = {"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2}
        r = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": [raw_header]}, timeout=30)
        assert r.status_code == 400 and "sepal_length_cm" in r.text  # requests use the config's names

    # out-of-range values stop at the gate, the column and range named
    schema_range = [e["kwargs"] for e in json.loads(open(load_config(config).validation.expectation_suite).read())
                    ["expectations"] if e["type"] == "expect_column_values_to_be_between"
                    and e["kwargs"]["column"] == "petal_length_cm"][0]
    bad = frame.copy()
    bad.loc[bad.index[:12], "petal length (cm)"] = -1000.0
    bad_data = tmp_path / "iris-bad.csv"
    bad.to_csv(bad_data, index=False)
    proc = mlops("run", "--config", str(config), "--output-dir", str(tmp_path / "run-bad"), "--data-uri", str(bad_data))
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    tail = proc.stderr.strip().split("\n\n")[-1]
    assert "petal_length_cm" in tail and "-1000" in tail, tail
    assert f"{schema_range['min_value']:g}" in tail, tail


def test_breast_cancer_boolean_label_is_gated_on_the_positive_class_auc(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    frame = load_breast_cancer(as_frame=True).frame  # headers like "mean radius"; target 0 = malignant
    frame["malignant"] = frame.pop("target") == 0  # a True/False label
    data = tmp_path / "cancer.csv"
    frame.to_csv(data, index=False)
    config, generated, summary = _three_commands(tmp_path, data, "malignant", "cancer")
    assert 'positive_class: "1"' in generated and "{metric: auc, lower_bound: 0.6}" in generated
    cfg = load_config(config)
    assert cfg.task == "classification" and cfg.binary_label_order() == ("0", "1")  # True is "1", positive
    evaluation = _evaluated_rows(tmp_path)  # as ingest writes it: the True/False label as 1/0
    assert len(evaluation) == summary["metrics"]["example_count"]

    from serving.model import load_saved_model

    served = load_saved_model(tmp_path / "models" / "cancer" / "1" / "saved_model", "cancer", 1)
    columns = {name: evaluation[name].to_numpy().astype(served.inputs[name].numpy_dtype) for name in cfg.feature_names}
    out = served.predict_columns(columns)
    assert [c.decode() for c in out["classes"][0]] == ["0", "1"]  # Transform's vocabulary: negative, positive
    y = evaluation["malignant"].astype(int).to_numpy()
    p_positive = out["probabilities"][:, 1]
    metrics = summary["metrics"]
    # TFMA's AUC is Keras' (10,000 thresholds, trapezoids): the same on the positive class's
    # probability; within 0.02 of the exact one (saturated probabilities share the lowest bucket).
    import tf_keras

    keras_auc = tf_keras.metrics.AUC(num_thresholds=10000)
    keras_auc.update_state(y, p_positive)
    assert metrics["auc"] == pytest.approx(float(keras_auc.result()), abs=1e-3)
    assert metrics["auc"] == pytest.approx(roc_auc_score(y, p_positive), abs=0.02)
    majority = evaluation["malignant"].value_counts(normalize=True).iloc[0]
    assert metrics["sparse_categorical_accuracy"] >= majority + 0.2, (metrics, majority)
    assert metrics["auc"] >= 0.9
    assert {c.decode() for c in out["predicted_class"]} <= {"0", "1"}

    # The AUC bound gates on AUC: one just above what the model scores leaves it unblessed, accuracy,
    # precision and recall passing; those two are the positive class's (p > 0.5), exactly.
    import yaml

    raw = yaml.safe_load(config.read_text())
    raw["evaluation"]["thresholds"] = [{"metric": "accuracy", "lower_bound": 0.5},
                                       {"metric": "precision", "lower_bound": 0.0},
                                       {"metric": "recall", "lower_bound": 0.0},
                                       {"metric": "auc", "upper_bound": metrics["auc"] - 1e-4}]
    stricter = tmp_path / "cancer-auc.yaml"
    stricter.write_text(yaml.safe_dump(raw))
    proc = mlops("run", "--config", str(stricter), "--output-dir", str(tmp_path / "run"))
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    verdict = json.loads((tmp_path / "run" / "run.json").read_text())
    assert verdict["status"] == "not_blessed" and "auc" in verdict["reason"], verdict["reason"]
    assert not any(m in verdict["reason"] for m in ("sparse_categorical_accuracy", "precision", "recall"))
    assert verdict["components"]["Trainer"]["state"] == "cached"
    assert verdict["metrics"]["precision"] == pytest.approx(precision_score(y, p_positive > 0.5), abs=1e-6)
    assert verdict["metrics"]["recall"] == pytest.approx(recall_score(y, p_positive > 0.5), abs=1e-6)
