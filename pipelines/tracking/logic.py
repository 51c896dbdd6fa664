"""What a pipeline run logs to MLflow, and under which names: pure functions, no MLflow import.

The adapter (``pipelines.tracking.client``) sends what these return; tests check them without a
server. Names follow MLflow's rules (letters, digits and ``_ - . / : space``); everything else
becomes ``_``, so ``island=Biscoe`` is logged as ``island_Biscoe``.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

from components.common import report_names as rn

#: The embedded store: no server needed, ``make mlflow`` serves it.
DEFAULT_DIR = "runs/mlflow"
DEFAULT_UI_URL = "http://127.0.0.1:5000"
#: MLflow's limits (3.x): param values 6000 characters, tag values 8000.
MAX_PARAM_CHARS = 6000
MAX_TAG_CHARS = 8000
TAG_PREFIX = "mlops."
_BAD_NAME_CHARS = re.compile(r"[^\w\-. /:]")


def tracking_uri(uri_key: str | None, environ: Mapping[str, str], repo_root: str | Path) -> str:
    """The tracking URI a run uses: ``MLFLOW_TRACKING_URI`` wins over ``tracking.uri``.

    Relative store paths are taken from the repository root (like every path in the config),
    so the host and the image (repo at /src) name the same file.

    Args:
        uri_key: ``tracking.uri`` (None: the embedded store under ``runs/mlflow``).
        environ: The process environment.
        repo_root: The repository root.

    Returns:
        ``http(s)://...`` or ``sqlite:////<absolute path>/mlflow.db`` (or another URI as given).
    """
    uri = environ.get("MLFLOW_TRACKING_URI") or uri_key or DEFAULT_DIR
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
        return uri if path.startswith("/") else "sqlite:///" + os.path.join(os.path.abspath(repo_root), path)
    if uri.startswith("file://"):
        return "sqlite:///" + os.path.join(uri[len("file://"):], "mlflow.db")
    if "://" in uri or uri.startswith("databricks"):
        return uri
    # A local folder: the store file and the artifacts live in it.
    folder = uri if os.path.isabs(uri) else os.path.join(os.path.abspath(repo_root), uri)
    return "sqlite:///" + os.path.join(folder, "mlflow.db")


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where an experiment created in a local store keeps artifacts (beside the store file);
    None for a server, which decides itself (``--default-artifact-root`` / artifact proxy)."""
    if not uri.startswith("sqlite:///"):
        return None
    return os.path.join(os.path.dirname(uri[len("sqlite:///"):]), "artifacts", safe_name(experiment))


def is_server(uri: str) -> bool:
    """True for a tracking server reached over HTTP."""
    return uri.startswith(("http://", "https://"))


def ui_base(ui_url: str | None, uri: str) -> str:
    """Base URL of the MLflow UI for links: ``tracking.ui_url``, else the server, else ``make mlflow``'s."""
    if ui_url:
        return ui_url.rstrip("/")
    return uri.rstrip("/") if is_server(uri) else DEFAULT_UI_URL


def run_url(base: str, experiment_id: str, run_id: str) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def model_version_url(base: str, model_name: str, version: int | str) -> str:
    return f"{base}/#/models/{model_name}/versions/{version}"


def safe_name(name: str) -> str:
    """A metric/param/tag key MLflow accepts."""
    return _BAD_NAME_CHARS.sub("_", name)


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested mappings as dotted keys; lists of scalars and empty values as JSON strings.

    Example:
        ``flatten({"model": {"hidden_units": [16, 8]}})`` -> ``{"model.hidden_units": "[16, 8]"}``
    """
    out: dict[str, str] = {}
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, (list, tuple)) and data and any(isinstance(v, (Mapping, list, tuple)) for v in data):
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}.{i}"))
    elif prefix:
        text = data if isinstance(data, str) else json.dumps(data, default=str)
        out[safe_name(prefix)] = text
    return out


def _clip(values: dict[str, str], limit: int) -> dict[str, str]:
    return {k: v if len(v) <= limit else v[: limit - 3] + "..." for k, v in values.items()}


def run_params(
    config: Mapping[str, Any], data_uri: str, data_fingerprint: str, code_version: str, image: str
) -> dict[str, str]:
    """The run's parameters: the resolved config, flattened, plus what the data and code were.

    Args:
        config: ``PipelineConfig.to_dict()`` (after ``--set`` / ``--data-uri`` overrides).
        data_uri: The data the run read.
        data_fingerprint: Its content version (mtime/ETag/generation or SHA-256).
        code_version: Git commit (or module hash) of the pipeline code.
        image: The project image the run ran in ('' when unknown).
    """
    params = flatten(config)
    params.update({
        "run.data_uri": data_uri,
        "run.data_fingerprint": data_fingerprint or "",
        "run.code_version": code_version or "",
        "run.image": image or "",
    })
    return _clip(params, MAX_PARAM_CHARS)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _bound_passed(value: float | None, lower: float | None, upper: float | None) -> bool | None:
    if value is None:
        return None
    return (lower is None or value >= lower) and (upper is None or value <= upper)


def threshold_metrics(evaluation: Mapping[str, Any], thresholds: list[Mapping[str, Any]],
                      change_threshold: Mapping[str, Any] | None) -> dict[str, float]:
    """1.0/0.0 per configured threshold, on the whole eval set (``threshold.<metric>.passed``)
    and for the change threshold against the serving model (``change_threshold.<metric>.passed``,
    only when there was a baseline to compare with).

    Args:
        evaluation: The EvaluationReport's ``metrics.json`` (``overall``, ``diffs``).
        thresholds: ``evaluation.thresholds`` of the config (plain data).
        change_threshold: ``evaluation.change_threshold`` (plain data) or None.
    """
    from pipelines.metrics import METRICS

    overall = evaluation.get("overall") or {}
    out: dict[str, float] = {}
    for t in thresholds:
        spec = METRICS.get(t["metric"])
        key = spec.key if spec else t["metric"]
        passed = _bound_passed(_number(overall.get(key)), t.get("lower_bound"), t.get("upper_bound"))
        if passed is not None:
            out[safe_name(f"threshold.{t['metric']}.passed")] = float(passed)
    if change_threshold:
        spec = METRICS.get(change_threshold["metric"])
        key = spec.key if spec else change_threshold["metric"]
        diff = _number((evaluation.get("diffs") or {}).get(key))
        if diff is not None:
            out[safe_name(f"change_threshold.{change_threshold['metric']}.passed")] = float(
                diff >= float(change_threshold.get("absolute", 0.0)))
            out[safe_name(f"change_threshold.{change_threshold['metric']}.diff")] = diff
    return out


def run_metrics(summary: Mapping[str, Any], report_dir: str | Path, config: Mapping[str, Any]) -> dict[str, float]:
    """Every number a run produced, under stable names.

    * ``eval.<metric>`` overall, ``slice.<column_value>.<metric>`` per slice, ``eval.blessed``;
    * ``threshold.<metric>.passed`` / ``change_threshold.<metric>.passed`` (1.0 or 0.0);
    * ``fairness.<column>.<gap>`` and ``fairness.passed``;
    * ``drift.<feature>`` scores, ``drift.max_score``, ``drift.drifted``;
    * ``compress.<variant>.size_bytes`` / ``.accuracy``, ``compress.saved_model.size_bytes``;
    * ``seconds.<component>`` and ``seconds.total``; ``data.rows_read`` / ``data.rows_dropped``.

    Args:
        summary: ``run.json`` as a dict.
        report_dir: ``<output-dir>/reports`` of the run (the JSON the components wrote).
        config: ``PipelineConfig.to_dict()``.
    """
    rd = Path(report_dir)
    out: dict[str, float] = {}

    def put(name: str, value: Any) -> None:
        number = _number(value)
        if number is not None:
            out[safe_name(name)] = number

    evaluation = _read_json(rd / rn.EVALUATION / rn.METRICS_JSON) or {}
    for name, value in (evaluation.get("overall") or summary.get("metrics") or {}).items():
        put(f"eval.{name}", value)
    for slice_name, values in (evaluation.get("slices") or {}).items():
        if slice_name == "Overall" or not isinstance(values, Mapping):
            continue
        for name, value in values.items():
            put(f"slice.{slice_name.replace('=', '_').replace(', ', '.')}.{name}", value)
    if "blessed" in evaluation:
        put("eval.blessed", bool(evaluation["blessed"]))
    ev_cfg = config.get("evaluation") or {}
    out.update(threshold_metrics(evaluation, list(ev_cfg.get("thresholds") or []), ev_cfg.get("change_threshold")))

    fairness = _read_json(rd / rn.FAIRNESS / rn.RESULT_JSON) or {}
    if "passed" in fairness:
        put("fairness.passed", bool(fairness["passed"]))
    for column in fairness.get("columns") or []:
        for gap in ("accuracy_gap", "demographic_parity_difference", "equalized_odds_difference", "recall_gap"):
            if isinstance(column.get(gap), Mapping):
                put(f"fairness.{column.get('column')}.{gap}", column[gap].get("value"))

    drift = _read_json(rd / rn.DRIFT / rn.DRIFT_JSON) or {}
    for feature in drift.get("features") or []:
        if isinstance(feature, Mapping):
            put(f"drift.{feature.get('name')}", feature.get("score"))
    if drift.get("baseline_uri"):
        put("drift.max_score", drift.get("max_score"))
        put("drift.drifted", bool(drift.get("drifted")))

    compress = _read_json(rd / rn.COMPRESS / rn.REPORT_JSON) or {}
    put("compress.saved_model.size_bytes", (compress.get("saved_model") or {}).get("size_bytes"))
    for variant in compress.get("variants") or []:
        if isinstance(variant, Mapping):
            for key in ("size_bytes", "gzip_bytes", "accuracy", "latency_ms"):
                put(f"compress.{variant.get('name')}.{key}", variant.get(key))

    for component, info in (summary.get("components") or {}).items():
        put(f"seconds.{component}", (info or {}).get("seconds"))
    put("seconds.total", summary.get("seconds"))
    for key, value in (summary.get("data") or {}).items():
        put(f"data.{key}", value)
    return out


def run_tags(summary: Mapping[str, Any], pipeline: str, runner: str) -> dict[str, str]:
    """Tags: run id, status, gate verdict and reason, pushed version, MLMD execution ids.

    ``mlops.run_id`` is the pipeline's run id (manifests and MLMD name the same run), so the
    registry can link a version pushed by a run whose tracking failed at the time.
    """
    gate = summary.get("gate") or {}
    failures = gate.get("failures") or []
    if summary.get("status") == "gate_failed":
        verdict = "failed"
    elif gate.get("passed") is False:
        verdict = "failed"
    elif gate.get("passed") is True or summary.get("status") in ("succeeded", "not_blessed"):
        verdict = "passed"
    else:
        verdict = "not reached"
    tags = {
        f"{TAG_PREFIX}run_id": str(summary.get("run_id") or ""),
        f"{TAG_PREFIX}pipeline": pipeline,
        f"{TAG_PREFIX}runner": runner,
        f"{TAG_PREFIX}status": str(summary.get("status") or ""),
        f"{TAG_PREFIX}gate": verdict,
        f"{TAG_PREFIX}gate_failures": str(len(failures)),
        f"{TAG_PREFIX}blessed": str(bool(summary.get("pushed"))).lower() if summary.get("status") != "gate_failed" else "n/a",
        "mlflow.runName": str(summary.get("run_id") or pipeline),
    }
    if summary.get("reason"):
        tags[f"{TAG_PREFIX}reason"] = str(summary["reason"])
        tags["mlflow.note.content"] = str(summary["reason"])
    pushed = summary.get("pushed") or {}
    if pushed:
        tags[f"{TAG_PREFIX}pushed_version"] = str(pushed.get("version"))
        tags[f"{TAG_PREFIX}pushed_path"] = str(pushed.get("path"))
    for component, info in (summary.get("components") or {}).items():
        if (info or {}).get("execution_id") is not None:
            tags[safe_name(f"{TAG_PREFIX}mlmd.execution.{component}")] = str(info["execution_id"])
        if (info or {}).get("state"):
            tags[safe_name(f"{TAG_PREFIX}state.{component}")] = str(info["state"])
    return _clip(tags, MAX_TAG_CHARS)


def manifest_tags(manifest: Mapping[str, Any]) -> dict[str, str]:
    """A push manifest as model-version tags: flattened, except per-slice metrics (in the run)."""
    data = {k: v for k, v in manifest.items() if k != "metrics"}
    metrics = manifest.get("metrics") or {}
    data["metrics"] = {"overall": metrics.get("overall") or {}, "classes": metrics.get("classes") or []}
    return _clip({f"manifest.{k}": v for k, v in flatten(data).items()}, MAX_TAG_CHARS)


def summary_lines(tracking: Mapping[str, Any] | None) -> list[str]:
    """What ``mlops run`` prints about tracking: the MLflow run, the registered version, or why not."""
    if not tracking or tracking.get("enabled") is False:
        return []
    lines = []
    if tracking.get("run_id"):
        lines.append(f"mlflow:  run {tracking['run_id']} in experiment '{tracking.get('experiment')}' "
                     f"({tracking.get('uri')}): {tracking.get('run_url')}")
    if tracking.get("error"):
        lines.append(f"mlflow:  not logged: {tracking['error']}")
    registry = tracking.get("registry")
    if registry:
        if not registry.get("updated"):
            lines.append(f"registry: {registry.get('reason')}")
        elif registry.get("version") is not None:
            new = registry.get("registered") or []
            lines.append(f"registry: {registry['model']} version {registry['version']} is @{registry.get('alias')} "
                         f"(push {registry.get('push_version')}{'; newly registered: ' + ', '.join(map(str, new)) if new else ''}): "
                         f"{registry.get('url')}")
        elif registry.get("note"):
            lines.append(f"registry: {registry['note']}")
    return lines
