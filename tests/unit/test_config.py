"""Config loading: the shipped config is valid; every kind of mistake gets a precise error."""

import copy
import re

import pytest

from pipelines.config import ConfigError, config_from_dict, load_config
from tests.configs import PENGUINS_CONFIG, write_config


def test_penguins_config_loads():
    cfg = load_config(PENGUINS_CONFIG)
    assert cfg.label == "species"
    assert "island" in cfg.feature_names and cfg.label not in cfg.feature_names
    assert cfg.beam.pipeline_args()[0] == "--runner=DirectRunner"
    assert cfg.module_config()["features"][0] == {"name": "bill_length_mm", "type": "float"}


def test_config_is_frozen():
    cfg = load_config(PENGUINS_CONFIG)
    with pytest.raises(Exception):
        cfg.label = "island"  # type: ignore[misc]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(colour="blue"), "unknown key 'colour'"),
        (lambda r: r["model"].update(epocs=3), "unknown key model.'epocs'"),
        (lambda r: r["model"].update(epochs="ten"), "model.epochs: expected an integer, got str 'ten'"),
        (lambda r: r["model"].update(learning_rate=True), "model.learning_rate: expected a number"),
        (lambda r: r.pop("label"), "missing required key 'label'"),
        (lambda r: r.update(label="island"), "'island' is also listed as a feature"),
        (lambda r: r["features"].append({"name": "island", "type": "categorical"}), "'island' is listed twice"),
        (lambda r: r["features"][0].update(type="text"), "features[0].type: 'text' is not one of"),
        (lambda r: r.update(slices=["year"]), "slices[0]: 'year' is not a feature"),
        (lambda r: r["split"].update(eval_fraction=1.5), "split.eval_fraction: 1.5 must be between 0 and 1"),
        (lambda r: r["push"].update(destination="ftp://host/models"), "only local paths, s3:// and gs://"),
        (lambda r: r["data"].update(uri="http://example/x.csv"), "data.uri"),
        (lambda r: r["evaluation"]["thresholds"][0].update(metric="f2"), "'f2' is not one of"),
        (lambda r: r["evaluation"]["thresholds"][0].update(lower_bound=0.9, upper_bound=0.1), "lower_bound 0.9 > upper_bound 0.1"),
        (lambda r: r.update(evaluation={"thresholds": [], "change_threshold": None}), "never blesses a model"),
        (lambda r: r["fairness"].update(sensitive_columns=["race"]), "fairness.sensitive_columns[0]: 'race'"),
        (lambda r: r["fairness"].update(max_accuracy_gap=1.5), "fairness.max_accuracy_gap: 1.5 must be in [0, 1]"),
        (lambda r: r["fairness"].update(max_accuracy_gap=None), "needs at least one max_* threshold"),
        (lambda r: (r.update(slices=[]), r["fairness"].update(sensitive_columns=[])), "needs sensitive columns"),
        (lambda r: r["explain"].update(sample_size=0), "explain.sample_size"),
        (lambda r: r["explain"].update(methods=["shap", "anchors"]), "explain.methods: ['shap', 'anchors'] must list"),
        (lambda r: r["explain"].update(methods=[]), "explain.methods: [] must list"),
        (lambda r: r["explain"].update(methods=["lime", "lime"]), "at most once"),
        (lambda r: r.update(model_card={"owner": "x", "licence": "MIT"}), "unknown key model_card.'licence'"),
        (lambda r: r["fairness"].update(mitigation="smote"), "fairness.mitigation: 'smote' is not one of"),
        (lambda r: r["fairness"].update(mitigation="reweighing", sensitive_columns=["body_mass_g"]),
         "'body_mass_g' is a float feature, not a categorical feature"),
        (lambda r: r["fairness"].update(mitigation="reweighing", enabled=False), "needs fairness.enabled: true"),
        (lambda r: r.update(features=[]), "features: list at least one feature"),
        (lambda r: r["model"].update(hidden_units=[16, 0]), "model.hidden_units"),
        (lambda r: r["push"].update(model_name="Bad Name"), "push.model_name"),
        (lambda r: r["compress"].update(variants=["int4"]), "compress.variants: 'int4'"),
        (lambda r: r["monitoring"].update(lookback_days=-1), "monitoring.lookback_days must be >= 0"),
        (lambda r: r["monitoring"].update(realert_after_hours=-2), "monitoring.realert_after_hours must be >= 0"),
    ],
)
def test_bad_config_names_the_key(tmp_path, raw_config, mutate, message):
    raw = copy.deepcopy(raw_config)
    mutate(raw)
    path = write_config(tmp_path, raw)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_not_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(bad)


def test_overrides_are_validated(raw_config, tmp_path):
    path = write_config(tmp_path, raw_config)
    cfg = load_config(path, {"data.uri": "s3://bucket/key.csv", "model.epochs": 3})
    assert cfg.data.uri == "s3://bucket/key.csv" and cfg.model.epochs == 3
    with pytest.raises(ConfigError, match="model.epochs: expected an integer"):
        load_config(path, {"model.epochs": "many"})


def test_another_dataset_needs_only_a_config():
    cfg = config_from_dict(
        {
            "name": "iris",
            "data": {"uri": "/data/iris.parquet", "format": "parquet"},
            "label": "variety",
            "features": [{"name": "petal_length", "type": "float"}, {"name": "petal_width", "type": "float"}],
            "evaluation": {"thresholds": [{"metric": "sparse_categorical_accuracy", "lower_bound": 0.9}]},
            "push": {"destination": "s3://models", "model_name": "iris"},
        }
    )
    assert cfg.module_config()["label"] == "variety"
    assert cfg.schema.path is None  # SchemaGen infers it


# ------------------------------------------------------------------ one schema: the DAG-side keys

# The keys only the Airflow DAGs read (training_pipeline's runners, model_monitoring): declared in
# pipelines/config.py, so `mlops run` accepts a config that uses them.
DAG_SIDE_KEYS = {
    "runner": "kubeflow",
    "kubeflow": {
        "package_path": "build/penguins_pipeline.yaml",
        "experiment": "mlops",
        "service_account": "pipeline-runner",
        "parameters": {"epochs": 3, "note": "x", "rate": 0.5, "flag": True},
    },
    "vertex": {
        "project": "proj-1",
        "location": "europe-west4",
        "pipeline_root": "gs://bucket/pipeline-root",
        "service_account": "trainer@proj-1.iam.gserviceaccount.com",
        "api_endpoint": "europe-west4-aiplatform.googleapis.com",
        "poll_seconds": 15,
        "anonymous_credentials": False,
        "timeout_seconds": 3600,
        "retry_initial_seconds": 1,
        "retry_max_seconds": 30,
        "retry_budget_seconds": 600,
        "parameters": {"epochs": 3},
    },
    "monitoring": {
        "snapshots_uri": "gs://bucket/snapshots/",
        "prediction_log_uri": "runs/prediction-logs/penguins/",
        "lookback_days": 3,
        "realert_after_hours": 6,
        "window_size": 0,
    },
}

# The same mistake as in tests/airflow/test_pipeline_config.py (the DAGs get this message too).
TYPO = "unknown key vertex.'projet'; allowed keys here: anonymous_credentials, api_endpoint, enable_caching, location,"


def _with(raw: dict, changes: dict) -> dict:
    raw = copy.deepcopy(raw)
    for key, value in copy.deepcopy(changes).items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    return raw


def test_a_config_with_the_dag_side_keys_is_accepted_by_mlops_run(tmp_path, raw_config):
    import argparse

    from pipelines.cli import _load  # what `mlops run --config` loads the config with

    path = write_config(tmp_path, _with(raw_config, DAG_SIDE_KEYS))
    cfg = _load(argparse.Namespace(config=str(path)))
    assert cfg == load_config(path)
    assert cfg.runner == "kubeflow"
    assert cfg.kubeflow.package_path == "build/penguins_pipeline.yaml" and cfg.kubeflow.experiment == "mlops"
    assert dict(cfg.kubeflow.parameters) == {"epochs": 3, "note": "x", "rate": 0.5, "flag": True}
    assert cfg.kubeflow.image == raw_config["kubeflow"]["image"]  # compile settings untouched
    vx = cfg.vertex
    assert (vx.project, vx.location_or_region, vx.pipeline_root) == ("proj-1", "europe-west4", "gs://bucket/pipeline-root")
    assert vx.poll_seconds == 15.0 and isinstance(vx.poll_seconds, float) and vx.retry_budget_seconds == 600.0
    assert cfg.monitoring.snapshots_uri == "gs://bucket/snapshots/" and cfg.monitoring.lookback_days == 3
    assert cfg.monitoring.window_size == 0
    # `vertex.region` is the documented alias of `vertex.location`.
    alias = load_config(write_config(tmp_path, _with(raw_config, {"vertex": {"region": "us-central1"}}), "alias.yaml"))
    assert alias.vertex.location_or_region == "us-central1"


def test_the_dag_side_keys_have_defaults():
    cfg = load_config(PENGUINS_CONFIG)
    assert cfg.runner is None and cfg.kubeflow.package_path is None and cfg.kubeflow.experiment is None
    assert dict(cfg.kubeflow.parameters) == {} and dict(cfg.vertex.parameters) == {}
    assert cfg.vertex.project is None and cfg.vertex.pipeline_root is None
    assert cfg.vertex.poll_seconds == 30.0 and cfg.vertex.timeout_seconds == 6 * 3600
    assert cfg.vertex.anonymous_credentials is False and cfg.vertex.retry_initial_seconds is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"vertex": {"projet": "proj-1"}}, TYPO),
        ({"kubeflow": {"experimnt": "mlops"}}, "unknown key kubeflow.'experimnt'; allowed keys here: enable_caching, experiment, gpu,"),
        ({"monitoring": {"lookback": 3}}, "unknown key monitoring.'lookback'"),
        ({"runner": "airflow"}, "runner: expected 'local' | 'kubeflow' | 'vertex' | 'dry-run' or null, got str 'airflow'"),
        ({"kubeflow": {"package_path": 3}}, "kubeflow.package_path: expected str or null, got int 3"),
        ({"kubeflow": {"package_path": " "}}, "kubeflow.package_path: must not be empty"),
        ({"kubeflow": {"parameters": {"epochs": [1, 2]}}}, "kubeflow.parameters.epochs: expected bool or int or float or str, got a list"),
        ({"vertex": {"parameters": {"data_uri": "gs://b/x.csv"}}}, "vertex.parameters.data_uri: the DAG always sends the URI it validated"),
        ({"vertex": {"poll_seconds": "fast"}}, "vertex.poll_seconds: expected a number, got str 'fast'"),
        ({"vertex": {"anonymous_credentials": "yes"}}, "vertex.anonymous_credentials: expected true or false"),
        ({"vertex": {"pipeline_root": "s3://bucket/root"}}, "vertex.pipeline_root: 's3://bucket/root' must be a gs:// URI"),
        ({"vertex": {"location": "europe-west4", "region": "us-central1"}}, "vertex.region: 'us-central1' differs from vertex.location"),
        ({"vertex": {"retry_budget_seconds": 0}}, "vertex.retry_budget_seconds: 0 must be > 0"),
        ({"monitoring": {"window_size": -1}}, "monitoring.window_size: -1 must be >= 0"),
        ({"monitoring": {"snapshots_uri": 5}}, "monitoring.snapshots_uri: expected str or null, got int 5"),
    ],
)
def test_dag_side_key_typos_are_rejected(tmp_path, raw_config, changes, message):
    path = write_config(tmp_path, _with(raw_config, changes))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_mlops_run_rejects_a_mistyped_dag_side_key_with_the_loaders_message(tmp_path, raw_config, capsys):
    from pipelines.cli import EXIT_USAGE, main

    path = write_config(tmp_path, _with(raw_config, {"vertex": {"projet": "proj-1"}}))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert TYPO in str(err.value)
    code = main(["run", "--config", str(path), "--output-dir", str(tmp_path / "out")], hard_exit=False)
    assert code == EXIT_USAGE
    assert str(err.value) in " ".join(capsys.readouterr().err.split())  # the CLI wraps lines at 100
    assert not (tmp_path / "out").exists()


def test_source_names_the_file_in_messages(tmp_path, raw_config):
    path = write_config(tmp_path, raw_config)
    assert load_config(path, source="pipelines/configs/x.yaml").source_path == "pipelines/configs/x.yaml"
    bad = write_config(tmp_path, _with(raw_config, {"vertex": {"projet": "p"}}), "bad.yaml")
    with pytest.raises(ConfigError, match=r"^pipelines/configs/x\.yaml: unknown key vertex\.'projet'"):
        load_config(bad, source="pipelines/configs/x.yaml")


def test_config_module_imports_only_the_standard_library_and_pyyaml():
    """The Airflow venv (Python 3.11, no TensorFlow) imports pipelines/config.py too."""
    import subprocess
    import sys

    code = (
        "import sys; before = set(sys.modules); import pipelines.config; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    allowed = {"pipelines", "yaml", "cython_runtime"}  # (cython_runtime: PyYAML's C extension)
    extra = {m for m in eval(out) if m not in sys.stdlib_module_names and not m.startswith("_")} - allowed
    assert extra == set(), extra


def test_every_metric_the_config_accepts_has_a_tfma_mapping():
    """pipelines.config names the metrics (no TF there, the DAGs load it); pipelines.metrics maps them."""
    from pipelines import config
    from pipelines.metrics import METRICS

    assert set(config._KNOWN_METRICS) == set(METRICS)
    assert {name for name, spec in METRICS.items() if spec.per_class} == set(config.PER_CLASS_METRICS)


def _regression_raw(raw_config, **changes):
    raw = copy.deepcopy(raw_config)
    raw.update(task="regression", label="body_mass_g", schema={"path": None}, validation={"expectation_suite": None})
    raw["features"] = [f for f in raw["features"] if f["name"] != "body_mass_g"]
    raw["evaluation"] = {"thresholds": [{"metric": "mse", "upper_bound": 200000.0}],
                         "change_threshold": {"metric": "mae", "absolute": 10.0}}
    raw["fairness"] = {"enabled": False}
    raw["compress"] = {"enabled": False}
    raw.update(changes)
    return raw


def test_regression_config_takes_error_metrics_and_error_gap_fairness(tmp_path, raw_config):
    cfg = load_config(write_config(tmp_path, _regression_raw(
        raw_config, fairness={"enabled": True, "sensitive_columns": ["island"], "max_mae_gap": 150.0})))
    assert cfg.task == "regression" and cfg.module_config()["task"] == "regression"
    assert cfg.fairness.max_mae_gap == 150.0


@pytest.mark.parametrize("changes, message", [
    ({"evaluation": {"thresholds": [{"metric": "accuracy", "lower_bound": 0.5}]}},
     "'accuracy' is not one of mse, rmse, mae, r2, example_count (the metrics of task: regression)"),
    ({"evaluation": {"thresholds": [{"metric": "r2", "lower_bound": 0.1}], "positive_class": "1"}},
     "evaluation.positive_class: a classification key"),
    ({"fairness": {"enabled": True, "sensitive_columns": ["island"]}}, "max_mae_gap, max_mean_residual_gap"),
])
def test_regression_config_rejects_classification_parts(tmp_path, raw_config, changes, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write_config(tmp_path, _regression_raw(raw_config, **changes)))


def test_classification_rejects_regression_metrics_and_bounds(tmp_path, raw_config):
    raw = copy.deepcopy(raw_config)
    raw["evaluation"]["thresholds"] = [{"metric": "mse", "upper_bound": 1.0}]
    with pytest.raises(ConfigError, match="'mse' is not one of"):
        load_config(write_config(tmp_path, raw))
    raw = copy.deepcopy(raw_config)
    raw["fairness"]["max_mae_gap"] = 1.0
    with pytest.raises(ConfigError, match="fairness.max_mae_gap: a regression bound"):
        load_config(write_config(tmp_path, raw))


def test_schema_or_suite_of_other_columns_is_rejected_at_load_naming_them(tmp_path, raw_config):
    """Copying penguins.yaml for another dataset keeps penguins' schema: caught at load, not 30 s in."""
    raw = copy.deepcopy(raw_config)
    raw["features"] = [{"name": "alcohol", "type": "float"}, {"name": "island", "type": "categorical"}]
    raw.update(label="species", slices=[], fairness={"enabled": False})
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, raw))
    msg = str(err.value)
    assert "schema.path: the schema does not match the config's features and label" in msg
    assert "lacks alcohol (in the config)" in msg
    assert "has bill_depth_mm, bill_length_mm, body_mass_g, flipper_length_mm, sex (not in the config)" in msg
    raw["schema"] = {"path": None}
    with pytest.raises(ConfigError, match=r"validation.expectation_suite: the expectation suite does not match .* lacks alcohol"):
        load_config(write_config(tmp_path, raw))


def test_schema_type_mismatch_and_missing_file_are_rejected(tmp_path, raw_config):
    raw = copy.deepcopy(raw_config)
    raw["features"][0]["type"] = "categorical"  # bill_length_mm is FLOAT in the schema
    with pytest.raises(ConfigError, match="bill_length_mm is categorical in the config but FLOAT in the schema"):
        load_config(write_config(tmp_path, raw))
    raw = copy.deepcopy(raw_config)
    raw["schema"]["path"] = "pipelines/schemas/nowhere/schema.pbtxt"
    with pytest.raises(ConfigError, match="schema.path: pipelines/schemas/nowhere/schema.pbtxt does not exist; run `mlops schema"):
        load_config(write_config(tmp_path, raw))


def test_rename_maps_headers_and_bad_names_suggest_it(tmp_path, raw_config):
    raw = copy.deepcopy(raw_config)
    raw["data"]["rename"] = {"Culmen Length (mm)": "bill_length_mm", "Species": "species"}
    assert load_config(write_config(tmp_path, raw)).data.rename["Species"] == "species"
    raw["data"]["rename"] = {"Foo (x)": "foo"}
    with pytest.raises(ConfigError, match="data.rename.Foo \\(x\\): maps to 'foo', which is neither a feature nor the label"):
        load_config(write_config(tmp_path, raw))
    raw = copy.deepcopy(raw_config)
    raw["features"][0]["name"] = "Culmen Length (mm)"
    with pytest.raises(ConfigError, match="map it in data.rename: {'Culmen Length \\(mm\\)': culmen_length_mm}"):
        load_config(write_config(tmp_path, raw))


@pytest.mark.parametrize("threshold, message", [
    ({"metric": "auc", "lower_bound": 1.01}, "lower_bound: 1.01 is outside the range of 'auc', [0, 1]; no model can ever pass it"),
    ({"metric": "accuracy", "lower_bound": 1.5}, "lower_bound: 1.5 is outside the range of 'accuracy', [0, 1]"),
    ({"metric": "accuracy", "upper_bound": -0.1}, "upper_bound: -0.1 is outside the range of 'accuracy'"),
    ({"metric": "precision", "lower_bound": -0.2}, "it bounds nothing"),
])
def test_a_threshold_outside_the_metrics_range_is_refused_at_load(tmp_path, raw_config, threshold, message):
    raw = copy.deepcopy(raw_config)
    raw["evaluation"]["thresholds"] = [threshold]
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, raw))
    assert "evaluation.thresholds[0]." in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("threshold, message", [
    ({"metric": "mse", "upper_bound": -5.0}, "upper_bound: -5 is outside the range of 'mse', [0, ∞]; no model can ever pass"),
    ({"metric": "r2", "lower_bound": 1.2}, "lower_bound: 1.2 is outside the range of 'r2', [-∞, 1]"),
    ({"metric": "mae", "lower_bound": -1.0}, "it bounds nothing"),
])
def test_regression_bounds_outside_the_range_are_refused(tmp_path, raw_config, threshold, message):
    raw = _regression_raw(raw_config, evaluation={"thresholds": [threshold]})
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write_config(tmp_path, raw))
    assert load_config(write_config(tmp_path, _regression_raw(
        raw_config, evaluation={"thresholds": [{"metric": "r2", "lower_bound": -3.0}]}))).task == "regression"


def test_mlops_run_refuses_an_impossible_threshold_before_training(tmp_path, raw_config):
    from tests.cli import mlops

    raw = copy.deepcopy(raw_config)
    raw["evaluation"]["thresholds"] = [{"metric": "accuracy", "lower_bound": 1.01}]
    proc = mlops("run", "--config", str(write_config(tmp_path, raw)), "--output-dir", str(tmp_path / "run"))
    assert proc.returncode == 2, proc.stderr
    tail = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and "'accuracy'" in proc.stderr and "1.01" in proc.stderr
    assert not (tmp_path / "run" / "run.json").exists() and tail


def test_reweighing_reaches_the_trainer_only_and_changes_the_training_key(tmp_path, raw_config):
    from pipelines.pipeline import training_key

    plain = load_config(write_config(tmp_path, raw_config))
    raw = copy.deepcopy(raw_config)
    raw["fairness"]["mitigation"] = "reweighing"
    mitigated = load_config(write_config(tmp_path, raw))
    assert "reweighing" not in plain.module_config()  # configs without mitigation train as before
    assert mitigated.module_config()["reweighing"] == {"columns": ["island", "sex"]}
    assert training_key(plain, "fp") != training_key(mitigated, "fp")
