"""Config loading: the shipped config is valid; every kind of mistake gets a precise error."""

import copy

import pytest

from pipelines.config import ConfigError, config_from_dict, load_config
from tests.conftest import PENGUINS_CONFIG, write_config


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
