"""Lenient reading of a pipeline config YAML for the DAGs (PyYAML only).

The DAGs deliberately do not import ``pipelines.config``: it validates strictly and may import
things that are not in the Airflow venv. Here only the keys the DAGs need are read and unknown
keys are ignored, so the config can grow without breaking the DAGs.

Nothing in this module touches the filesystem at import time.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from lib import REPO_ROOT

#: Default config when a run gives none (override with env MLOPS_PIPELINE_CONFIG).
DEFAULT_CONFIG = "pipelines/configs/penguins.yaml"

RUNNERS = ("local", "kubeflow", "vertex", "dry-run")


class SettingsError(ValueError):
    """The config file is missing or lacks a key the DAG needs."""


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    type: str  # float | int | categorical


@dataclass(frozen=True)
class PipelineSettings:
    """What the DAGs need from one pipeline config.

    Attributes:
        config_path: Path of the YAML relative to the repo root when inside it, else absolute.
        name: Pipeline / dataset name.
        data_uri: Training data URI (local path, s3://, gs://, package://).
        data_format: ``csv`` or ``parquet``.
        label: Label column.
        features: Input columns with their types.
        suite_path: The Great Expectations suite JSON the pipeline also uses (absolute path).
        drop_incomplete_rows: Rows missing a label/feature are dropped before validation.
        max_dropped_fraction: Above this fraction of dropped rows validation fails.
        max_example_values: Example values kept per failing expectation.
        schedule: Cron string or None.
        runner: Default runner from the config (``runner:`` key), or None.
        drift_threshold: Monitoring threshold on the largest per-feature drift score.
        monitoring: The whole ``monitoring:`` mapping.
        kubeflow: The whole ``kubeflow:`` mapping.
        vertex: The whole ``vertex:`` mapping (may be empty).
        push: The whole ``push:`` mapping.
    """

    config_path: str
    name: str
    data_uri: str
    data_format: str = "csv"
    label: str | None = None
    features: tuple[FeatureSpec, ...] = ()
    suite_path: str | None = None
    drop_incomplete_rows: bool = True
    max_dropped_fraction: float = 0.1
    max_example_values: int = 5
    schedule: str | None = None
    runner: str | None = None
    drift_threshold: float = 0.2
    monitoring: Mapping[str, Any] = field(default_factory=dict)
    kubeflow: Mapping[str, Any] = field(default_factory=dict)
    vertex: Mapping[str, Any] = field(default_factory=dict)
    push: Mapping[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Label plus feature names (the columns validation and drift look at)."""
        cols = [f.name for f in self.features]
        if self.label and self.label not in cols:
            cols.insert(0, self.label)
        return cols


def runs_dir() -> str:
    """Where local run folders and monitoring reports go: repo-relative, so the container sees them."""
    return os.environ.get("MLOPS_AIRFLOW_RUNS_DIR", "runs/airflow")


def default_config_path() -> str:
    return os.environ.get("MLOPS_PIPELINE_CONFIG", DEFAULT_CONFIG)


def resolve_repo_path(path: str | os.PathLike[str]) -> Path:
    """Absolute path: relative paths are taken from the repository root, not the CWD."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def repo_relative(path: str | os.PathLike[str]) -> str:
    """The path relative to the repo root if it lies inside it (what ``docker run -w /src`` needs)."""
    p = resolve_repo_path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return str(p)


def load_settings(config_path: str | None = None) -> PipelineSettings:
    """Reads a pipeline config YAML leniently.

    Raises:
        SettingsError: File missing/unparseable, or ``name``/``data.uri`` missing.
    """
    path = resolve_repo_path(config_path or default_config_path())
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise SettingsError(f"{path}: pipeline config not found") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{path}: top level must be a mapping")
    return settings_from_mapping(raw, repo_relative(path))


def settings_from_mapping(raw: Mapping[str, Any], config_path: str) -> PipelineSettings:
    """Builds settings from an already-parsed config mapping (lenient on unknown keys)."""
    data = _mapping(raw.get("data"))
    name = raw.get("name")
    uri = data.get("uri")
    if not name or not uri:
        raise SettingsError(f"{config_path}: needs `name` and `data.uri`")
    features = tuple(
        FeatureSpec(str(f["name"]), str(f.get("type", "float")))
        for f in raw.get("features") or []
        if isinstance(f, Mapping) and f.get("name")
    )
    validation = _mapping(raw.get("validation"))
    suite = validation.get("expectation_suite")
    monitoring = _mapping(raw.get("monitoring"))
    runner = raw.get("runner")
    return PipelineSettings(
        config_path=config_path,
        name=str(name),
        data_uri=str(uri),
        data_format=str(data.get("format", "csv")),
        label=raw.get("label"),
        features=features,
        suite_path=str(resolve_repo_path(suite)) if suite else None,
        drop_incomplete_rows=bool(data.get("drop_incomplete_rows", True)),
        max_dropped_fraction=float(data.get("max_dropped_fraction", 0.1)),
        max_example_values=int(validation.get("max_example_values", 5)),
        schedule=raw.get("schedule") or None,
        runner=str(runner) if runner else None,
        drift_threshold=float(monitoring.get("drift_threshold", 0.2)),
        monitoring=monitoring,
        kubeflow=_mapping(raw.get("kubeflow")),
        vertex=_mapping(raw.get("vertex")),
        push=_mapping(raw.get("push")),
    )


@functools.lru_cache(maxsize=8)
def schedule_of(config_path: str) -> str | None:
    """The ``schedule`` key of a config, for the DAG definition.

    This is the only parse-time read the DAGs do: one small local YAML file from the repo (no
    network, no connections, no DB). A missing or broken file gives ``None`` (manual runs only)
    rather than an import error, and the task that loads the config reports the problem.
    """
    try:
        raw = yaml.safe_load(resolve_repo_path(config_path).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    sched = raw.get("schedule") if isinstance(raw, Mapping) else None
    return str(sched) if sched else None


def safe_name(text: str, max_len: int = 80) -> str:
    """A filesystem/URL-safe slug (run ids contain ':' and '+')."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")
    return slug[:max_len] or "run"


def _mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}
