"""Paths and environment settings of the DAGs that are not the pipeline config (no I/O at import).

The pipeline config itself is loaded and validated by ``pipelines.config`` through
:mod:`mlops_airflow.pipeline_config`; this module only says where things are: the default config
(env ``MLOPS_PIPELINE_CONFIG``), the run folders (env ``MLOPS_AIRFLOW_RUNS_DIR``) and how a
repo-relative path is resolved. Airflow Variables and connections are read where they are used,
at task run time (``mlops_airflow.runners``, ``mlops_airflow.tracking``, ``mlops_airflow.alerts``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlops_airflow import REPO_ROOT

#: Default config when a run gives none (override with env MLOPS_PIPELINE_CONFIG).
DEFAULT_CONFIG = "pipelines/configs/penguins.yaml"


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


def safe_name(text: str, max_len: int = 80) -> str:
    """A filesystem/URL-safe slug (run ids contain ':' and '+')."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")
    return slug[:max_len] or "run"
