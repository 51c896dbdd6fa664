"""Fixtures for the behavioural model tests: artifacts of the shared penguins pipeline run.

``MLOPS_TEST_PIPELINE_RUN=<an mlops run --output-dir>`` reuses an existing run instead of the
session's ``trained_pipeline`` (quick iterations on these tests only); its config is taken from
``MLOPS_TEST_PIPELINE_CONFIG`` (default: the penguins config).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.configs import PENGUINS_CONFIG

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def latest_artifact(folder: Path) -> Path:
    """The newest artifact dir (highest MLMD execution id) under ``<pipeline_root>/<node>/<key>``."""
    ids = sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    if not ids:
        raise FileNotFoundError(f"no artifact under {folder}")
    return ids[-1]


@pytest.fixture(scope="session")
def penguins_run(request) -> dict:
    """``config``, ``model_uri`` (Trainer Model artifact), ``saved_model``, ``examples_uri``,
    ``blessing_uri``, ``transformed_examples_uri``, ``transform_graph_uri``, ``output_dir``."""
    from pipelines.config import load_config

    reuse = os.environ.get("MLOPS_TEST_PIPELINE_RUN")
    if reuse:
        out = Path(reuse)
        cfg = load_config(os.environ.get("MLOPS_TEST_PIPELINE_CONFIG", str(PENGUINS_CONFIG)))
    else:
        trained = request.getfixturevalue("trained_pipeline")
        # The shared run's own artifacts: later tests rerun in its output dir with other data.
        arts = trained["artifacts"]
        model_uri = Path(arts[("Trainer", "model")])
        return {
            "config": trained["config"],
            "output_dir": Path(trained["output_dir"]),
            "model_uri": model_uri,
            "saved_model": model_uri / "Format-Serving",
            "examples_uri": Path(arts[("DataIngest", "examples")]),
            "blessing_uri": Path(arts[("Evaluator", "blessing")]),
            "transformed_examples_uri": Path(arts[("Transform", "transformed_examples")]),
            "transform_graph_uri": Path(arts[("Transform", "transform_graph")]),
        }
    root = out / "pipeline_root"
    model_uri = latest_artifact(root / "Trainer" / "model")
    return {
        "config": cfg,
        "output_dir": out,
        "model_uri": model_uri,
        "saved_model": model_uri / "Format-Serving",
        "examples_uri": latest_artifact(root / "DataIngest" / "examples"),
        "blessing_uri": latest_artifact(root / "Evaluator" / "blessing"),
        "transformed_examples_uri": latest_artifact(root / "Transform" / "transformed_examples"),
        "transform_graph_uri": latest_artifact(root / "Transform" / "transform_graph"),
    }


@pytest.fixture(scope="session")
def served(penguins_run):
    from components.common.model_io import ServingModel

    return ServingModel(str(penguins_run["saved_model"]))


@pytest.fixture(scope="session")
def eval_frame(penguins_run):
    from components.common.model_io import read_examples

    cfg = penguins_run["config"]
    return read_examples(str(penguins_run["examples_uri"]), "eval", cfg.columns)[0]


@pytest.fixture(scope="session")
def train_frame(penguins_run):
    from components.common.model_io import read_examples

    cfg = penguins_run["config"]
    return read_examples(str(penguins_run["examples_uri"]), "train", cfg.columns)[0]
