"""The DAGs' door to the pipeline config: ``pipelines.config``, the one schema (runtime only).

The DAGs load the YAML with :func:`pipelines.config.load_config`, exactly as ``mlops run``,
``mlops serve`` and ``mlops drift`` do, so a key the pipeline rejects is rejected here with the
same message, and every key a DAG reads (``runner``, ``kubeflow.*``, ``vertex.*``,
``monitoring.*``, ...) is declared, typed and validated there. ``pipelines/config.py`` is pure
Python + PyYAML: locally it is imported from the repository root (``mlops_airflow/__init__.py`` puts the
root on ``sys.path``); on MWAA / Cloud Composer ``pipelines/__init__.py`` and
``pipelines/config.py`` are shipped inside the DAGs folder (docs/airflow.md).

Nothing here reads a file at import time; :func:`schedule_of` is the one parse-time read.
"""

from __future__ import annotations

import functools
import logging
import os

import yaml
from airflow.sdk.exceptions import AirflowFailException

import mlops_airflow  # noqa: F401  (puts the repository root on sys.path)
from mlops_airflow.settings import default_config_path, repo_relative, resolve_repo_path
from pipelines.config import RUNNERS, ConfigError, PipelineConfig, config_from_dict, load_config

log = logging.getLogger(__name__)

__all__ = ["RUNNERS", "ConfigError", "InvalidPipelineConfig", "PipelineConfig", "load_pipeline_config", "schedule_of"]


class InvalidPipelineConfig(ConfigError, AirflowFailException):
    """A :class:`pipelines.config.ConfigError` that fails the task at once: a config does not
    mend itself in ``retry_delay``. Its message is the loader's, word for word."""


def load_pipeline_config(config_path: str | os.PathLike[str] | None = None) -> PipelineConfig:
    """Loads and validates a pipeline config (default: ``MLOPS_PIPELINE_CONFIG`` or penguins).

    Relative paths are taken from the repository root; the config's ``source_path`` (and every
    message) names the file repo-relative when it lies in the repository, as the ``--config``
    that the local runner hands to ``mlops run``.

    Raises:
        InvalidPipelineConfig: (a ``ConfigError``) the file is missing, not YAML, or a key is
            unknown, mistyped or inconsistent; the message names the file and the dotted key.
    """
    path = resolve_repo_path(config_path or default_config_path())
    try:
        return load_config(path, source=repo_relative(path))
    except ConfigError as exc:
        raise InvalidPipelineConfig(str(exc)) from exc


@functools.lru_cache(maxsize=8)
def schedule_of(config_path: str) -> str | None:
    """The config's ``schedule``, for the DAG definition (parse time).

    This is the only parse-time read the DAGs do: one small local YAML file from the repo (no
    network, no connections, no DB). A missing or unreadable file gives ``None`` (manual runs
    only) rather than an import error. An invalid config is logged and its ``schedule`` still
    used when it is a string, so the scheduled runs go on and each fails at ``resolve_run``
    with the config's error (and alerts), instead of the schedule silently stopping.
    """
    path = resolve_repo_path(config_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        log.warning("%s: cannot read the schedule (%s); manual runs only", config_path, exc)
        return None
    if not isinstance(raw, dict):
        return None
    try:
        return config_from_dict(raw, source=repo_relative(path)).schedule or None
    except ConfigError as exc:
        log.error("%s (the schedule is kept; every run will fail on this)", exc)
        sched = raw.get("schedule")
        return sched if isinstance(sched, str) and sched else None
