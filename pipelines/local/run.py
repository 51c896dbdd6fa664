"""``run_local``: the pipeline under LocalDagRunner with a SQLite MLMD store, and its ``run.json``.

The CLI (``mlops run``) calls it; tests and benchmarks call it directly.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

from pipelines.config import PipelineConfig
from pipelines.local import mlmd, reports
from pipelines.local import summary as outcome
from pipelines.local.progress import Progress
from pipelines.local.summary import RunSummary
from pipelines.pipeline import REPO_ROOT, create_pipeline, resolve_repo_path, run_paths

log = logging.getLogger(__name__)


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

    Args:
        cfg: The pipeline config.
        output_dir: Gets ``pipeline_root/``, ``metadata.sqlite``, ``reports/`` and ``run.json``.
        progress: Prints one progress line (``pipelines.local.progress``).
        verbose: Let TFX/Beam/TF log everything (else warnings only).

    Returns:
        The run's summary, as written to ``run.json``.
    """
    paths = run_paths(output_dir)
    # Every report under it is this run's: copied from this run's artifacts after the run, or
    # written by a component that stopped the run on purpose.
    shutil.rmtree(paths.report_dir, ignore_errors=True)
    os.makedirs(paths.report_dir)
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
    restore = _quiet_logs(verbose)
    started = time.monotonic()
    error: BaseException | None = None
    with Progress(paths.metadata_path, run_id, len(pipeline.components), progress) as watcher:
        try:
            _run_with_id(pipeline, run_id)
            summary.status = "succeeded"
        except BaseException as exc:  # noqa: BLE001 - classified below, re-raised if unknown
            error = exc
        finally:
            restore()
    summary.seconds = round(time.monotonic() - started, 2)
    summary.components = watcher.components
    if watcher.error is not None:  # MLMD unreadable: keep what the earlier reads saw
        log.warning("could not read component states from MLMD: %s", watcher.error)
    try:
        summary.data = mlmd.ingest_counts(paths.metadata_path, run_id)
        reports.copy_reports(mlmd.run_artifacts(paths.metadata_path, run_id), paths.report_dir)
    except Exception as exc:  # MLMD unreadable: keep what the components wrote themselves
        log.warning("could not read this run's report artifacts from MLMD: %s", exc)
    outcome.read_gate(summary, paths.report_dir, cfg.name)
    if error is not None:
        outcome.classify_error(summary, error, cfg.name)
    outcome.collect_outputs(summary, paths.report_dir)
    if summary.pushed is None and summary.components.get("VersionedPusher", {}).get("state") == "cached":
        summary.pushed = mlmd.cached_push(paths.metadata_path, run_id)
        if summary.pushed and summary.pushed.get("model_card"):
            summary.reports["model_card"] = summary.pushed["model_card"]
    outcome.settle_blessing(summary)
    Path(output_dir, "run.json").write_text(json.dumps(summary.to_dict(), indent=2, default=str))
    # MLflow run + registry mirror, reports/index.html; rewrites run.json with `tracking`. Never raises.
    from pipelines.tracking.client import record_run

    record_run(cfg, summary, output_dir, data_uri=cfg.data.uri, data_fingerprint=fingerprint, code_version=code,
               repo_root=REPO_ROOT)
    if summary.status == "failed" and error is not None and not isinstance(error, Exception):
        raise error  # KeyboardInterrupt and friends
    return summary


def _run_with_id(pipeline, run_id: str) -> None:
    """Runs with a run id we chose, so run.json, manifests and MLMD name the same run."""
    from tfx.dsl.compiler import compiler
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.portable import runtime_parameter_utils

    ir = compiler.Compiler().compile(pipeline)
    runtime_parameter_utils.substitute_runtime_parameter(ir, {"pipeline-run-id": run_id})
    LocalDagRunner().run_with_ir(ir)
