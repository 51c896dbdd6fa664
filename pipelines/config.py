"""Pipeline configuration: one YAML per pipeline, loaded into frozen dataclasses.

Validation happens at load time so that a typo fails in milliseconds with a message naming the
key, instead of twenty minutes into a run. This is the one schema of the config: the pipeline
(``mlops run``/``compile``), the Airflow DAGs (``dags/mlops_airflow/pipeline_config.py``), serving
(``mlops serve``) and monitoring (``mlops drift``, the ``model_monitoring`` DAG) all load it
here, so every key any of them reads is declared below, and a key that is not declared is
rejected by all of them with the same message.

This module must stay importable in the Airflow venv (Python 3.11, no TensorFlow): standard
library and PyYAML only at import; a check that needs TensorFlow must import it lazily and
tolerate ``ImportError``.

Example:
    cfg = load_config("pipelines/configs/penguins.yaml")
    cfg.label            # "species"
    cfg.feature_names    # ("bill_length_mm", ...)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

FeatureType = Literal["float", "int", "categorical"]
DataFormat = Literal["csv", "parquet"]
#: What the model predicts: a class (softmax over the label's values) or a number.
Task = Literal["classification", "regression"]
#: Where the ``training_pipeline`` DAG runs the pipeline (``dry-run``: validate the data only).
Runner = Literal["local", "kubeflow", "vertex", "dry-run"]
RUNNERS: tuple[str, ...] = typing.get_args(Runner)
#: A runtime parameter value sent to a KFP run / Vertex job (STRING, NUMBER_INTEGER,
#: NUMBER_DOUBLE or BOOLEAN in the compiled spec).
ParameterValue = bool | int | float | str

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-_]{0,62}$")
_URI_SCHEMES = ("s3://", "gs://", "package://")
# The metrics a threshold may name and how each is computed: pipelines/metrics.py.
_KNOWN_METRICS = (
    "sparse_categorical_accuracy",
    "accuracy",
    "auc",
    "precision",
    "recall",
    "example_count",
    "mse",
    "rmse",
    "mae",
    "r2",
)
# Per-class metrics: the positive class's for a two-class label (``evaluation.positive_class``),
# else macro averages over the classes. Either way they need the classes (a curated schema).
PER_CLASS_METRICS = ("auc", "precision", "recall")
# Which metrics each task may gate on (example_count: both).
CLASSIFICATION_METRICS = ("sparse_categorical_accuracy", "accuracy", "auc", "precision", "recall", "example_count")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2", "example_count")
# Error metrics: lower is better, so a change threshold bounds how much they may grow.
LOWER_IS_BETTER_METRICS = ("mse", "rmse", "mae")


#: Attribution methods of the explain step (components/explain).
EXPLAIN_METHODS = ("shap", "lime")


class ConfigError(ValueError):
    """A pipeline config is invalid. The message names the file and the key."""


@dataclass(frozen=True)
class Feature:
    """One input column.

    Attributes:
        name: Column name in the source data.
        type: ``float``/``int`` (z-scored) or ``categorical`` (vocabulary).
        missing: What a row without a value in this column means. ``drop`` (default): the row
            is dropped at ingest (``data.drop_incomplete_rows``) and the served model needs the
            feature. ``impute``: the row is kept and the model fills the value in, in training
            and at serving alike: the training mean for a number, a category of its own for a
            categorical; a request may send null or leave the feature out.
    """

    name: str
    type: FeatureType
    missing: Literal["drop", "impute"] = "drop"


@dataclass(frozen=True)
class DataConfig:
    """Where the training data lives and how to read it.

    Attributes:
        uri: Local path, ``s3://``, ``gs://`` or ``package://<pkg>/<path>`` (a file shipped in an
            installed Python package).
        format: ``csv`` or ``parquet``.
        drop_incomplete_rows: Drop rows with a missing label or feature before validation.
        max_dropped_fraction: Above this fraction of dropped rows the data gate stops the run.
        rename: Source column header -> the name the pipeline uses (features, label, slices,
            schema, model signature, serving requests, reports, drift). Needed for headers that
            are not ``[A-Za-z_][A-Za-z0-9_]*``, e.g. ``{"Culmen Length (mm)": culmen_length_mm}``;
            ``mlops init`` writes it with :func:`sanitize_column_name`'s names.
    """

    uri: str
    format: DataFormat = "csv"
    drop_incomplete_rows: bool = True
    max_dropped_fraction: float = 0.1
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitConfig:
    """Deterministic train/eval split by a hash of each row's content."""

    eval_fraction: float = 0.2
    seed: int = 42


@dataclass(frozen=True)
class SchemaConfig:
    """A curated TFDV schema kept in the repo (ImportSchemaGen); empty means infer (SchemaGen)."""

    path: str | None = None


@dataclass(frozen=True)
class ValidationConfig:
    """Data validation settings.

    Attributes:
        expectation_suite: Great Expectations suite JSON derived from the schema (shared with
            the Airflow DAGs). Empty means derive it at run time.
        max_example_values: How many offending values a failure message shows.
    """

    expectation_suite: str | None = None
    max_example_values: int = 5


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of the generic tf_keras model (classifier or regressor, per ``task``)."""

    hidden_units: tuple[int, ...] = (16, 8)
    learning_rate: float = 0.01
    batch_size: int = 32
    epochs: int = 20
    dropout: float = 0.0
    gpus: int = 0


@dataclass(frozen=True)
class Threshold:
    """An absolute bound on an evaluation metric.

    ``metric`` is one of ``pipelines.metrics.METRICS``: ``accuracy`` (also
    ``sparse_categorical_accuracy``), ``example_count``, or ``auc`` / ``precision`` / ``recall``,
    which are the positive class's for a two-class label (``evaluation.positive_class``) and macro
    averages over the classes (one vs rest) otherwise, bounded on the whole eval set and needing
    the label's classes in ``schema.path``. Accuracy bounds apply to every slice. Regression:
    ``mse``, ``rmse``, ``mae`` (lower is better) and ``r2``, bounded on the whole eval set.
    """

    metric: str
    lower_bound: float | None = None
    upper_bound: float | None = None


@dataclass(frozen=True)
class ChangeThreshold:
    """Candidate vs baseline.

    Higher-is-better metrics (accuracy, AUC...): ``candidate - baseline >= absolute`` (so
    ``-0.02`` allows a drop of 0.02). Error metrics (``mse``, ``rmse``, ``mae``):
    ``candidate - baseline <= absolute`` (so ``0.5`` allows the error to grow by 0.5).
    """

    metric: str
    absolute: float = 0.0


@dataclass(frozen=True)
class EvaluationConfig:
    """Blessing rules: absolute thresholds plus a change threshold against the baseline.

    Attributes:
        positive_class: For a label with two classes, the class ``auc``, ``precision`` and
            ``recall`` are computed for (its probability is the score; precision and recall of
            "probability > 0.5"). A string, or the number / ``true`` / ``false`` the label holds
            (a True/False label's classes are ``"0"`` and ``"1"``, as ingest writes it). Empty: the
            second of the two sorted classes (``"1"`` of 0/1 and of True/False, ``"yes"`` of
            no/yes). It must be one of the classes in ``schema.path``.
    """

    thresholds: tuple[Threshold, ...] = ()
    change_threshold: ChangeThreshold | None = None
    positive_class: str | int | bool | None = None


@dataclass(frozen=True)
class PushConfig:
    """Versioned push destination: ``<destination>/<model_name>/<version>/``."""

    destination: str
    model_name: str


@dataclass(frozen=True)
class BeamConfig:
    """Beam runner and arguments (DirectRunner locally; Dataflow/Flink/Spark at scale)."""

    runner: str = "DirectRunner"
    # --no_pipeline_type_check: Beam's construction-time type checks of TFX's own transforms
    # (inspect.signature per DoFn) cost ~3.5 % of a small run and check nothing of ours.
    args: tuple[str, ...] = ("--direct_num_workers=1", "--direct_running_mode=in_memory", "--no_pipeline_type_check")

    def pipeline_args(self) -> list[str]:
        """Returns ``beam_pipeline_args`` with the runner first."""
        args = [a for a in self.args if not a.startswith("--runner")]
        return [f"--runner={self.runner}", *args]


@dataclass(frozen=True)
class GpuConfig:
    """How compiled Kubeflow tasks ask for GPUs (only used when ``model.gpus > 0``).

    Attributes:
        accelerator_type: The accelerator type of the ``local`` and ``kfp`` compile targets.
            Open-source KFP uses it as the Kubernetes resource name of the GPU request, so for
            ``kfp`` it must be one (``nvidia.com/gpu``).
        vertex_accelerator_type: The ``vertex`` target's accelerator, one of Vertex AI's
            ``AcceleratorType`` names (``VERTEX_GPU_TYPES``), e.g. ``NVIDIA_TESLA_T4``.
        node_selector: Node labels of the Trainer's pod (``kfp`` and ``local`` targets).
        tolerations: Tolerations of the Trainer's pod (``kfp`` and ``local`` targets).
    """

    accelerator_type: str = "nvidia.com/gpu"
    vertex_accelerator_type: str = "NVIDIA_TESLA_T4"
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = (
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    )


#: Vertex AI's GPU ``AcceleratorType`` names (google-cloud-aiplatform 1.165, ``aiplatform_v1``);
#: a test checks each against the enum in the project image.
VERTEX_GPU_TYPES = (
    "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "NVIDIA_L4", "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB",
    "NVIDIA_H200_141GB", "NVIDIA_B200",
)
#: Where ``mlops compile`` writes a spec for: kfp.local (``local``), open-source KFP, Vertex AI.
CompileTarget = Literal["local", "kfp", "vertex"]


@dataclass(frozen=True)
class TaskResources:
    """CPU and memory of a compiled task's container, as Kubernetes quantities.

    Empty fields inherit (see ``ResourcesConfig``). CPU: cores (``2``, ``0.5``, ``"500m"``);
    memory: bytes with an optional suffix (``"4G"``, ``"512Mi"``).
    """

    cpu_request: str | int | float | None = None
    cpu_limit: str | int | float | None = None
    memory_request: str | int | None = None
    memory_limit: str | int | None = None


@dataclass(frozen=True)
class ResourcesConfig:
    """CPU/memory requests and limits of the ``kfp`` and ``vertex`` compile targets' tasks.

    A task gets the built-in sizes (``pipelines/kubeflow/targets.py``: every task, then larger
    ones for the heavy steps), then ``default``, then ``components.<task id>`` (e.g.
    ``Transform``), each set field winning over the ones before. The ``local`` target writes none.
    """

    default: TaskResources = TaskResources()
    components: Mapping[str, TaskResources] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeConfig:
    """A PersistentVolumeClaim every task of a ``kfp`` spec mounts, holding the pipeline's artifacts.

    For clusters whose object store TF cannot open, e.g. an Azure Blob container mounted through
    the Blob CSI driver (``terraform/azure`` output ``pipeline_volume``; docs/kubeflow.md, Azure).
    The pipeline root stays a URI KFP's driver accepts (``minio://<bucket>/...``); ``mount_path``
    is where KFP's launcher keeps that bucket's files (``/minio/<bucket>``), so each task reads and
    writes its artifacts on the volume (``pipelines/kubeflow/volume.py``).

    Attributes:
        claim_name: The PVC in the pipeline's namespace.
        mount_path: Where every task mounts it; push destinations and data under it are on the volume.
    """

    claim_name: str
    mount_path: str


@dataclass(frozen=True)
class KubeflowConfig:
    """Settings for the compiled KFP v2 / Vertex spec, and for submitting it to Kubeflow.

    Attributes:
        image: Image every compiled task runs (``mlops compile --image`` overrides it).
        pipeline_root: Pipeline root compiled into the spec (``--pipeline-root`` overrides it).
            The ``kubeflow`` DAG runner sends it with every run and refuses to submit unless it
            is ``gs://`` (the Airflow Variable ``mlops_kubeflow_pipeline_root`` wins): OSS KFP
            never reads the spec's own root and falls back to its ``minio://`` default.
        target: What ``mlops compile`` compiles for when ``--target`` is not given: ``local``
            (kfp.local on this machine), ``kfp`` (open-source Kubeflow Pipelines) or ``vertex``
            (Vertex AI). The remote targets refuse what a cluster cannot use (docs/kubeflow.md).
        gpu: GPU request of the Trainer task (used when ``model.gpus > 0``).
        resources: CPU/memory requests and limits per task (``kfp`` and ``vertex`` targets).
        package_path: The compiled spec the DAGs submit (``kubeflow`` and ``vertex`` runners),
            repo-relative or absolute. Empty: ``build/<config file stem>_pipeline.yaml``, what
            ``make compile`` writes; when the file is missing the DAG compiles it.
        experiment: KFP experiment of the DAG's runs (the ``kfp_default`` connection's extra
            ``experiment`` wins). Empty: KFP's default experiment.
        service_account: Kubernetes service account of the DAG's KFP runs (the connection's
            extra ``service_account`` wins). Empty: the cluster's default.
        parameters: Extra runtime parameters for the DAG's KFP runs, sent only when the compiled
            spec declares them (``data_uri`` is always the DAG's validated URI).
        enable_caching: Whether the DAG's KFP runs reuse cached task results (the Variable
            ``mlops_kubeflow_enable_caching`` wins). The cache key then holds the
            ``data_fingerprint`` and ``serving_version`` the runner computes for each run.
        pipeline_volume: A PVC every task of a ``kfp`` spec mounts, holding the artifacts (Azure);
            None: artifacts live at the pipeline root's object store.
    """

    image: str = "mlops-pipelines:latest"
    pipeline_root: str = "runs/kfp-root"
    target: CompileTarget = "local"
    gpu: GpuConfig = GpuConfig()
    resources: ResourcesConfig = ResourcesConfig()
    package_path: str | None = None
    experiment: str | None = None
    service_account: str | None = None
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)
    enable_caching: bool = True
    pipeline_volume: VolumeConfig | None = None


@dataclass(frozen=True)
class VertexConfig:
    """How the ``training_pipeline`` DAG's ``vertex`` runner submits the compiled spec
    (``kubeflow.package_path``) as a Vertex AI PipelineJob.

    The Airflow Variables ``mlops_vertex_<key>`` (project, location, pipeline_root,
    service_account, api_endpoint, poll_seconds, anonymous_credentials) win over these keys,
    so one config serves several deployments. Not used by ``mlops run``.

    Attributes:
        project: GCP project id.
        location: Region, e.g. ``europe-west4``.
        region: Same as ``location`` (either may be given; both only when equal).
        pipeline_root: ``gs://`` URI of the jobs' pipeline root (required to submit, here or
            in the Variable).
        service_account: Service account the job runs as. Empty: the Compute Engine default.
        api_endpoint: Vertex AI API endpoint override (a private endpoint; a local stand-in).
        poll_seconds: Seconds between two job state polls.
        anonymous_credentials: Send no credentials (only for a local stand-in of the API).
        timeout_seconds: The runner cancels the job after this long.
        retry_initial_seconds: First wait before retrying a failed API call (HTTP 5xx/429,
            connection error). Empty: the runner's default (5 s).
        retry_max_seconds: Longest wait between two tries. Empty: the runner's default (60 s).
        retry_budget_seconds: Give up when one call has failed for this long. Empty: the
            runner's default (900 s).
        parameters: Extra runtime parameters for the job, sent only when the compiled spec
            declares them (``data_uri`` is always the DAG's validated URI).
        enable_caching: Whether the job reuses cached task results (``PipelineJob``'s
            ``enable_caching``; the Variable ``mlops_vertex_enable_caching`` wins). The cache
            key then holds the ``data_fingerprint`` and ``serving_version`` the runner computes.
    """

    project: str | None = None
    location: str | None = None
    region: str | None = None
    pipeline_root: str | None = None
    service_account: str | None = None
    api_endpoint: str | None = None
    poll_seconds: float = 30.0
    anonymous_credentials: bool = False
    timeout_seconds: float = 6 * 3600.0
    retry_initial_seconds: float | None = None
    retry_max_seconds: float | None = None
    retry_budget_seconds: float | None = None
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)
    enable_caching: bool = True

    @property
    def location_or_region(self) -> str | None:
        """``location``, else ``region``."""
        return self.location or self.region


@dataclass(frozen=True)
class CloudConfig:
    """Where the cloud resources live (filled from `terraform output`, see docs/infrastructure.md)."""

    provider: Literal["local", "aws", "gcp", "azure"] = "local"
    region: str = ""
    service_account: str = ""


@dataclass(frozen=True)
class StreamConfig:
    """Streaming monitoring over Kafka (``mlops serve --kafka``, ``mlops monitor --stream``,
    the ``model_quality_events`` DAG); ``docs/monitoring.md``.

    Attributes:
        bootstrap_servers: ``host:port[,host:port]`` of the Kafka cluster; the environment's
            ``MLOPS_KAFKA_BOOTSTRAP_SERVERS`` wins, and security settings (SASL/SSL) come only
            from the environment (``monitoring/kafka_settings.py``).
        publish_predictions: ``mlops serve --config`` sends predictions to Kafka (as ``--kafka``).
        predictions_topic / ground_truth_topic / results_topic / dead_letter_topic: Topic names.
        group_id: The monitor's consumer group (empty: ``mlops-monitor-<name>``).
        window: ``count`` (``window_records`` predictions per window, in offset order per
            partition of the predictions topic) or ``time`` (``window_seconds`` of prediction time).
        window_records / window_seconds: Size of a window.
        lateness_seconds: A label joins its prediction when its timestamp is at most this much
            later; a window closes once each of its predictions is joined or past it.
        min_labeled: Quality thresholds are judged only on windows with at least this many
            labelled predictions.
        report_dir: Where each window's report goes (relative paths from the working directory;
            empty: ``runs/monitoring/<name>``).
    """

    bootstrap_servers: str | None = None
    publish_predictions: bool = False
    predictions_topic: str = "mlops.predictions"
    ground_truth_topic: str = "mlops.ground-truth"
    results_topic: str = "mlops.monitoring-results"
    dead_letter_topic: str = "mlops.monitoring-dead-letter"
    group_id: str | None = None
    window: Literal["count", "time"] = "count"
    window_records: int = 1000
    window_seconds: float = 3600.0
    lateness_seconds: float = 3600.0
    min_labeled: int = 30
    report_dir: str | None = None


@dataclass(frozen=True)
class MonitoringConfig:
    """Drift settings of the serving monitor (``mlops serve``), ``mlops drift``, the pipeline's
    drift check and the ``model_monitoring`` DAG.

    Attributes:
        drift_threshold: Drift iff a feature's score is above this (> 0).
        numeric_metric: Score of numeric features: ``psi`` or ``ks``.
        categorical_metric: Score of categorical features: ``psi`` or ``js`` (Jensen-Shannon).
        window_size: Only the newest this many rows of the current data are compared
            (0 = every row; the online serving monitor needs > 0).
        prediction_log_uri: Where the ``model_monitoring`` DAG finds current data: the serving
            prediction log (the ``mlops serve --log-dir`` prefix of this model). Relative paths
            are taken from the repository root. The DAG's param and Variable
            ``mlops_monitoring_prediction_log_uri`` win.
        snapshots_uri: Without a prediction log: a prefix of dated data snapshots, the newest of
            which is checked (Variable ``mlops_monitoring_snapshots_uri`` wins).
        lookback_days: Only the prediction log's ``date=`` folders of the last this many days are
            read (0 = today only).
        realert_after_hours: The same drifted features are not alerted (nor retrained on) again
            within this many hours (0 = on every new drifted window).
        min_accuracy / min_precision / min_recall: Served-quality thresholds of the streaming
            monitor (classification; precision and recall of ``evaluation.positive_class`` for
            two classes, else macro averages): a window below one breaks it. None: not judged.
        max_mae / max_rmse: The same for regression, in the label's units (above breaks it).
        stream: Kafka topics, windows and lateness of the streaming monitor.
    """

    drift_threshold: float = 0.2
    numeric_metric: Literal["psi", "ks"] = "psi"
    categorical_metric: Literal["psi", "js"] = "js"
    window_size: int = 200
    prediction_log_uri: str | None = None
    snapshots_uri: str | None = None
    lookback_days: int = 7
    realert_after_hours: float = 24.0
    min_accuracy: float | None = None
    min_precision: float | None = None
    min_recall: float | None = None
    max_mae: float | None = None
    max_rmse: float | None = None
    stream: StreamConfig = StreamConfig()


@dataclass(frozen=True)
class FairnessConfig:
    """Fairness gate over the sensitive (slice) columns.

    Classification bounds (fractions in [0, 1]): ``max_accuracy_gap``,
    ``max_demographic_parity_difference``, ``max_equalized_odds_difference``, ``max_recall_gap``.
    Regression bounds (``task: regression``, in the label's units): ``max_mae_gap`` (max - min of
    the groups' mean absolute error) and ``max_mean_residual_gap`` (of their mean prediction -
    label); the classification bounds do not apply there.

    ``mitigation: reweighing`` (classification, categorical sensitive columns) trains with
    per-example weights that make the sensitive groups and the label independent; the Trainer
    also trains the model without them so the gate shows both on the same eval split.
    """

    enabled: bool = False
    sensitive_columns: tuple[str, ...] = ()
    max_accuracy_gap: float | None = 0.2
    max_demographic_parity_difference: float | None = None
    max_equalized_odds_difference: float | None = None
    max_recall_gap: float | None = None
    max_mae_gap: float | None = None
    max_mean_residual_gap: float | None = None
    min_group_size: int = 10
    # "reweighing": train with Kamiran & Calders weights over the sensitive groups and the label
    # (components/fairness/reweighing.py); the gate then reports gaps and accuracy before and after.
    mitigation: Literal["none", "reweighing"] = "none"

    def columns(self, slices: tuple[str, ...]) -> tuple[str, ...]:
        """The sensitive columns: ``sensitive_columns`` when given, else the evaluation slices."""
        return self.sensitive_columns or slices


@dataclass(frozen=True)
class ExplainConfig:
    """Attributions on an eval sample (``components/explain``).

    Attributes:
        methods: ``shap`` (KernelExplainer) and/or ``lime`` (LimeTabularExplainer); the first is
            the report's main method, both are shown side by side with their rank agreement.
    """

    enabled: bool = False
    sample_size: int = 50
    background_size: int = 25
    methods: tuple[str, ...] = ("shap",)


@dataclass(frozen=True)
class ModelCardConfig:
    """What the model card of every pushed version says that the run cannot know
    (``components/model_card``; Model Card Toolkit's ``owners`` and ``considerations``).

    Attributes:
        owner: The team or person accountable for the model.
        contact: How to reach them (an address, a channel).
        intended_use: What the model is for and who uses it.
        out_of_scope_use: Uses it was not built or checked for.
        limitations: Known limitations, beyond the fairness reasons the card adds itself.
        users: Who is expected to act on its predictions.
    """

    owner: str = ""
    contact: str = ""
    intended_use: str = ""
    out_of_scope_use: str = ""
    limitations: str = ""
    users: str = ""


@dataclass(frozen=True)
class CompressConfig:
    """TFLite variants; the smallest one within the budget is pushed beside the SavedModel.

    Attributes:
        accuracy_budget: Classification: how far below the SavedModel's eval accuracy a variant
            may score (0.02 = two points).
        max_error_increase: Regression: how much a variant's eval MAE may exceed the
            SavedModel's, relative (0.05 = 5 % more). Empty: 0.05. Regression configs only.
    """

    enabled: bool = False
    accuracy_budget: float = 0.02
    max_error_increase: float | None = None
    variants: tuple[str, ...] = ("dynamic_range", "float16", "full_integer")
    prune: bool = True
    distill: bool = False

    @property
    def error_budget(self) -> float:
        """``max_error_increase``, or its default 0.05 when unset."""
        return 0.05 if self.max_error_increase is None else self.max_error_increase


@dataclass(frozen=True)
class DriftCheckConfig:
    """Pipeline step: the new data's skew against the data the serving model was trained on.

    The baseline is the Examples artifact recorded in the newest pushed version's manifest
    (``push.destination``); before the first push there is nothing to compare and the step says
    so. Scores, metrics and threshold are the ``monitoring`` section's. ``fail_on_drift`` stops
    the run before training (Transform waits for the check); off, drift is reported only.
    """

    enabled: bool = False
    fail_on_drift: bool = False


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow experiment tracking and model registry (``pipelines/tracking``, docs/tracking.md).

    Every ``mlops run`` is one MLflow run in the experiment; every pushed version becomes a
    version of the registered model ``push.model_name`` and the alias moves to the newest
    pushed version. The push destination stays the source of truth: a registry that cannot be
    reached never blocks a push, and the next run registers the versions it lacks.

    The environment variable ``MLFLOW_TRACKING_URI`` wins over ``uri``: the deployment (an
    Airflow worker, a Kubeflow task's environment) decides where runs go, as every MLflow client
    does, without editing the pipeline's config.

    Attributes:
        enabled: Log runs and mirror pushed versions into the registry.
        uri: MLflow tracking URI (``http(s)://`` a team server, ``sqlite:///`` a store file,
            relative paths from the repository root). Empty: the embedded store
            ``sqlite:///runs/mlflow/mlflow.db``, artifacts under ``runs/mlflow/artifacts``.
        experiment: Experiment name. Empty: the pipeline's ``name``.
        register: Register pushed versions as versions of the registered model.
        alias: The alias that names the newest pushed version (``models:/<model>@<alias>``).
        ui_url: Base URL of the MLflow UI for links (run.json, alerts, Airflow). Empty: the
            tracking URI when it is ``http(s)://``, else ``http://127.0.0.1:5000`` (``make mlflow``).
        timeout_seconds: How long one call to a tracking server may take before the run gives
            up on tracking (and says so in run.json).
    """

    enabled: bool = True
    uri: str | None = None
    experiment: str | None = None
    register: bool = True
    alias: str = "production"
    ui_url: str | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline: data, features, model, gates, push and runners.

    Attributes:
        name: Pipeline name (MLMD context, KFP pipeline name).
        label: Label column: string, integer or boolean classes (classification) or a number
            (regression).
        task: ``classification`` (default) or ``regression``.
        features: Input columns with their types.
        slices: Columns the evaluation slices by (sensitive columns for fairness).
        schedule: Cron expression of the ``training_pipeline`` DAG, or None for manual runs only.
        runner: Where the ``training_pipeline`` DAG runs the pipeline when a run asks for
            ``auto`` and Variable ``mlops_runner`` is unset: ``local``, ``kubeflow``, ``vertex``
            or ``dry-run``. Empty: ``local``. ``mlops run`` ignores it (it always runs locally).
        vertex: The DAG's ``vertex`` runner (Vertex AI Pipelines).
        source_path: The YAML this config was loaded from (not a YAML key).
    """

    name: str
    data: DataConfig
    label: str
    features: tuple[Feature, ...]
    push: PushConfig
    description: str = ""
    task: Task = "classification"
    slices: tuple[str, ...] = ()
    split: SplitConfig = SplitConfig()
    schema: SchemaConfig = SchemaConfig()
    validation: ValidationConfig = ValidationConfig()
    model: ModelConfig = ModelConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    beam: BeamConfig = BeamConfig()
    kubeflow: KubeflowConfig = KubeflowConfig()
    vertex: VertexConfig = VertexConfig()
    cloud: CloudConfig = CloudConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    fairness: FairnessConfig = FairnessConfig()
    explain: ExplainConfig = ExplainConfig()
    compress: CompressConfig = CompressConfig()
    drift_check: DriftCheckConfig = DriftCheckConfig()
    tracking: TrackingConfig = TrackingConfig()
    model_card: ModelCardConfig = ModelCardConfig()
    schedule: str | None = None
    runner: Runner | None = None
    source_path: str = field(default="", compare=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the pipeline reads: features then label."""
        return (*self.feature_names, self.label)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (YAML-safe), without ``source_path``."""
        data = _to_plain(self)
        data.pop("source_path", None)
        return data

    def imputed_features(self) -> list[str]:
        """Features with ``missing: impute`` (ingest keeps rows missing them; the model fills them in)."""
        return [f.name for f in self.features if f.missing == "impute"]

    def may_miss_features(self) -> bool:
        """Whether an example may lack a feature (the model then has optional inputs): a feature
        with ``missing: impute``, or incomplete rows kept (``data.drop_incomplete_rows: false``)."""
        return bool(self.imputed_features()) or not self.data.drop_incomplete_rows

    def module_config(self) -> dict[str, Any]:
        """The ``custom_config`` handed to the generic module file (Transform and Trainer)."""
        order = self.binary_label_order()
        return {
            "label": self.label,
            # Only when not the default, so classification pipelines compile as before.
            **({"task": self.task} if self.task != "classification" else {}),
            # A two-class label's vocabulary in this order (negative, positive): the positive class
            # is index 1, what the Evaluator's AUC/precision/recall are computed for.
            **({"label_classes": list(order)} if order else {}),
            "features": [{"name": f.name, "type": f.type} for f in self.features],
            "model": _to_plain(self.model),
            # Trainer only (fairness.mitigation); absent otherwise, so other configs train as before.
            **({"reweighing": {"columns": list(self.fairness.columns(self.slices))}}
               if self.fairness.mitigation == "reweighing" else {}),
        }

    def binary_label_order(self) -> tuple[str, str] | None:
        """``(negative, positive)`` for a classification label with two classes in ``schema.path``.

        None for regression, without a curated schema, for more classes, or where
        tensorflow_metadata is missing (the Airflow venv never builds the module's config).
        """
        if self.task != "classification" or not self.schema.path:
            return None
        root = Path(__file__).resolve().parent.parent
        schema = self.schema.path if os.path.isabs(self.schema.path) else str(root / self.schema.path)
        try:
            from pipelines.metrics import binary_label_order

            return binary_label_order(schema, self.label, self.evaluation.positive_class)
        except ImportError:
            return None

    def replace(self, **changes: Any) -> "PipelineConfig":
        """Returns a copy with top-level fields replaced, re-validated."""
        cfg = dataclasses.replace(self, **changes)
        _check_semantics(cfg, cfg.source_path or "<config>")
        return cfg


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def _check_per_class_metrics(cfg: "PipelineConfig", fail, check_files: bool = True) -> None:
    """AUC, precision and recall need the label's classes from the schema; a positive class must be one of two.

    Skipped when ``check_files`` is off: ``mlops schema`` is what writes the schema they need.
    """
    named = [t.metric for t in cfg.evaluation.thresholds]
    if cfg.evaluation.change_threshold is not None:
        named.append(cfg.evaluation.change_threshold.metric)
    wanted = sorted({m for m in named if m in PER_CLASS_METRICS})
    positive = cfg.evaluation.positive_class
    if (not wanted and positive is None) or not check_files:
        return
    where = "evaluation.thresholds / evaluation.change_threshold" if wanted else "evaluation.positive_class"
    what = (f"{', '.join(wanted)} are macro-averaged over the classes of label {cfg.label!r} (for two classes: "
            "the positive class's)" if wanted else f"a positive class is one of the classes of label {cfg.label!r}")
    if not cfg.schema.path:
        fail(f"{where}: {what}, which come from a curated schema: set schema.path (`mlops schema --config "
             f"{cfg.source_path or '<config>'}` writes it) or gate on accuracy")
    root = Path(__file__).resolve().parent.parent
    schema = cfg.schema.path if os.path.isabs(cfg.schema.path) else str(root / cfg.schema.path)
    try:
        from pipelines.metrics import label_classes, positive_class_name

        classes = label_classes(schema, cfg.label)
    except ImportError:  # Airflow's venv or bundle: no tensorflow_metadata; the pipeline checks again
        return
    except ValueError as exc:
        fail(f"schema.path: {exc}")
    if not classes:
        fail(f"{where}: {what}, but {cfg.schema.path} gives label {cfg.label!r} no domain (string_domain "
             "values or an int_domain min/max)")
    if len(classes) < 2:
        fail(f"{where}: label {cfg.label!r} has {len(classes)} class in {cfg.schema.path}; "
             f"{', '.join(wanted) or 'a positive class'} need two or more")
    if positive is not None:
        listed = ", ".join(map(repr, classes[:10])) + (", ..." if len(classes) > 10 else "")
        if len(classes) != 2:
            fail(f"evaluation.positive_class: label {cfg.label!r} has {len(classes)} classes in {cfg.schema.path} "
                 f"({listed}); a positive class applies to a two-class label. Remove it: auc, precision and recall "
                 "are then macro averages over the classes")
        if positive_class_name(positive, classes) is None:
            fail(f"evaluation.positive_class: {positive!r} is not a class of label {cfg.label!r}; its classes in "
                 f"{cfg.schema.path} are {listed}")


def load_config(
    path: str | Path, overrides: Mapping[str, Any] | None = None, *, source: str | None = None,
    check_files: bool = True,
) -> PipelineConfig:
    """Loads and validates a pipeline config YAML.

    Args:
        path: The YAML file.
        overrides: Dotted keys to override after loading, e.g. ``{"data.uri": "s3://b/k.csv"}``.
        source: How messages and ``source_path`` name the file (default: ``path`` as given).
            The DAGs read an absolute path but name it repo-relative, as ``mlops run`` does.
        check_files: Check that ``schema.path`` and ``validation.expectation_suite`` exist and
            describe the config's columns. Only ``mlops schema``, which (re)writes them, skips it.

    Returns:
        The validated, frozen config.

    Raises:
        ConfigError: The file is missing, not YAML, or any key is unknown, mistyped or
            inconsistent. The message names the file and the dotted key.
    """
    path = Path(path)
    name = source or str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read config: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: the top level must be a mapping of keys, got {type(raw).__name__}")
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value, name)
    return config_from_dict(raw, source=name, check_files=check_files)


def config_from_dict(raw: Mapping[str, Any], source: str = "<config>", check_files: bool = True) -> PipelineConfig:
    """Builds a validated config from plain data (the parsed YAML)."""
    cfg = _build(PipelineConfig, dict(raw), "", source)
    cfg = dataclasses.replace(cfg, source_path=source)
    _check_semantics(cfg, source, check_files=check_files)
    return cfg


def _set_dotted(raw: dict, dotted: str, value: Any, source: str) -> None:
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: cannot override {dotted!r}: {key!r} is not a mapping")
        node = child
    node[keys[-1]] = value


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin is not None and origin.__name__ == "Mapping":
        return "mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def _build(tp: Any, value: Any, key: str, source: str) -> Any:
    """Converts plain YAML data into ``tp``, raising ConfigError naming ``key`` on mismatch."""
    where = key or "<top level>"
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {where}: expected a mapping, got {_describe(value)}")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.name != "source_path"}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            prefix = f"{key}." if key else ""
            raise ConfigError(
                f"{source}: unknown key {prefix}{unknown[0]!r}; allowed keys here: "
                f"{', '.join(sorted(fields))}"
            )
        kwargs = {}
        for name, f in fields.items():
            sub = f"{key}.{name}" if key else name
            if name in value:
                kwargs[name] = _build(hints[name], value[name], sub, source)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key {sub!r}")
        return tp(**kwargs)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{source}: {where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _build(arg, value, key, source)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"{source}: {where}: expected {_type_name(tp)}, got {_describe(value)}")
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {where}: expected a list, got {_describe(value)}")
        (item_tp, *_rest) = typing.get_args(tp)
        return tuple(_build(item_tp, v, f"{key}[{i}]", source) for i, v in enumerate(value))
    if origin is not None and getattr(origin, "__name__", "") == "Mapping":
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {where}: expected a mapping, got {_describe(value)}")
        k_tp, v_tp = typing.get_args(tp)
        return types.MappingProxyType(
            {_build(k_tp, k, f"{key}.{k}", source): _build(v_tp, v, f"{key}.{k}", source) for k, v in value.items()}
        )
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {where}: expected a number, got {_describe(value)}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: {where}: expected an integer, got {_describe(value)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {where}: expected true or false, got {_describe(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: {where}: expected a string, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {where}")  # a bug in this module


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _check_metric_range(t: Threshold, key: str, fail) -> None:
    """A bound outside the values the metric can take never passes (a lower bound above the
    top, an upper bound below the bottom) or means nothing: refused before minutes of training."""
    from pipelines.metrics import METRICS  # the one table of metrics; plain Python, no TF

    spec = METRICS[t.metric]
    shown = f"[{spec.low:g}, {spec.high:g}]".replace("inf", "∞")
    for side, bound in (("lower_bound", t.lower_bound), ("upper_bound", t.upper_bound)):
        if bound is not None and not spec.low <= bound <= spec.high:
            never = (side == "lower_bound" and bound > spec.high) or (side == "upper_bound" and bound < spec.low)
            fail(f"{key}.{side}: {bound:g} is outside the range of {t.metric!r}, {shown}; "
                 + ("no model can ever pass it and nothing would be pushed" if never else "it bounds nothing")
                 + f". Give a {side} within {shown}")


def _check_semantics(cfg: PipelineConfig, source: str, check_files: bool = True) -> None:
    def fail(msg: str) -> None:
        raise ConfigError(f"{source}: {msg}")

    if not _NAME_RE.match(cfg.name.replace("-", "_")):
        fail(f"name: {cfg.name!r} must be letters, digits, '_' or '-', starting with a letter")
    if not cfg.label:
        fail("label: must name the label column")
    if not cfg.features:
        fail("features: list at least one feature")
    seen: set[str] = set()
    for i, feat in enumerate(cfg.features):
        if not _NAME_RE.match(feat.name):
            fail(f"features[{i}].name: {feat.name!r} is not a valid feature name (letters, digits, '_', not starting "
                 f"with a digit); keep the header in the file and map it in data.rename: "
                 f"{{{feat.name!r}: {sanitize_column_name(feat.name)}}}, then name the feature "
                 f"{sanitize_column_name(feat.name)!r}")
        if feat.name in seen:
            fail(f"features[{i}].name: {feat.name!r} is listed twice")
        seen.add(feat.name)
    if cfg.label in seen:
        fail(f"label: {cfg.label!r} is also listed as a feature; a model must not see its label")
    if not _NAME_RE.match(cfg.label):
        fail(f"label: {cfg.label!r} is not a valid column name; map the header in data.rename: "
             f"{{{cfg.label!r}: {sanitize_column_name(cfg.label)}}} and set label: {sanitize_column_name(cfg.label)}")
    _check_rename(cfg, fail)
    for i, col in enumerate(cfg.slices):
        if col not in seen:
            fail(f"slices[{i}]: {col!r} is not a feature; slice columns must be listed in features")
    if not 0.0 < cfg.split.eval_fraction < 1.0:
        fail(f"split.eval_fraction: {cfg.split.eval_fraction} must be between 0 and 1 (exclusive)")
    if not 0.0 <= cfg.data.max_dropped_fraction < 1.0:
        fail(f"data.max_dropped_fraction: {cfg.data.max_dropped_fraction} must be in [0, 1)")
    if not cfg.data.uri:
        fail("data.uri: must not be empty")
    m = cfg.model
    if not m.hidden_units or any(u <= 0 for u in m.hidden_units):
        fail(f"model.hidden_units: {list(m.hidden_units)} must be a non-empty list of positive integers")
    if not 0.0 < m.learning_rate < 10.0:
        fail(f"model.learning_rate: {m.learning_rate} must be in (0, 10)")
    if m.batch_size <= 0 or m.epochs <= 0:
        fail("model.batch_size and model.epochs must be positive")
    if not 0.0 <= m.dropout < 1.0:
        fail(f"model.dropout: {m.dropout} must be in [0, 1)")
    if m.gpus < 0:
        fail(f"model.gpus: {m.gpus} must be >= 0")
    task_metrics = REGRESSION_METRICS if cfg.task == "regression" else CLASSIFICATION_METRICS
    for i, t in enumerate(cfg.evaluation.thresholds):
        if t.metric not in task_metrics:
            fail(f"evaluation.thresholds[{i}].metric: {t.metric!r} is not one of {', '.join(task_metrics)} "
                 f"(the metrics of task: {cfg.task})")
        if t.lower_bound is None and t.upper_bound is None:
            fail(f"evaluation.thresholds[{i}]: give lower_bound, upper_bound or both")
        if t.lower_bound is not None and t.upper_bound is not None and t.lower_bound > t.upper_bound:
            fail(f"evaluation.thresholds[{i}]: lower_bound {t.lower_bound} > upper_bound {t.upper_bound}")
        _check_metric_range(t, f"evaluation.thresholds[{i}]", fail)
    ct = cfg.evaluation.change_threshold
    if not cfg.evaluation.thresholds and ct is None:
        # TFMA never blesses a model it has nothing to check, so such a pipeline could never push.
        fail("evaluation: give at least one entry in thresholds or a change_threshold; "
             "without one the Evaluator never blesses a model and nothing is ever pushed")
    if ct is not None and ct.metric not in task_metrics:
        fail(f"evaluation.change_threshold.metric: {ct.metric!r} is not one of {', '.join(task_metrics)} "
             f"(the metrics of task: {cfg.task})")
    if cfg.compress.max_error_increase is not None:
        if cfg.task != "regression":
            fail(f"compress.max_error_increase: the regression budget (relative MAE increase); this config's task is "
                 f"{cfg.task}, whose budget is compress.accuracy_budget")
        if not 0.0 <= cfg.compress.max_error_increase < 10.0:
            fail(f"compress.max_error_increase: {cfg.compress.max_error_increase} must be in [0, 10) (a relative "
                 "increase of the eval MAE: 0.05 = 5 %)")
    if cfg.evaluation.positive_class is not None and cfg.task == "regression":
        fail("evaluation.positive_class: a classification key (the class AUC/precision/recall are computed for); "
             "this config's task is regression")
    _check_per_class_metrics(cfg, fail, check_files)
    if not _MODEL_NAME_RE.match(cfg.push.model_name):
        fail(f"push.model_name: {cfg.push.model_name!r} must be lower-case letters, digits, '-' or '_'")
    dest = cfg.push.destination
    if "://" in dest and not dest.startswith(("s3://", "gs://")):
        fail(f"push.destination: {dest!r}: only local paths, s3:// and gs:// are supported")
    if "://" in cfg.data.uri and not cfg.data.uri.startswith(_URI_SCHEMES):
        fail(f"data.uri: {cfg.data.uri!r}: only local paths, s3://, gs:// and package:// are supported")
    if cfg.monitoring.drift_threshold <= 0:
        fail("monitoring.drift_threshold must be > 0")
    if cfg.monitoring.lookback_days < 0:
        fail("monitoring.lookback_days must be >= 0 (0 = today only)")
    if cfg.monitoring.realert_after_hours < 0:
        fail("monitoring.realert_after_hours must be >= 0 (0 = alert on every new drifted window)")
    stream = cfg.monitoring.stream
    for key in ("min_accuracy", "min_precision", "min_recall"):
        value = getattr(cfg.monitoring, key)
        if value is not None and not 0 <= value <= 1:
            fail(f"monitoring.{key}: {value} must be a fraction in [0, 1]")
    for key in ("max_mae", "max_rmse"):
        value = getattr(cfg.monitoring, key)
        if value is not None and value < 0:
            fail(f"monitoring.{key}: {value} must be >= 0")
    if stream.window_records < 1 or stream.window_seconds <= 0 or stream.lateness_seconds < 0 or stream.min_labeled < 0:
        fail("monitoring.stream: window_records must be >= 1, window_seconds > 0, lateness_seconds and min_labeled >= 0")
    if cfg.monitoring.window_size < 0:
        fail(f"monitoring.window_size: {cfg.monitoring.window_size} must be >= 0 (0 = every row)")
    if not 0.0 <= cfg.compress.accuracy_budget < 1.0:
        fail("compress.accuracy_budget must be in [0, 1)")
    allowed_variants = {"dynamic_range", "float16", "full_integer"}
    for v in cfg.compress.variants:
        if v not in allowed_variants:
            fail(f"compress.variants: {v!r} is not one of {', '.join(sorted(allowed_variants))}")
    fair = cfg.fairness
    if fair.enabled and not fair.columns(cfg.slices):
        fail("fairness.enabled needs sensitive columns: set fairness.sensitive_columns or slices")
    for i, col in enumerate(fair.sensitive_columns):
        if col not in cfg.columns:
            fail(f"fairness.sensitive_columns[{i}]: {col!r} is not a feature or the label, so the examples lack it")
    for key in ("max_accuracy_gap", "max_demographic_parity_difference", "max_equalized_odds_difference",
                "max_recall_gap"):
        value = getattr(fair, key)
        if value is not None and not 0.0 <= value <= 1.0:
            fail(f"fairness.{key}: {value} must be in [0, 1] (or null to turn the check off)")
    for key in ("max_mae_gap", "max_mean_residual_gap"):
        value = getattr(fair, key)
        if value is not None and cfg.task != "regression":
            fail(f"fairness.{key}: a regression bound (label units); this config's task is {cfg.task}")
        if value is not None and value < 0:
            fail(f"fairness.{key}: {value} must be >= 0 (or null to turn the check off)")
    task_bounds = (("max_mae_gap", "max_mean_residual_gap") if cfg.task == "regression" else (
        "max_accuracy_gap", "max_demographic_parity_difference", "max_equalized_odds_difference", "max_recall_gap"))
    if fair.enabled and all(getattr(fair, k) is None for k in task_bounds):
        fail(f"fairness.enabled needs at least one max_* threshold ({', '.join(task_bounds)} for task: "
             f"{cfg.task}); all are null")
    if fair.min_group_size < 1:
        fail(f"fairness.min_group_size: {fair.min_group_size} must be >= 1")
    if fair.mitigation != "none":
        if cfg.task != "classification":
            fail(f"fairness.mitigation: {fair.mitigation} reweighs (group, class) cells, a classification technique; "
                 f"this config's task is {cfg.task}")
        if not fair.enabled:
            fail(f"fairness.mitigation: {fair.mitigation} needs fairness.enabled: true (the gate measures what it changes)")
        types = {f.name: f.type for f in cfg.features}
        for col in fair.columns(cfg.slices):
            if types.get(col) != "categorical":
                fail(f"fairness.mitigation: {fair.mitigation} groups rows by the sensitive columns' values; {col!r} is "
                     f"{'the label' if col == cfg.label else 'a ' + str(types.get(col)) + ' feature'}, not a categorical feature")
    if cfg.explain.sample_size < 1 or cfg.explain.background_size < 1:
        fail("explain.sample_size and explain.background_size must be >= 1")
    methods = cfg.explain.methods
    if not methods or len(set(methods)) != len(methods) or not set(methods) <= set(EXPLAIN_METHODS):
        fail(f"explain.methods: {list(methods)} must list each of {', '.join(EXPLAIN_METHODS)} at most once, "
             "at least one (the first is the report's main method)")
    _check_submit_settings(cfg, fail)
    _check_compile_settings(cfg, fail)
    _check_tracking(cfg, fail)
    if check_files:
        _check_schema_matches(cfg, fail)


def sanitize_column_name(header: str) -> str:
    """The one way a source header becomes a pipeline name (``mlops init`` uses it).

    Lower-case; every run of characters other than ASCII letters and digits becomes one ``_``;
    leading/trailing ``_`` are dropped; a name starting with a digit (or empty) gets ``c_``
    in front. ``"Culmen Length (mm)"`` -> ``"culmen_length_mm"``, ``"2nd score"`` -> ``"c_2nd_score"``.
    """
    name = re.sub(r"[^a-z0-9]+", "_", str(header).strip().lower()).strip("_")
    return name if name and not name[0].isdigit() else f"c_{name}"


def _check_rename(cfg: "PipelineConfig", fail) -> None:
    targets: dict[str, str] = {}
    for source, name in cfg.data.rename.items():
        if not _NAME_RE.match(name):
            fail(f"data.rename.{source}: {name!r} is not a valid name; use {sanitize_column_name(name)!r}")
        if name in targets:
            fail(f"data.rename: {targets[name]!r} and {source!r} are both mapped to {name!r}")
        targets[name] = source
        if name not in cfg.columns:
            fail(f"data.rename.{source}: maps to {name!r}, which is neither a feature nor the label "
                 f"({', '.join(cfg.columns)})")


def _schema_feature_types(schema_path: str) -> dict[str, str] | None:
    """``{feature: FLOAT|INT|BYTES}`` of a TFDV schema, or None without tensorflow_metadata."""
    try:
        from google.protobuf import text_format
        from tensorflow_metadata.proto.v0 import schema_pb2
    except ImportError:  # the Airflow venv; the pipeline's ImportSchemaGen reads it again
        return None
    schema = schema_pb2.Schema()
    text_format.Parse(Path(schema_path).read_text(), schema)
    return {f.name: schema_pb2.FeatureType.Name(f.type) for f in schema.feature}


# A feature's config type -> the schema types that hold it (ingest writes float/int/bytes lists).
_SCHEMA_TYPES = {"float": ("FLOAT",), "int": ("INT",), "categorical": ("BYTES",)}


def _check_schema_matches(cfg: "PipelineConfig", fail) -> None:
    """A curated schema / GE suite must describe exactly the config's columns, with their types.

    Otherwise the run would fail 30 s in, at the data gate, with one anomaly per column and no
    word about the config; here the message names the columns that differ.
    """
    root = Path(__file__).resolve().parent.parent
    wanted = set(cfg.columns)
    # A missing file stops the pipeline (where tensorflow_metadata is); a DAG bundle may ship the
    # config without the schema folder, and only its validation task reads the suite (and says so).
    pipeline_side = importlib.util.find_spec("tensorflow_metadata") is not None

    def differ(what: str, key: str, found: set[str]) -> None:
        missing, extra = sorted(wanted - found), sorted(found - wanted)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"lacks {', '.join(missing)} (in the config)")
            if extra:
                parts.append(f"has {', '.join(extra)} (not in the config)")
            fail(f"{key}: {what} does not match the config's features and label: it {' and '.join(parts)}. "
                 f"Run `mlops schema --config {cfg.source_path or '<config>'}` to curate it from the data, or point "
                 f"{key} at this config's own file")

    def existing(key: str, value: str | None) -> str | None:
        """The file's path, None when unset (or missing outside the pipeline's image)."""
        if not value:
            return None
        path = value if os.path.isabs(value) else str(root / value)
        if os.path.exists(path):
            return path
        if pipeline_side:
            fail(f"{key}: {value} does not exist; run `mlops schema --config {cfg.source_path or '<config>'}` to "
                 f"write it, or remove {key} (no schema.path: a schema is inferred on every run)")
        return None

    schema_file = existing("schema.path", cfg.schema.path)
    if schema_file:
        try:
            types_ = _schema_feature_types(schema_file)
        except Exception as exc:  # text_format.ParseError and friends: the file is not a schema
            fail(f"schema.path: {cfg.schema.path} is not a TFDV schema (text proto): {str(exc).splitlines()[0]}")
        if types_ is not None:
            differ("the schema", "schema.path", set(types_))
            wrong = [f"{f.name} is {f.type} in the config but {types_[f.name]} in the schema"
                     for f in cfg.features if types_.get(f.name) not in _SCHEMA_TYPES[f.type]]
            if wrong:
                fail(f"schema.path: feature types differ: {'; '.join(wrong)}")
    suite_file = existing("validation.expectation_suite", cfg.validation.expectation_suite)
    if suite_file:
        import json

        try:
            suite = json.loads(Path(suite_file).read_text())
            found = {e["kwargs"]["column"] for e in suite.get("expectations", []) if "column" in e.get("kwargs", {})}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            fail(f"validation.expectation_suite: {cfg.validation.expectation_suite} is not a Great Expectations "
                 f"suite JSON: {exc}")
        differ("the expectation suite", "validation.expectation_suite", found)


_ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$")


def _check_tracking(cfg: PipelineConfig, fail: typing.Callable[[str], None]) -> None:
    """``tracking.*``: a URI MLflow can use, an alias the registry accepts."""
    tr = cfg.tracking
    if tr.uri is not None and not tr.uri.strip():
        fail("tracking.uri: must not be empty (leave it out for the embedded store runs/mlflow/mlflow.db)")
    if tr.uri and "://" in tr.uri and not tr.uri.startswith(("http://", "https://", "sqlite:///", "file://", "databricks")):
        fail(f"tracking.uri: {tr.uri!r}: use http(s)://host:port (a team server), sqlite:///path or a local path")
    if not _ALIAS_RE.match(tr.alias) or re.fullmatch(r"[vV]\d+|latest", tr.alias):
        fail(f"tracking.alias: {tr.alias!r} must be letters, digits, '_' or '-', not 'latest' nor v<number> "
             "(MLflow reserves those), e.g. production")
    if tr.ui_url is not None and not tr.ui_url.startswith(("http://", "https://")):
        fail(f"tracking.ui_url: {tr.ui_url!r} must be an http(s):// URL, e.g. http://127.0.0.1:5000")
    if tr.timeout_seconds <= 0:
        fail(f"tracking.timeout_seconds: {tr.timeout_seconds:g} must be > 0")


_K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_CPU_RE = re.compile(r"^([0-9]*[.])?[0-9]+m?$")
_MEMORY_RE = re.compile(r"^[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$")


def _check_compile_settings(cfg: PipelineConfig, fail: typing.Callable[[str], None]) -> None:
    """The keys of ``mlops compile``'s remote targets: GPU type names and resource quantities
    (the formats KFP's own compiler accepts, ``kfp.dsl.PipelineTask.set_cpu_limit`` & co.)."""
    gpu = cfg.kubeflow.gpu
    if gpu.vertex_accelerator_type not in VERTEX_GPU_TYPES:
        fail(f"kubeflow.gpu.vertex_accelerator_type: {gpu.vertex_accelerator_type!r} is not a Vertex AI GPU "
             f"type; use one of {', '.join(VERTEX_GPU_TYPES)}")
    vol = cfg.kubeflow.pipeline_volume
    if vol is not None:
        if not _K8S_NAME_RE.match(vol.claim_name):
            fail(f"kubeflow.pipeline_volume.claim_name: {vol.claim_name!r} is not a Kubernetes object name "
                 "(lowercase letters, digits, '-' and '.'), e.g. mlops-artifacts")
        if not vol.mount_path.startswith("/") or vol.mount_path.rstrip("/") in ("", "/minio", "/s3", "/gcs") \
                or os.path.normpath(vol.mount_path) != vol.mount_path:
            fail(f"kubeflow.pipeline_volume.mount_path: {vol.mount_path!r} must be a normalized absolute path "
                 "below the launcher's folder of the root's bucket, e.g. /minio/mlpipeline for minio://mlpipeline/...")
    res = cfg.kubeflow.resources
    for where, spec in (("default", res.default), *((f"components.{k}", v) for k, v in res.components.items())):
        for key in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
            value = getattr(spec, key)
            pattern, example = (_CPU_RE, "2, 0.5 or 500m") if key.startswith("cpu") else (_MEMORY_RE, "4G or 512Mi")
            if value is not None and not pattern.match(str(value)):
                fail(f"kubeflow.resources.{where}.{key}: {value!r} is not a Kubernetes quantity, e.g. {example}")


def _check_submit_settings(cfg: PipelineConfig, fail: typing.Callable[[str], None]) -> None:
    """The keys only the DAGs' kubeflow / vertex runners read (``mlops run`` accepts them too)."""
    kf, vx = cfg.kubeflow, cfg.vertex
    if kf.package_path is not None and not kf.package_path.strip():
        fail("kubeflow.package_path: must not be empty (leave it out for build/<config stem>_pipeline.yaml)")
    for section, params in (("kubeflow", kf.parameters), ("vertex", vx.parameters)):
        if "data_uri" in params:
            fail(f"{section}.parameters.data_uri: the DAG always sends the URI it validated; "
                 "set data.uri or the run's data_uri param instead")
    if vx.location and vx.region and vx.location != vx.region:
        fail(f"vertex.region: {vx.region!r} differs from vertex.location {vx.location!r}; give one of them")
    if vx.pipeline_root is not None and not vx.pipeline_root.startswith("gs://"):
        fail(f"vertex.pipeline_root: {vx.pipeline_root!r} must be a gs:// URI")
    for key in ("poll_seconds", "timeout_seconds", "retry_initial_seconds", "retry_max_seconds", "retry_budget_seconds"):
        value = getattr(vx, key)
        if value is not None and value <= 0:
            fail(f"vertex.{key}: {value:g} must be > 0")
