"""Bring your own dataset in three commands, through the `mlops` CLI process as a user runs it:
`mlops init` -> `mlops schema` -> `mlops run`, with no edit of the generated files.

Two scikit-learn bundled sets (nothing downloaded), neither of them penguins:
* diabetes as Parquet, regression, integer features (age, sex): the pushed model's eval MSE must
  be at most 0.8x that of predicting the training mean (R² >= 0.2 against the mean predictor);
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





def _three_commands(tmp_path, data, label, name):
    config = tmp_path / f"{name}.yaml"
    proc = mlops("init", "--data", str(data), "--label", label, "--output", str(config),
                  "--push-destination", str(tmp_path / "models"))
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


def test_diabetes_regression_parquet_beats_the_mean_predictor(tmp_path):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["age"] = frame["age"].astype("int64")
    frame["sex"] = frame["sex"].astype("int64")
    data = tmp_path / "diabetes.parquet"
    frame.to_parquet(data, index=False)
    config, generated, summary = _three_commands(tmp_path, data, "target", "diabetes")
    assert "task: regression" in generated and "type: int" in generated
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
