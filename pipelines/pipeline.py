"""Assemble the TFX pipeline from a ``PipelineConfig``.

One function builds the same pipeline for the LocalDagRunner and the KubeflowV2DagRunner:
ingest -> statistics -> schema -> (TFDV + GE) -> data gate -> Transform -> Trainer ->
serving-model baseline -> Evaluator -> report -> [explain, fairness, compress] -> push.

Only container tasks: the Evaluator's baseline is resolved by our ``ServingModelBaseline`` from
the push destination (not by an MLMD ``Resolver``, which open-source KFP cannot run), so the
baseline means "the model now serving" on every backend.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from components.common import report_names as rn
from components.common.model_contract import EXAMPLES_SIGNATURE
from pipelines.config import PipelineConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE_FILE = REPO_ROOT / "pipelines" / "modules" / "tabular.py"
# Transform and Trainer import the module code by path from the image (PYTHONPATH=/src), not from
# a wheel TFX would build under the pipeline root: Beam workers (multi-process DirectRunner,
# Dataflow/Flink/Spark with the project image as SDK container) import it the same way.
MODULE_PATH = "pipelines.modules.tabular"
SERVING_SIGNATURE = "serving_default"
EVAL_SIGNATURE = "transform_features"


@dataclass(frozen=True)
class RunPaths:
    """Where a run writes: pipeline root, MLMD SQLite file and human-facing reports."""

    pipeline_root: str
    metadata_path: str
    report_dir: str


def run_paths(output_dir: str) -> RunPaths:
    out = os.path.abspath(output_dir)
    return RunPaths(os.path.join(out, "pipeline_root"), os.path.join(out, "metadata.sqlite"), os.path.join(out, "reports"))


def resolve_repo_path(path: str) -> str:
    """Config paths are relative to the repo root (so they work in the image and on the host)."""
    return path if os.path.isabs(path) or "://" in path else str(REPO_ROOT / path)


def module_fingerprint() -> str:
    """Hash of the module code, in Transform's and Trainer's ``custom_config``.

    With a module imported by path TFX's cache key holds only the path; the hash makes a change
    of the module code re-run Transform and Trainer, as a changed ``module_file`` did.
    """
    import hashlib

    return hashlib.sha256(MODULE_FILE.read_bytes()).hexdigest()[:16]


def eval_config(cfg: PipelineConfig):
    """TFMA EvalConfig: overall + per-slice metrics, value thresholds and a change threshold.

    Each threshold gates on the metric it names (``pipelines.metrics.METRICS``). AUC, precision
    and recall are in a MetricsSpec of their own, aggregated so the bound applies to one number and
    not to each class: the positive class's (index 1, see ``PipelineConfig.binary_label_order``)
    for a two-class label, the macro average over the classes otherwise.
    """
    # The protos themselves: the `tfma.GenericValueThreshold` aliases exist only once TFMA's
    # lazily loaded API has been imported (TFX does it; a plain `import tensorflow_model_analysis` not).
    from google.protobuf import wrappers_pb2
    from tensorflow_model_analysis.proto import config_pb2

    from pipelines.metrics import METRICS, label_classes
    from pipelines.modules.tabular import xf

    overall: dict[str, config_pb2.MetricConfig] = {}
    per_class: dict[str, config_pb2.MetricConfig] = {}
    # Per-class metrics are bounded on the whole eval set only: on a slice that lacks a class
    # (island=Torgersen has only Adelie) their macro average is undefined (NaN).

    def metric_config(spec) -> config_pb2.MetricConfig:
        return config_pb2.MetricConfig(class_name=spec.tfma_class, config=spec.config, module=spec.module)

    def threshold_of(name: str) -> config_pb2.MetricThreshold:
        spec = METRICS[name]
        if spec.per_class:
            metric = per_class.setdefault(spec.tfma_class, metric_config(spec))
            if not metric.per_slice_thresholds:
                metric.per_slice_thresholds.add(slicing_specs=[config_pb2.SlicingSpec()])
            return metric.per_slice_thresholds[0].threshold
        metric = overall.setdefault(spec.tfma_class, metric_config(spec))
        if spec.overall_only:
            if not metric.per_slice_thresholds:
                metric.per_slice_thresholds.add(slicing_specs=[config_pb2.SlicingSpec()])
            return metric.per_slice_thresholds[0].threshold
        return metric.threshold

    regression = cfg.task == "regression"
    if regression:  # every regression error is reported, gated or not
        from pipelines.metrics import REGRESSION_REPORTED

        for name in REGRESSION_REPORTED:
            overall[METRICS[name].tfma_class] = metric_config(METRICS[name])
    else:
        overall["SparseCategoricalAccuracy"] = config_pb2.MetricConfig(class_name="SparseCategoricalAccuracy")
    for t in cfg.evaluation.thresholds:
        bounds = {}
        if t.lower_bound is not None:
            bounds["lower_bound"] = {"value": t.lower_bound}
        if t.upper_bound is not None:
            bounds["upper_bound"] = {"value": t.upper_bound}
        threshold_of(t.metric).value_threshold.CopyFrom(config_pb2.GenericValueThreshold(**bounds))
    ct = cfg.evaluation.change_threshold
    if ct is not None:
        direction = (config_pb2.MetricDirection.HIGHER_IS_BETTER if METRICS[ct.metric].higher_is_better
                     else config_pb2.MetricDirection.LOWER_IS_BETTER)
        threshold_of(ct.metric).change_threshold.CopyFrom(
            config_pb2.GenericChangeThreshold(direction=direction, absolute={"value": ct.absolute})
        )
    overall.setdefault("ExampleCount", config_pb2.MetricConfig(class_name="ExampleCount"))
    metric_list = [*overall.values()]
    if not regression:
        metric_list.append(config_pb2.MetricConfig(class_name="MultiClassConfusionMatrixPlot"))
    specs = [config_pb2.MetricsSpec(metrics=metric_list)]
    if per_class:
        classes = label_classes(resolve_repo_path(cfg.schema.path), cfg.label) if cfg.schema.path else None
        if not classes:  # load_config rejects this; a hand-built config may not have been loaded
            raise ValueError(f"{cfg.name}: auc/precision/recall need the classes of label {cfg.label!r} from schema.path")
        # Two classes: the macro average over the positive class alone is that class's metric,
        # under the same key (no sub_key), so reports and run.json name it "auc" as before.
        weights = {1: 1.0} if cfg.binary_label_order() else {i: 1.0 for i in range(len(classes))}
        specs.append(config_pb2.MetricsSpec(
            metrics=list(per_class.values()),
            aggregate=config_pb2.AggregationOptions(macro_average=True, class_weights=weights),
        ))
    return config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(
                # A model with optional inputs is evaluated on the tf.Examples themselves: TFMA
                # cannot feed a missing feature to serving_default's dense inputs. Other configs
                # keep serving_default, which every model pushed before serve_examples has.
                signature_name=EXAMPLES_SIGNATURE if cfg.may_miss_features() else SERVING_SIGNATURE,
                label_key=xf(cfg.label),
                prediction_key="predicted_value" if regression else "probabilities",
                preprocessing_function_names=[EVAL_SIGNATURE],
            )
        ],
        slicing_specs=[config_pb2.SlicingSpec()] + [config_pb2.SlicingSpec(feature_keys=[c]) for c in cfg.slices],
        metrics_specs=specs,
        # Only the metrics above: TFMA would also recompute the model's compiled Keras metrics and
        # loss on every example batch, none of which a config can gate on, for about a third of
        # the Evaluator's time (benchmarks/evaluator_cost.py, docs/benchmarks.md).
        options=config_pb2.Options(include_default_metrics=wrappers_pb2.BoolValue(value=False)),
    )


def model_card_settings(cfg: PipelineConfig) -> dict:
    """What the pusher's model card takes from the config (``components/model_card``): the
    ``model_card`` section's owner and intended use, the task, features, gates and mitigation."""
    ct = cfg.evaluation.change_threshold
    return {
        **dataclasses.asdict(cfg.model_card),
        "model_name": cfg.push.model_name,
        "description": cfg.description,
        "task": cfg.task,
        "label": cfg.label,
        "features": [{"name": f.name, "type": f.type, "missing": f.missing} for f in cfg.features],
        "architecture": f"feed-forward network (tf_keras), hidden units {list(cfg.model.hidden_units)}, "
                        "over TFT-transformed features",
        "thresholds": [{"metric": t.metric, "lower_bound": t.lower_bound, "upper_bound": t.upper_bound}
                       for t in cfg.evaluation.thresholds],
        "change_threshold": {"metric": ct.metric, "absolute": ct.absolute} if ct is not None else None,
        "sensitive_columns": list(cfg.fairness.columns(cfg.slices)) if cfg.fairness.enabled else [],
        "mitigation": cfg.fairness.mitigation,
    }


def _off(bound: float | None) -> float:
    """Component parameters cannot be None; a negative bound turns a fairness check off."""
    return -1.0 if bound is None else float(bound)


# The config sections that decide the trained model (thresholds, reports, push and tracking
# settings do not: a run that changes only those trains the same model).
TRAINING_KEYS = ("data", "label", "features", "task", "split", "schema", "model")


def training_key(cfg: PipelineConfig, data_fingerprint: str) -> str:
    """What decides the trained model: the data version, the config sections in
    ``TRAINING_KEYS`` and the module code.

    Recorded in push manifests; a run with the same key would train the same model, so the
    version it pushed is this run's candidate, never its baseline (see ``_serving_version``).
    """
    import hashlib

    plain = cfg.to_dict()
    decides = {key: plain.get(key) for key in TRAINING_KEYS}
    if cfg.fairness.mitigation != "none":  # only then, so other configs keep their keys
        decides["fairness.mitigation"] = [cfg.fairness.mitigation, list(cfg.fairness.columns(cfg.slices))]
    text = json.dumps([data_fingerprint, decides, module_fingerprint()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _serving_version(destination: str, model_name: str, key: str) -> int:
    """The baseline version as known before the run (0: none, or the destination cannot be
    listed now), versions pushed by a run with the same training key passed over. Only a cache
    key of ServingModelBaseline and DriftCheck: an unchanged rerun sees the same number as the
    run before it and executes nothing."""
    from components.serving_baseline.logic import serving_version

    return serving_version(destination, model_name, key)


DATA_URI_PARAMETER = "data_uri"


def data_uri_parameter(cfg: PipelineConfig):
    """The data URI as a runtime parameter: a scheduler sets it per run; the config's is the default."""
    from tfx.orchestration.data_types import RuntimeParameter

    default = resolve_repo_path(cfg.data.uri) if "://" not in cfg.data.uri else cfg.data.uri
    return RuntimeParameter(name=DATA_URI_PARAMETER, ptype=str, default=default)


# The compiled pipeline's cache keys for external state, set per run by the scheduler (the Airflow
# runners) because KFP's cache key holds only parameters, artifact names, command and image
# (docs/kubeflow.md, Caching). Locally they are compile-time values read just before the run.
DATA_FINGERPRINT_PARAMETER = "data_fingerprint"
SERVING_VERSION_PARAMETER = "serving_version"


def runtime_parameters(cfg: PipelineConfig) -> list:
    """Every runtime parameter of the compiled pipeline, with its default: ``data_uri`` (the
    config's), ``data_fingerprint`` ("": not known at compile time) and ``serving_version``
    (0: no serving model known)."""
    from tfx.orchestration.data_types import RuntimeParameter

    return [
        data_uri_parameter(cfg),
        RuntimeParameter(name=DATA_FINGERPRINT_PARAMETER, ptype=str, default=""),
        RuntimeParameter(name=SERVING_VERSION_PARAMETER, ptype=int, default=0),
    ]


def create_pipeline(
    cfg: PipelineConfig,
    pipeline_root: str,
    metadata_path: str | None = None,
    report_dir: str = "",
    data_fingerprint: str = "",
    code_version: str = "",
    for_kubeflow: bool = False,
):
    """Builds the ``tfx.dsl.Pipeline``.

    Args:
        cfg: Validated config.
        pipeline_root: Artifact root (local dir, gs:// for Vertex).
        metadata_path: SQLite MLMD file for local runs; None for Kubeflow (the cluster's MLMD).
        report_dir: Where components copy human-facing reports (local runs).
        data_fingerprint: Part of the ingest cache key, so new data at the same URI re-runs.
        code_version: Recorded in push manifests.
        for_kubeflow: Add accelerator requests to the Trainer when ``model.gpus > 0``; the data
            fingerprint and the serving version become the runtime parameters
            ``data_fingerprint`` and ``serving_version`` (``runtime_parameters``).
    """
    # Not `from tfx import v1`: that also imports Vertex's SDK (about 5 s per process) for
    # extensions this pipeline does not use.
    from tfx.components import ExampleValidator, SchemaGen, StatisticsGen, Trainer, Transform
    from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
    from tfx.orchestration.metadata import sqlite_metadata_connection_config
    from tfx.orchestration.pipeline import Pipeline

    from components.compress.component import ModelCompression
    from components.data_gate.component import DataGate
    from components.drift.component import DriftCheck
    from components.eval_report.component import EvaluationReport
    from components.explain.component import ModelExplanation
    from components.fairness.component import FairnessGate
    from components.ge_validation.component import GreatExpectationsValidation
    from components.ingest.component import DataIngest
    from components.serving_baseline.evaluator import Evaluator
    from components.serving_baseline.component import ServingModelBaseline
    from components.versioned_pusher.component import VersionedPusher

    feature_types = {f.name: f.type for f in cfg.features}
    run_key = training_key(cfg, data_fingerprint)
    if for_kubeflow:
        _, data_fingerprint, serving_version_param = runtime_parameters(cfg)
        # The data is known only at run time; a compile-time key would be the same for every
        # dataset and make the runners' serving_version pass over every pushed version
        # (docs/kubeflow.md, Caching). Manifests pushed from Kubeflow carry none.
        run_key = ""
    ingest = DataIngest(
        data_uri=data_uri_parameter(cfg),
        data_format=cfg.data.format,
        feature_types_json=json.dumps(feature_types, sort_keys=True),
        label=cfg.label,
        eval_fraction=cfg.split.eval_fraction,
        seed=cfg.split.seed,
        drop_incomplete_rows=int(cfg.data.drop_incomplete_rows),
        max_dropped_fraction=cfg.data.max_dropped_fraction,
        data_fingerprint=data_fingerprint,
        report_dir=report_dir,
        # Only when set, so configs without a rename compile to the same spec as before.
        **({"column_map_json": json.dumps(dict(cfg.data.rename), sort_keys=True)} if cfg.data.rename else {}),
        **({"impute_columns_json": json.dumps(cfg.imputed_features())} if cfg.imputed_features() else {}),
    ).with_id("DataIngest")
    examples = ingest.outputs["examples"]
    statistics_gen = StatisticsGen(examples=examples)
    if cfg.schema.path:
        schema_gen = ImportSchemaGen(schema_file=resolve_repo_path(cfg.schema.path))
    else:
        schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True)
    schema = schema_gen.outputs["schema"]
    example_validator = ExampleValidator(statistics=statistics_gen.outputs["statistics"], schema=schema)
    ge_validation = GreatExpectationsValidation(
        examples=examples,
        schema=schema,
        dataset=cfg.name,
        max_examples=cfg.validation.max_example_values,
        report_dir=report_dir,
    ).with_id("GreatExpectationsValidation")
    gate = DataGate(
        anomalies=example_validator.outputs["anomalies"],
        ge_result=ge_validation.outputs["result"],
        dataset=cfg.name,
        report_dir=report_dir,
    ).with_id("DataGate")
    module_config = {**cfg.module_config(), "module_fingerprint": module_fingerprint()}
    transform = Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn=f"{MODULE_PATH}.preprocessing_fn",
        # Without the model's hyperparameters: changing them re-trains, not re-transforms.
        custom_config={k: v for k, v in module_config.items() if k not in ("model", "reweighing")},
        # Pre/post-transform statistics are computed by nothing we read (StatisticsGen's are):
        # 15-26 % of Transform's time.
        disable_statistics=True,
    )
    # ExampleValidator never fails a run; the gate does, and Transform waits for it.
    transform.add_upstream_node(gate)
    destination = cfg.push.destination if "://" in cfg.push.destination else os.path.abspath(cfg.push.destination)
    # One read of the push destination: the cache key of both DriftCheck and ServingModelBaseline.
    baseline_version = serving_version_param if for_kubeflow else _serving_version(destination, cfg.push.model_name, run_key)
    drift_check = None
    if cfg.drift_check.enabled:
        drift_check = DriftCheck(
            current_examples=examples,
            serving_models=destination,
            model_name=cfg.push.model_name,
            # In the cache key only: a new push re-runs the check on unchanged data.
            serving_version=baseline_version,
            features_json=json.dumps(feature_types, sort_keys=True),
            threshold=cfg.monitoring.drift_threshold,
            numeric_metric=cfg.monitoring.numeric_metric,
            categorical_metric=cfg.monitoring.categorical_metric,
            current_splits="train,eval",
            report_dir=os.path.join(report_dir, rn.DRIFT) if report_dir else "",
            fail_on_drift=int(cfg.drift_check.fail_on_drift),
        ).with_id("DriftCheck")
        if cfg.drift_check.fail_on_drift:
            transform.add_upstream_node(drift_check)  # drifted data must not reach training
    trainer = Trainer(
        run_fn=f"{MODULE_PATH}.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        custom_config={**module_config, "seed": cfg.split.seed},
    )
    if for_kubeflow and cfg.model.gpus > 0:
        from kfp.pipeline_spec import pipeline_spec_pb2

        resources = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
        resources.accelerator.type = cfg.kubeflow.gpu.accelerator_type
        resources.accelerator.count = cfg.model.gpus
        trainer.with_platform_config(resources)
    # The change threshold compares with the model now serving (the push destination's newest
    # complete, blessed version); before the first push the Evaluator applies absolute thresholds only.
    baseline = ServingModelBaseline(
        destination=destination,
        model_name=cfg.push.model_name,
        candidate=trainer.outputs["model"],
        # In the cache key only: a new push re-resolves on unchanged inputs.
        serving_version=baseline_version,
    ).with_id("ServingModelBaseline")
    evaluator = Evaluator(
        examples=examples,
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        eval_config=eval_config(cfg),
    )
    report = EvaluationReport(
        evaluation=evaluator.outputs["evaluation"],
        blessing=evaluator.outputs["blessing"],
        transform_graph=transform.outputs["transform_graph"],
        baseline=baseline.outputs["model"],
        model_name=cfg.push.model_name,
        report_dir=report_dir,
    ).with_id("EvaluationReport")
    model = trainer.outputs["model"]
    extras = []
    blessing = evaluator.outputs["blessing"]
    explanation = fairness_result = compressed = None
    if cfg.explain.enabled:
        explain = ModelExplanation(
            model=model,
            examples=examples,
            sample_size=cfg.explain.sample_size,
            background_size=cfg.explain.background_size,
            seed=cfg.split.seed,
            model_name=cfg.push.model_name,
            report_dir=report_dir,
            # Only when not the default, so SHAP-only pipelines compile as before.
            **({"methods_json": json.dumps(list(cfg.explain.methods))} if cfg.explain.methods != ("shap",) else {}),
        ).with_id("ModelExplanation")
        explanation = explain.outputs["explanation"]
        extras.append(explain)
    if cfg.fairness.enabled:
        fair = cfg.fairness
        fairness = FairnessGate(
            model=model,
            examples=examples,
            model_blessing=evaluator.outputs["blessing"],
            label=cfg.label,
            sensitive_columns_json=json.dumps(list(fair.columns(cfg.slices))),
            # The component takes < 0 as "check off"; YAML null means the same.
            max_accuracy_gap=_off(fair.max_accuracy_gap),
            max_demographic_parity_difference=_off(fair.max_demographic_parity_difference),
            max_equalized_odds_difference=_off(fair.max_equalized_odds_difference),
            max_recall_gap=_off(fair.max_recall_gap),
            min_group_size=fair.min_group_size,
            model_name=cfg.push.model_name,
            report_dir=report_dir,
            # Only for regression, so classification pipelines compile as before.
            **({"task": "regression", "max_mae_gap": _off(fair.max_mae_gap),
                "max_mean_residual_gap": _off(fair.max_mean_residual_gap)} if cfg.task == "regression" else {}),
            **({"mitigation": fair.mitigation} if fair.mitigation != "none" else {}),
        ).with_id("FairnessGate")
        # The pusher obeys the AND of the Evaluator's verdict and the fairness verdict.
        blessing = fairness.outputs["blessing"]
        fairness_result = fairness.outputs["result"]
        extras.append(fairness)
    if cfg.compress.enabled:
        compress = ModelCompression(
            model=model,
            examples=examples,
            label=cfg.label,
            variants_json=json.dumps(list(cfg.compress.variants)),
            accuracy_budget=cfg.compress.accuracy_budget,
            prune=int(cfg.compress.prune),
            distill=int(cfg.compress.distill),
            report_dir=report_dir,
            # Only for regression, so classification pipelines compile as before.
            **({"max_error_increase": cfg.compress.error_budget} if cfg.task == "regression" else {}),
        ).with_id("ModelCompression")
        compressed = compress.outputs["compressed"]
        extras.append(compress)
    pusher = VersionedPusher(
        model=model,
        model_blessing=blessing,
        evaluation_report=report.outputs["report"],
        explanation=explanation,
        fairness=fairness_result,
        compressed=compressed,
        examples=examples,
        destination=destination,
        model_name=cfg.push.model_name,
        pipeline_name=cfg.name,
        code_version=code_version,
        training_key=run_key,
        report_dir=report_dir,
        model_card_json=json.dumps(model_card_settings(cfg), sort_keys=True),
    ).with_id("VersionedPusher")
    components = [
        ingest, statistics_gen, schema_gen, example_validator, ge_validation, gate,
        *([drift_check] if drift_check is not None else []), transform, trainer, baseline, evaluator, report, *extras, pusher,
    ]
    metadata_config = (
        sqlite_metadata_connection_config(metadata_path) if metadata_path else None
    )
    return Pipeline(
        pipeline_name=cfg.name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=True,
        metadata_connection_config=metadata_config,
        beam_pipeline_args=cfg.beam.pipeline_args(),
    )
