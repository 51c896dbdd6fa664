"""The EvalConfig the Evaluator gets: a two-class label's AUC/precision/recall are the positive
class's, R² is a regression metric, and the config keys behind them are validated at load."""

import copy
import re

import numpy as np
import pytest

from pipelines.config import ConfigError, load_config
from pipelines.metrics import positive_class_name
from tests.configs import write_config


def _schema(tmp_path, label_domain: str, name: str = "schema.pbtxt") -> str:
    path = tmp_path / name
    path.write_text('feature { name: "x" type: FLOAT }\n'
                    f'feature {{ name: "y" type: {"INT" if "int_domain" in label_domain else "BYTES"} {label_domain} }}\n')
    return str(path)


def _raw(raw_config, schema_path, thresholds=None, **evaluation):
    raw = copy.deepcopy(raw_config)
    raw.update(label="y", features=[{"name": "x", "type": "float"}], slices=[],
               schema={"path": schema_path}, validation={"expectation_suite": None},
               fairness={"enabled": False}, compress={"enabled": False})
    raw["evaluation"] = {"thresholds": thresholds or [{"metric": "auc", "lower_bound": 0.6},
                                                       {"metric": "precision", "lower_bound": 0.5}], **evaluation}
    return raw


def _per_class_spec(eval_config):
    specs = [s for s in eval_config.metrics_specs if s.HasField("aggregate")]
    assert len(specs) == 1, eval_config
    return specs[0]


BOOL = "int_domain { min: 0 max: 1 }"


@pytest.mark.parametrize("configured, order", [
    (None, ["0", "1"]),      # default: the second sorted class ("1" of 0/1 and of True/False)
    (True, ["0", "1"]),      # YAML true names "1": ingest writes a True/False label as 0/1
    ("0", ["1", "0"]),
    (0, ["1", "0"]),
])
def test_binary_metrics_are_the_positive_class_index_1_and_transform_puts_it_there(
        tmp_path, raw_config, configured, order):
    from pipelines.pipeline import eval_config

    extra = {} if configured is None else {"positive_class": configured}
    cfg = load_config(write_config(tmp_path, _raw(raw_config, _schema(tmp_path, BOOL), **extra)))
    assert cfg.module_config()["label_classes"] == order  # negative, positive
    spec = _per_class_spec(eval_config(cfg))
    assert spec.aggregate.macro_average and dict(spec.aggregate.class_weights) == {1: 1.0}
    assert not spec.HasField("binarize")
    names = {m.class_name: m for m in spec.metrics}
    assert set(names) == {"AUC", "Precision"}
    bound = names["AUC"].per_slice_thresholds[0]
    assert bound.threshold.value_threshold.lower_bound.value == 0.6
    assert list(bound.slicing_specs) == [type(bound.slicing_specs[0])()]  # the whole eval set only


def test_more_than_two_classes_stay_macro_averages_and_keep_frequency_order(tmp_path, raw_config):
    from pipelines.pipeline import eval_config

    schema = _schema(tmp_path, 'string_domain { value: "a" value: "b" value: "c" }')
    cfg = load_config(write_config(tmp_path, _raw(raw_config, schema)))
    assert "label_classes" not in cfg.module_config()
    spec = _per_class_spec(eval_config(cfg))
    assert dict(spec.aggregate.class_weights) == {0: 1.0, 1: 1.0, 2: 1.0}


def test_string_classes_default_to_the_second_sorted_one(tmp_path, raw_config):
    schema = _schema(tmp_path, 'string_domain { value: "yes" value: "no" }')
    cfg = load_config(write_config(tmp_path, _raw(raw_config, schema)))
    assert cfg.module_config()["label_classes"] == ["no", "yes"]


def test_positive_class_names_by_value_or_sorted_default():
    assert positive_class_name(None, ("1", "0")) == "1"
    assert positive_class_name(None, ("10", "9")) == "10"  # numeric order, not text order
    assert positive_class_name(None, ("malignant", "benign")) == "malignant"
    assert positive_class_name(False, ("0", "1")) == "0"
    assert positive_class_name(True, ("False", "True")) == "True"  # a text True/False label
    assert positive_class_name("maybe", ("no", "yes")) is None
    assert positive_class_name(None, ("a", "b", "c")) is None


@pytest.mark.parametrize("domain, evaluation, message", [
    (BOOL, {"positive_class": "2"}, "evaluation.positive_class: '2' is not a class of label 'y'; its classes in"),
    ('string_domain { value: "a" value: "b" value: "c" }', {"positive_class": "a"},
     "evaluation.positive_class: label 'y' has 3 classes"),
])
def test_a_wrong_positive_class_is_rejected_at_load_naming_the_key(tmp_path, raw_config, domain, evaluation, message):
    raw = _raw(raw_config, _schema(tmp_path, domain), **evaluation)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write_config(tmp_path, raw))


def test_positive_class_needs_a_schema_and_a_classification_task(tmp_path, raw_config):
    raw = _raw(raw_config, None, thresholds=[{"metric": "accuracy", "lower_bound": 0.5}], positive_class="1")
    with pytest.raises(ConfigError, match=r"evaluation.positive_class: a positive class is one of the classes of "
                                          r"label 'y', which come from a curated schema: set schema.path"):
        load_config(write_config(tmp_path, raw))
    raw.update(task="regression")
    raw["evaluation"]["thresholds"] = [{"metric": "mse", "upper_bound": 1.0}]
    with pytest.raises(ConfigError, match="evaluation.positive_class: a classification key"):
        load_config(write_config(tmp_path, raw))


def _regression(raw_config, tmp_path, thresholds, **compress):
    raw = _raw(raw_config, None, thresholds=thresholds)
    raw.update(task="regression", compress={"enabled": bool(compress), **compress})
    return load_config(write_config(tmp_path, raw))


def test_r2_is_a_regression_metric_computed_by_the_eagerly_built_keras_r2(tmp_path, raw_config):
    from pipelines.pipeline import eval_config

    cfg = _regression(raw_config, tmp_path, [{"metric": "r2", "lower_bound": 0.2}])
    (spec,) = eval_config(cfg).metrics_specs
    r2 = next(m for m in spec.metrics if m.class_name == "R2Score")
    assert r2.module == "pipelines.keras_metrics"
    assert r2.per_slice_thresholds[0].threshold.value_threshold.lower_bound.value == 0.2
    assert {m.class_name for m in spec.metrics} >= {"MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError"}
    cfg = _regression(raw_config, tmp_path, [{"metric": "mse", "upper_bound": 1.0}])
    (spec,) = eval_config(cfg).metrics_specs
    assert "R2Score" in {m.class_name for m in spec.metrics}  # reported without a threshold too


def test_r2_in_tfma_equals_scikit_learns_on_every_slice():
    """The metric as TFMA computes it from the EvalConfig entry (several slices, merged state)."""
    import pandas as pd
    import tensorflow_model_analysis as tfma
    from sklearn.metrics import r2_score
    from tensorflow_model_analysis.proto import config_pb2

    rng = np.random.default_rng(0)
    y = rng.normal(size=600) * 30 + 150
    pred = y + rng.normal(scale=20, size=600)
    df = pd.DataFrame({"label": y, "prediction": pred, "g": rng.integers(0, 3, 600).astype(str)})
    cfg = config_pb2.EvalConfig(
        model_specs=[config_pb2.ModelSpec(label_key="label", prediction_key="prediction")],
        slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=["g"])],
        metrics_specs=[config_pb2.MetricsSpec(metrics=[
            config_pb2.MetricConfig(class_name="R2Score", module="pipelines.keras_metrics")])])
    result = tfma.analyze_raw_data(df, cfg)
    seen = {}
    for slice_key, metrics in result.slicing_metrics:
        seen[slice_key] = metrics[""][""]["r2_score"]["doubleValue"]
    assert seen[()] == pytest.approx(r2_score(y, pred), abs=1e-5)
    for g in "012":
        rows = df["g"] == g
        assert seen[(("g", g),)] == pytest.approx(r2_score(y[rows], pred[rows]), abs=1e-5)


def test_regression_compression_takes_an_error_budget(tmp_path, raw_config):
    cfg = _regression(raw_config, tmp_path, [{"metric": "mae", "upper_bound": 10.0}], max_error_increase=0.1)
    assert cfg.compress.enabled and cfg.compress.error_budget == 0.1
    assert _regression(raw_config, tmp_path, [{"metric": "mae", "upper_bound": 10.0}]).compress.error_budget == 0.05
    with pytest.raises(ConfigError, match=r"compress.max_error_increase: -0.1 must be in \[0, 10\)"):
        _regression(raw_config, tmp_path, [{"metric": "mae", "upper_bound": 10.0}], max_error_increase=-0.1)
    raw = _raw(raw_config, None, thresholds=[{"metric": "accuracy", "lower_bound": 0.5}])
    raw["compress"] = {"enabled": True, "max_error_increase": 0.1}
    with pytest.raises(ConfigError, match="compress.max_error_increase: the regression budget"):
        load_config(write_config(tmp_path, raw))
