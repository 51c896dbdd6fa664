"""Local runs (LocalDagRunner + SQLite MLMD) and Kubeflow compilation, with a run summary.

The CLI calls ``run_local`` and ``compile_kubeflow``; tests call them directly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from pipelines.config import PipelineConfig
from pipelines.pipeline import REPO_ROOT, create_pipeline, resolve_repo_path, run_paths

COMPONENT_ORDER = [
    "DataIngest", "StatisticsGen", "ImportSchemaGen", "SchemaGen", "ExampleValidator",
    "GreatExpectationsValidation", "DataGate", "Transform", "Trainer", "ServingModelBaseline",
    "Evaluator", "EvaluationReport", "VersionedPusher",
]


@dataclass
class RunSummary:
    """What ``run.json`` holds (the contract the DAGs and people read)."""

    status: str = "running"
    reason: str | None = None
    run_id: str = ""
    config: str = ""
    gate: dict[str, Any] = field(default_factory=lambda: {"failures": []})
    pushed: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The DriftCheck step's verdict (new data vs the serving model's training data), if it ran.
    drift: dict[str, Any] | None = None
    # DataIngest's counts: rows_read, rows_dropped (incomplete rows, data.drop_incomplete_rows).
    data: dict[str, int] | None = None
    seconds: float = 0.0
    # MLflow run and registry outcome (pipelines/tracking): links, or why nothing was logged.
    tracking: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Progress:
    """One progress line per component with its wall time.

    LocalDagRunner has no callback API; it runs nodes one after another through
    ``Launcher.launch``, so we wrap that method for the duration of a run. (Parsing its log
    lines broke: TFT lowers absl's verbosity mid-run.)
    """

    def __init__(self, total: int, emit_line: Callable[[str], None]):
        self.total = total
        self.emit_line = emit_line
        self.components: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def hooked(self):
        from tfx.orchestration.portable import launcher

        original = launcher.Launcher.launch
        progress = self

        def launch(self_launcher, *args, **kwargs):
            node_id = self_launcher._pipeline_node.node_info.id  # noqa: SLF001 - no public accessor
            index = len(progress.components) + 1
            progress.emit_line(f"[{index}/{progress.total}] {node_id} ...")
            start = time.monotonic()
            progress.components[node_id] = {"seconds": 0.0}
            try:
                result = original(self_launcher, *args, **kwargs)
            except BaseException:
                secs = time.monotonic() - start
                progress.components[node_id] = {"seconds": round(secs, 2)}
                progress.emit_line(f"[{index}/{progress.total}] {node_id} FAILED after {secs:.1f}s")
                raise
            secs = time.monotonic() - start
            progress.components[node_id] = {"seconds": round(secs, 2)}
            progress.emit_line(f"[{index}/{progress.total}] {node_id} done in {secs:.1f}s")
            return result

        launcher.Launcher.launch = launch
        try:
            yield self
        finally:
            launcher.Launcher.launch = original


def code_version() -> str:
    """Git commit of the repo when available, else a hash of the module file."""
    env = os.environ.get("MLOPS_CODE_VERSION")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    import hashlib

    return "module-" + hashlib.sha256((REPO_ROOT / "pipelines" / "modules" / "tabular.py").read_bytes()).hexdigest()[:12]


def data_fingerprint(cfg: PipelineConfig) -> str:
    """Content version of the data URI (mtime/ETag/generation): cheap, and changes with the data."""
    from components.common import storage

    uri = resolve_repo_path(cfg.data.uri) if "://" not in cfg.data.uri else cfg.data.uri
    try:
        return storage.stat(uri).version
    except storage.StorageError:
        return ""  # ingest will report the missing data with a precise message


def _component_states(metadata_path: str, pipeline_name: str, run_id: str) -> dict[str, tuple[str, int]]:
    """Execution state (executed, cached, failed) and MLMD execution id per component for one run."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    cfg = metadata_store_pb2.ConnectionConfig()
    cfg.sqlite.filename_uri = metadata_path
    store = metadata_store.MetadataStore(cfg)
    ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if ctx is None:
        return {}
    names = {
        metadata_store_pb2.Execution.State.Name(metadata_store_pb2.Execution.COMPLETE): "executed",
        metadata_store_pb2.Execution.State.Name(metadata_store_pb2.Execution.CACHED): "cached",
        metadata_store_pb2.Execution.State.Name(metadata_store_pb2.Execution.FAILED): "failed",
    }
    out = {}
    for ex in store.get_executions_by_context(ctx.id):
        node_ctx = [c for c in store.get_contexts_by_execution(ex.id) if c.name.startswith(f"{pipeline_name}.")]
        if not node_ctx:
            continue
        node_id = node_ctx[0].name[len(pipeline_name) + 1:]
        out[node_id] = (names.get(metadata_store_pb2.Execution.State.Name(ex.last_known_state), "other"), ex.id)
    return out


# Warnings TFX 1.21 prints on every run that need no action from anyone.
_HARMLESS = (
    "ArtifactQuery.property_predicate is not supported",
    "Fallback to non-ZetaSQL contexts execution query",
    "does not have payload_format custom property",
)


def _quiet_logs(verbose: bool) -> Callable[[], None]:
    """Only warnings from TFX/Beam/TF reach the terminal unless ``verbose``.

    They log hundreds of INFO lines per run; people want one line per component.
    """
    if verbose:
        return lambda: None
    absl_logger = logging.getLogger("absl")
    saved = (absl_logger.propagate, list(absl_logger.handlers))
    absl_logger.propagate = False
    warn = logging.StreamHandler(sys.stderr)
    warn.setLevel(logging.WARNING)
    warn.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    warn.addFilter(lambda r: not any(p in r.getMessage() for p in _HARMLESS))
    absl_logger.handlers[:] = [warn]
    for name in ("apache_beam", "tensorflow", "great_expectations"):
        logging.getLogger(name).setLevel(logging.WARNING)

    def restore() -> None:
        absl_logger.propagate = saved[0]
        absl_logger.handlers[:] = saved[1]

    return restore


def run_local(
    cfg: PipelineConfig,
    output_dir: str,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    verbose: bool = False,
) -> RunSummary:
    """Runs the pipeline with LocalDagRunner and SQLite MLMD; writes ``<output_dir>/run.json``.

    Never raises for a gate stop or an unblessed model: the summary's status says so
    (``gate_failed`` / ``not_blessed``). Other errors propagate after run.json is written.
    """
    from components.common.errors import DataValidationError
    from components.drift.component import DriftDetected

    paths = run_paths(output_dir)
    # Every report under it is this run's: copied from this run's artifacts after the run, or
    # written by a component that stopped the run on purpose.
    shutil.rmtree(paths.report_dir, ignore_errors=True)
    os.makedirs(paths.report_dir)
    gate_file = Path(paths.report_dir) / "gate.json"
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    os.environ["MLOPS_RUN_ID"] = run_id
    summary = RunSummary(run_id=run_id, config=cfg.source_path)
    fingerprint, code = data_fingerprint(cfg), code_version()
    pipeline = create_pipeline(
        cfg,
        pipeline_root=paths.pipeline_root,
        metadata_path=paths.metadata_path,
        report_dir=paths.report_dir,
        data_fingerprint=fingerprint,
        code_version=code,
    )
    tracker = _Progress(len(pipeline.components), progress)
    restore = _quiet_logs(verbose)
    started = time.monotonic()
    error: BaseException | None = None
    try:
        with tracker.hooked():
            _run_with_id(pipeline, run_id)
        summary.status = "succeeded"
    except BaseException as exc:  # noqa: BLE001 - classified below, re-raised if unknown
        error = exc
    finally:
        restore()
    summary.seconds = round(time.monotonic() - started, 2)
    summary.components = tracker.components
    try:
        states = _component_states(paths.metadata_path, cfg.name, run_id)
        for name, (state, execution_id) in states.items():
            summary.components.setdefault(name, {"seconds": 0.0}).update(state=state, execution_id=execution_id)
    except Exception as exc:  # MLMD unreadable: keep the log-derived states
        logging.getLogger(__name__).warning("could not read component states from MLMD: %s", exc)
    try:
        summary.data = ingest_counts(paths.metadata_path, run_id)
        copy_reports(run_artifacts(paths.metadata_path, run_id), paths.report_dir)
    except Exception as exc:  # MLMD unreadable: keep what the components wrote themselves
        logging.getLogger(__name__).warning("could not read this run's report artifacts from MLMD: %s", exc)
    if gate_file.exists():
        gate = json.loads(gate_file.read_text())
        summary.gate = {"failures": gate.get("failures", []), "passed": gate.get("passed")}
        if not gate.get("passed"):
            summary.status = "gate_failed"
            summary.reason = _gate_paragraph(gate.get("failures", []), cfg.name) or gate.get("reason")
    if error is not None and summary.status != "gate_failed":
        dve = _find_cause(error, DataValidationError)
        held = _find_cause(error, DriftDetected)
        if held is not None:
            # drift_check.fail_on_drift: the data is fine, but it is not what the serving model knows.
            summary.status = "gate_failed"
            summary.reason = f"The drift check held the run before training: {held}."
            summary.gate = {"failures": held.failures, "passed": False}
        elif dve is not None:
            summary.status = "gate_failed"
            summary.reason = _for_people(DataValidationError(dve.failures, cfg.name).paragraph())
            summary.gate = {"failures": [f.to_dict() for f in dve.failures], "passed": False}
        else:
            summary.status = "failed"
            summary.reason = f"{type(error).__name__}: {error}"
    _collect_outputs(summary, paths.report_dir)
    if summary.pushed is None and summary.components.get("VersionedPusher", {}).get("state") == "cached":
        summary.pushed = _pushed_from_mlmd(paths.metadata_path, run_id)
    if summary.status == "succeeded" and not summary.pushed:
        summary.status = "not_blessed"
        failures = summary.metrics.pop("_failures", None) or []
        summary.reason = (
            "The candidate model was not blessed, so nothing was pushed and the serving version is unchanged: "
            + (_first(failures, 3) if failures else "it failed an evaluation threshold")
            + f". See {_report_for(failures, summary.reports)}."
        )
    summary.metrics.pop("_failures", None)
    Path(output_dir, "run.json").write_text(json.dumps(summary.to_dict(), indent=2, default=str))
    # MLflow run + registry mirror, reports/index.html; rewrites run.json with `tracking`. Never raises.
    from pipelines.tracking.client import record_run

    record_run(cfg, summary, output_dir, data_uri=cfg.data.uri, data_fingerprint=fingerprint, code_version=code,
               repo_root=REPO_ROOT)
    if summary.status == "failed" and error is not None and not isinstance(error, Exception):
        raise error  # KeyboardInterrupt and friends
    return summary


def _for_people(text: str) -> str:
    """Paths under the repo shown relative to it: the same words on the host and in the image
    (where the repo is /src), never a path inside a container."""
    return text.replace(str(REPO_ROOT) + os.sep, "")


def _gate_paragraph(failures: list[dict[str, Any]], pipeline_name: str) -> str | None:
    """The gate's paragraph rebuilt with the pipeline's name as its subject (components name the
    data URI or the dataset), or None when the failures are not data-check failures."""
    from components.common.errors import CheckFailure, DataValidationError

    try:
        checks = [CheckFailure(**f) for f in failures]
    except TypeError:
        return None
    return _for_people(DataValidationError(checks, pipeline_name).paragraph()) if checks else None


def _run_with_id(pipeline, run_id: str) -> None:
    """Runs with a run id we chose, so run.json, manifests and MLMD name the same run."""
    from tfx.dsl.compiler import compiler
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.portable import runtime_parameter_utils

    ir = compiler.Compiler().compile(pipeline)
    runtime_parameter_utils.substitute_runtime_parameter(ir, {"pipeline-run-id": run_id})
    LocalDagRunner().run_with_ir(ir)


def _pushed_from_mlmd(metadata_path: str, run_id: str) -> dict[str, Any] | None:
    """What a cached Pusher pushed earlier: its PushedModel artifact in this run's context."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    conn = metadata_store_pb2.ConnectionConfig()
    conn.sqlite.filename_uri = metadata_path
    store = metadata_store.MetadataStore(conn)
    ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if ctx is None:
        return None
    for art in store.get_artifacts_by_context(ctx.id):
        props = art.custom_properties
        if "pushed" in props and props["pushed"].int_value == 1 and "pushed_version" in props:
            return {
                "version": props["pushed_version"].int_value,
                "path": display_path(props["pushed_destination"].string_value),
                "created": False,
            }
    return None


def _report_for(failures: list[str], reports: dict[str, str]) -> str:
    """The report that explains the first failure (fairness or evaluation)."""
    if failures and failures[0].startswith("fairness:") and "fairness" in reports:
        return reports["fairness"]
    return reports.get("evaluation", "the evaluation report")


def _first(items: list[str], n: int) -> str:
    more = f"; and {len(items) - n} more" if len(items) > n else ""
    return "; ".join(items[:n]) + more


def _find_cause(error: BaseException, kind: type) -> Any:
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it, so the same run.json reads
    correctly on the host and in the image (where the repo is mounted at /src)."""
    if "://" in path:
        return path
    cwd = os.getcwd()
    absolute = os.path.abspath(path)
    return os.path.relpath(absolute, cwd) if absolute.startswith(cwd + os.sep) else absolute


# The reports components leave in their output artifacts: (component, output key, path inside
# the artifact ('' for all of it), path under <output-dir>/reports/).
REPORT_ARTIFACTS: tuple[tuple[str, str, str, str], ...] = (
    ("GreatExpectationsValidation", "result", "data_docs", "data_docs"),
    ("DataGate", "gate", "gate.json", "gate.json"),
    ("DriftCheck", "drift", "", "drift"),
    ("EvaluationReport", "report", "", "evaluation"),
    ("ModelExplanation", "explanation", "", "explain"),
    ("FairnessGate", "result", "", "fairness"),
    ("ModelCompression", "compressed", "index.html", "compress/index.html"),
    ("ModelCompression", "compressed", "report.json", "compress/report.json"),
)


def _run_outputs(metadata_path: str, run_id: str) -> list[tuple[str, str, Any]]:
    """``(component id, output key, MLMD artifact)`` of every output artifact of this run.

    A cached component's outputs belong to the run too (its CACHED execution outputs them).
    """
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    conn = metadata_store_pb2.ConnectionConfig()
    conn.sqlite.filename_uri = metadata_path
    store = metadata_store.MetadataStore(conn)
    ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if ctx is None:
        return []
    executions = store.get_executions_by_context(ctx.id)
    node_of = {}
    for ex in executions:
        for c in store.get_contexts_by_execution(ex.id):
            if c.type_id != ctx.type_id and "." in c.name:
                node_of[ex.id] = c.name.split(".", 1)[1]
    events = store.get_events_by_execution_ids([ex.id for ex in executions])
    outputs = [e for e in events if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id(list({e.artifact_id for e in outputs}))}
    out, seen = [], set()
    for e in outputs:
        key = e.path.steps[0].key if e.path.steps else ""
        if e.execution_id in node_of and e.artifact_id in artifacts and (e.execution_id, key, e.artifact_id) not in seen:
            seen.add((e.execution_id, key, e.artifact_id))
            out.append((node_of[e.execution_id], key, artifacts[e.artifact_id]))
    return out


def run_artifacts(metadata_path: str, run_id: str) -> list[tuple[str, str, str]]:
    """``(component id, output key, uri)`` of every output artifact of this run, from MLMD."""
    return sorted({(node, key, art.uri) for node, key, art in _run_outputs(metadata_path, run_id)})


def ingest_counts(metadata_path: str, run_id: str) -> dict[str, int] | None:
    """Rows read and rows dropped as incomplete, from this run's Examples (DataIngest)."""
    for node, key, art in _run_outputs(metadata_path, run_id):
        if (node, key) == ("DataIngest", "examples") and "rows_dropped" in art.custom_properties:
            props = art.custom_properties
            counts = {"rows_dropped": int(props["rows_dropped"].int_value)}
            if "rows_read" in props:
                counts["rows_read"] = int(props["rows_read"].int_value)
            return counts
    return None


def copy_reports(artifacts: list[tuple[str, str, str]], report_dir: str) -> list[str]:
    """Copies the reports held by this run's artifacts under ``report_dir``; returns what it wrote."""
    import tensorflow as tf

    written = []
    for node, key, uri in artifacts:
        for owner, out_key, inside, target in REPORT_ARTIFACTS:
            if (owner, out_key) != (node, key):
                continue
            src = f"{uri.rstrip('/')}/{inside}" if inside else uri
            dst = os.path.join(report_dir, target)
            if not tf.io.gfile.exists(src):
                continue
            if tf.io.gfile.isdir(src):
                for folder, _, files in tf.io.gfile.walk(src):
                    rel = folder[len(src):].strip("/")
                    os.makedirs(os.path.join(dst, rel), exist_ok=True)
                    for name in files:
                        tf.io.gfile.copy(os.path.join(folder, name), os.path.join(dst, rel, name), overwrite=True)
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                tf.io.gfile.copy(src, dst, overwrite=True)
            written.append(target)
    return written


def _collect_outputs(summary: RunSummary, report_dir: str) -> None:
    """Fills pushed/metrics/reports from the report dir.

    ``run_local`` empties the report dir when a run starts and then fills it from this run's own
    artifacts (``copy_reports``, executed and cached components alike), so everything here is
    this run's: those copies, plus what a component that failed on purpose wrote before it
    stopped (the gate's ``gate.json``, a drift hold's report).
    """
    rd = Path(report_dir)
    eval_metrics = rd / "evaluation" / "metrics.json"
    if eval_metrics.exists():
        data = json.loads(eval_metrics.read_text())
        summary.metrics = {k: round(v, 6) for k, v in data.get("overall", {}).items()}
        summary.metrics["_failures"] = data.get("failures", [])
        summary.reports["evaluation"] = str(rd / "evaluation" / "index.html")
    fairness = rd / "fairness" / "result.json"
    if fairness.exists():
        data = json.loads(fairness.read_text())
        if data.get("passed") is False:
            reasons = [f"fairness: {r}" for r in data.get("reasons", [])] or ["fairness gate failed"]
            summary.metrics["_failures"] = [*reasons, *summary.metrics.get("_failures", [])]
    for split in ("train", "eval"):
        docs = rd / "data_docs" / split / "index.html"
        if docs.exists():
            summary.reports[f"data_docs_{split}"] = str(docs)
    for name in ("explain", "fairness", "compress", "drift"):
        page = rd / name / ("drift.html" if name == "drift" else "index.html")
        if page.exists():
            summary.reports[name] = str(page)
    drift = rd / "drift" / "drift.json"
    if drift.exists():
        data = json.loads(drift.read_text())
        summary.drift = {
            k: _for_people(data[k]) if k == "reason" and isinstance(data[k], str) else data[k]
            for k in ("drifted", "drifted_features", "max_score", "threshold", "baseline_uri", "reason")
            if k in data
        }
    if (rd / "gate.json").exists():
        summary.reports["gate"] = str(rd / "gate.json")
    pushed = rd / "pushed.json"
    if pushed.exists():
        data = json.loads(pushed.read_text())
        if data.pop("pushed", False):
            summary.pushed = {**data, "path": display_path(data["path"])}
    summary.reports = {k: display_path(v) for k, v in summary.reports.items()}


def compile_kubeflow(cfg: PipelineConfig, output: str, pipeline_root: str | None = None) -> str:
    """Compiles the pipeline to a KFP PipelineSpec 2.1 YAML for Kubeflow Pipelines or Vertex AI.

    Every task runs ``pipelines.kubeflow.entrypoint`` in the project image; the data URI is a
    runtime parameter (``data_uri``, the config's value by default). When ``model.gpus > 0`` the
    Trainer requests the accelerator, and a Kubernetes platform spec (second YAML document, as
    the KFP compiler writes it) adds node selector/tolerations. The spec is checked against the
    backends' rules (``pipelines.kubeflow.conformance``) before it is written.

    Raises:
        conformance.NonConformingSpec: The spec or the pipeline root would fail on a backend.
    """
    from tfx import v1 as tfx

    from pipelines.kubeflow import conformance, entrypoint

    root = pipeline_root or cfg.kubeflow.pipeline_root
    root = root if "://" in root else os.path.abspath(root)
    root_problem = conformance.pipeline_root_problem(root)
    if root_problem:
        raise conformance.NonConformingSpec([root_problem])  # before anything is compiled against it
    pipeline = create_pipeline(cfg, pipeline_root=root, code_version="", for_kubeflow=True)
    tmp = Path(output).with_suffix(".json.tmp")
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=cfg.kubeflow.image,
            default_commands=entrypoint.COMMAND,
            use_pipeline_spec_2_1=True,
        ),
        output_dir=str(tmp.parent),
        output_filename=tmp.name,
    )
    runner.run(pipeline, write_out=True)
    spec = json.loads(tmp.read_text())
    tmp.unlink()
    pipeline_spec = spec.get("pipelineSpec", spec)
    # Drop what changes on every compile so the golden file diff shows only real changes.
    pipeline_spec.get("sdkVersion") and pipeline_spec.pop("sdkVersion")
    _declare_defaults(pipeline_spec, cfg, root)
    conformance.check(pipeline_spec)
    docs = [pipeline_spec]
    if cfg.model.gpus > 0:
        docs.append(_gpu_platform_spec(cfg, pipeline_spec))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as fh:
        yaml.safe_dump_all(docs, fh, sort_keys=True)
    return output


def _declare_defaults(pipeline_spec: dict[str, Any], cfg: PipelineConfig, root: str) -> None:
    """Puts the runtime parameters' defaults and the pipeline root into the PipelineSpec.

    TFX writes them only into the PipelineJob's ``runtimeConfig``, which a compiled YAML does
    not carry; KFP's own compiler writes them as the root's ``defaultValue`` and
    ``defaultPipelineRoot``, which is what the KFP UI, ``kfp.Client`` and Vertex read.
    """
    from pipelines.pipeline import data_uri_parameter

    defaults = {p.name: p.default for p in (data_uri_parameter(cfg),)}
    params = pipeline_spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, value in defaults.items():
        if name in params:
            params[name].update({"defaultValue": value, "isOptional": True})
    pipeline_spec["defaultPipelineRoot"] = root


def _gpu_platform_spec(cfg: PipelineConfig, pipeline_spec: dict[str, Any]) -> dict[str, Any]:
    """kfp-kubernetes platform spec: node selector and tolerations for the Trainer executor."""
    executors = pipeline_spec.get("deploymentSpec", {}).get("executors", {})
    trainer_exec = next((k for k in executors if k.startswith("Trainer")), "Trainer_executor")
    gpu = cfg.kubeflow.gpu
    return {
        "platforms": {
            "kubernetes": {
                "deploymentSpec": {
                    "executors": {
                        trainer_exec: {
                            "nodeSelector": {"labels": dict(gpu.node_selector)},
                            "tolerations": [dict(t) for t in gpu.tolerations],
                        }
                    }
                }
            }
        }
    }
