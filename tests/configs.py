"""Pipeline configs for quick runs: one place for the tests and the benchmarks.

The optional steps (explain, fairness, compress, drift_check, ...) are read from the config
schema (:func:`optional_steps`), so a step added there is turned off here too. Standard library,
PyYAML and ``pipelines.config`` only: importable in the project image (tests, benchmarks, run with
the repository as the working directory) and in the Airflow venv.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PENGUINS_CONFIG = REPO / "pipelines" / "configs" / "penguins.yaml"


def optional_steps() -> tuple[str, ...]:
    """The config sections of the optional pipeline steps, in schema order.

    A section is an optional step when its dataclass has an ``enabled`` switch that is off by
    default (``tracking`` is on by default: it is not a step).
    """
    from pipelines.config import PipelineConfig

    return tuple(
        f.name for f in dataclasses.fields(PipelineConfig)
        if dataclasses.is_dataclass(f.default) and getattr(f.default, "enabled", True) is False
    )


def extras_off(raw: dict) -> dict:
    """A copy of the plain-data config ``raw`` with every optional step turned off."""
    raw = dict(raw)
    for step in optional_steps():
        raw[step] = {**raw.get(step, {}), "enabled": False}
    return raw


def penguins_raw() -> dict:
    """The shipped penguins config as plain data."""
    return yaml.safe_load(PENGUINS_CONFIG.read_text())


def write_config(tmp_path: Path, raw: dict, name: str = "cfg.yaml") -> Path:
    """Writes ``raw`` as YAML to ``tmp_path / name``; returns the path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def fast_config(
    tmp_path: Path, raw: dict, data_uri: str | None = None, destination: str | None = None, extras: bool = False
) -> Path:
    """A config for quick test runs: few epochs, outputs under tmp_path, and the optional steps
    off unless ``extras`` (then as configured, with small explain samples)."""
    raw = dict(raw)
    raw["model"] = {**raw["model"], "epochs": 10}
    raw["push"] = {**raw["push"], "destination": destination or str(tmp_path / "models")}
    if extras:
        raw["explain"] = {**raw.get("explain", {}), "sample_size": 10, "background_size": 10}
    else:
        raw = extras_off(raw)
    if data_uri:
        raw["data"] = {**raw["data"], "uri": data_uri}
    return write_config(tmp_path, raw)
