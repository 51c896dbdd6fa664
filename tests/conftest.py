"""Shared fixtures for the image-side tests (run inside the project image by `make test`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

# The config helpers live in tests/configs.py (the benchmarks use them too).
from tests.configs import fast_config, penguins_raw

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# Every pipeline run logs to MLflow (pipelines/tracking): in tests, into this session's own store,
# never the repository's runs/mlflow nor a server a developer's shell names. Tracking tests
# (tests/e2e/test_tracking.py) point runs at their own `mlflow server`.
os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="mlops-test-mlflow-"), "mlflow.db")


@pytest.fixture(scope="session")
def object_store_servers():
    """moto_server and gcp-storage-emulator on 127.0.0.1, started once per session."""
    from tests import object_stores

    with object_stores.servers() as env:
        yield env


@pytest.fixture(scope="module")
def object_stores(object_store_servers):
    """The storage clients point at the emulators for one test module; create buckets with
    ``tests.object_stores.bucket``."""
    from tests import object_stores as stores

    with stores.environment(object_store_servers) as env:
        yield env


@pytest.fixture(scope="session")
def penguins_csv() -> Path:
    """The CSV shipped by the palmerpenguins package."""
    from components.common import storage

    return storage.local_path("package://palmerpenguins/data/penguins.csv")


@pytest.fixture(scope="session")
def penguins_df(penguins_csv) -> pd.DataFrame:
    return pd.read_csv(penguins_csv)


@pytest.fixture
def raw_config() -> dict:
    """The penguins config as plain data, to mutate in tests."""
    return penguins_raw()


@pytest.fixture(scope="session")
def trained_pipeline(tmp_path_factory):
    """One real penguins pipeline run (LocalDagRunner) shared by every test that needs a model.

    Returns a dict: ``summary`` (RunSummary), ``config`` (PipelineConfig), ``config_path``,
    ``output_dir``, ``destination`` (push destination holding ``penguins/1``).
    """
    from pipelines.config import load_config
    from pipelines.local.run import run_local

    base = tmp_path_factory.mktemp("trained")
    raw = penguins_raw()
    # The demo config's extras (explain, fairness, compress) run too: this is `mlops run` as shipped.
    config_path = fast_config(base, raw, extras=True)
    cfg = load_config(config_path)
    out = base / "run"
    summary = run_local(cfg, str(out))
    assert summary.status == "succeeded", summary.reason
    # Later tests rerun in the same output dir (so the cache hits) and overwrite run.json and
    # reports/; what this run wrote and which artifacts it made are kept apart, so a test reading
    # them sees this run's, whatever ran before it.
    first = base / "first-run"
    shutil.copytree(out / "reports", first / "reports")
    shutil.copy2(out / "run.json", first / "run.json")
    from pipelines.pipeline import run_paths
    from pipelines.local.mlmd import run_artifacts

    artifacts = {(node, key): uri for node, key, uri in run_artifacts(run_paths(str(out)).metadata_path, summary.run_id)}
    return {
        "summary": summary,
        "config": cfg,
        "config_path": config_path,
        "output_dir": out,
        "first_run": first,
        "artifacts": artifacts,
        "destination": base / "models",
    }


def pytest_sessionfinish(session, exitstatus):
    session.config._mlops_exitstatus = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave with pytest's status before interpreter shutdown.

    TFT/Beam objects still alive at shutdown can segfault (rc 139) after every test passed.
    JUnit XML and the terminal summary are written by then.
    """
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(getattr(config, "_mlops_exitstatus", 0))
