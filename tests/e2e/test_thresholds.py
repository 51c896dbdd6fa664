"""Each threshold gates on the metric it names (pipelines/metrics.py), in the real Evaluator.

One pipeline run trains and pushes; the later runs change only the evaluation config, so only the
Evaluator and what follows it run again. The reported AUC, precision and recall are checked
against scikit-learn's macro averages on the same eval split and model.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from components.versioned_pusher import logic as push_logic
from pipelines.config import load_config
from pipelines.local.run import run_local
from tests.configs import fast_config

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PER_CLASS = ("auc", "precision", "recall")


def _thresholds(raw: dict, thresholds: list[dict]) -> dict:
    raw = dict(raw)
    raw["evaluation"] = {"thresholds": thresholds}
    return raw


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    import yaml

    from tests.configs import PENGUINS_CONFIG

    base = tmp_path_factory.mktemp("thresholds")
    raw = yaml.safe_load(PENGUINS_CONFIG.read_text())
    every = [{"metric": "accuracy", "lower_bound": 0.5}] + [{"metric": m, "lower_bound": 0.0} for m in PER_CLASS]
    cfg = load_config(fast_config(base, _thresholds(raw, every)))
    summary = run_local(cfg, str(base / "run"))
    assert summary.status == "succeeded", summary.reason
    return {"base": base, "raw": raw, "cfg": cfg, "summary": summary}


def _sklearn_metrics(run: dict) -> dict[str, float]:
    """Macro AUC (one vs rest), macro precision/recall of "class probability > 0.5", on the eval split."""
    import tensorflow as tf
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    from components.common import examples_io

    from pipelines.pipeline import run_paths
    from pipelines.local.mlmd import run_artifacts

    cfg = run["cfg"]
    arts = {(n, k): u for n, k, u in run_artifacts(run_paths(str(run["base"] / "run")).metadata_path, run["summary"].run_id)}
    eval_df = examples_io.read_split(arts[("DataIngest", "examples")], "eval")
    vocab_file = Path(arts[("Transform", "transform_graph")]) / "transform_fn" / "assets" / "label_vocab"
    classes = vocab_file.read_text().splitlines()
    raw = {f.name: tf.constant(eval_df[f.name].to_numpy().astype(str) if f.type == "categorical"
                               else eval_df[f.name].to_numpy().astype("float32")) for f in cfg.features}
    pushed = tf.saved_model.load(str(run["base"] / "models" / "penguins" / "1" / "saved_model"))
    probs = pushed.signatures["serving_default"](**raw)["probabilities"].numpy()
    y = np.array([classes.index(v) for v in eval_df[cfg.label]])
    labels = list(range(len(classes)))
    onehot = np.eye(len(classes))[y]
    above = (probs > 0.5).astype(int)
    per_class = [(precision_score(onehot[:, c], above[:, c], zero_division=0),
                  recall_score(onehot[:, c], above[:, c], zero_division=0)) for c in labels]
    return {
        "auc": roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels),
        "precision": float(np.mean([p for p, _ in per_class])),
        "recall": float(np.mean([r for _, r in per_class])),
    }


def test_reported_metrics_are_the_named_macro_averages(first_run):
    reported = first_run["summary"].metrics
    expected = _sklearn_metrics(first_run)
    for name in PER_CLASS:
        assert name in reported, reported
        # TFMA's AUC integrates over 10,000 thresholds; precision/recall are exact.
        tolerance = 2e-3 if name == "auc" else 1e-6
        assert reported[name] == pytest.approx(expected[name], abs=tolerance), (name, reported[name], expected[name])
    report = json.loads((first_run["base"] / "run" / "reports" / "evaluation" / "metrics.json").read_text())
    assert {"auc", "precision", "recall", "sparse_categorical_accuracy"} <= set(report["overall"])


@pytest.mark.parametrize("metric", PER_CLASS)
def test_a_threshold_only_that_metric_fails_leaves_the_model_unblessed(first_run, metric):
    observed = first_run["summary"].metrics[metric]
    # An upper bound just under the observed value: this metric fails, accuracy passes.
    thresholds = [{"metric": "accuracy", "lower_bound": 0.5}, {"metric": metric, "upper_bound": observed - 1e-4}]
    base = first_run["base"]
    before = push_logic.dir_fingerprint(base / "models" / "penguins" / "1")
    cfg = load_config(fast_config(base, _thresholds(first_run["raw"], thresholds), destination=str(base / "models")))
    summary = run_local(cfg, str(base / "run"))
    assert summary.status == "not_blessed", summary.reason
    assert metric in summary.reason and "sparse_categorical_accuracy" not in summary.reason, summary.reason
    assert summary.components["Trainer"]["state"] == "cached"
    assert push_logic.complete_versions(str(base / "models"), "penguins") == [1]
    assert push_logic.dir_fingerprint(base / "models" / "penguins" / "1") == before


def test_per_class_metric_without_label_classes_is_rejected_at_load(tmp_path, raw_config):
    from pipelines.config import ConfigError

    raw = _thresholds(raw_config, [{"metric": "auc", "lower_bound": 0.9}])
    raw["schema"] = {"path": None}
    raw["validation"] = {**raw["validation"], "expectation_suite": None}
    with pytest.raises(ConfigError, match=r"auc are macro-averaged over the classes of label 'species'.*schema.path"):
        load_config(fast_config(tmp_path, raw))
    schema = Path(tmp_path / "schema.pbtxt")
    schema.write_text('feature { name: "species" type: BYTES }\n')
    raw["schema"] = {"path": str(schema)}
    with pytest.raises(ConfigError, match=r"gives label 'species' no domain"):
        load_config(fast_config(tmp_path, raw))
