"""Every `mlops` command that writes checks its local output locations first: a folder it cannot
write is exit 2 and one paragraph naming the path and what to do, never a traceback, and nothing
is trained or read first. Run through the CLI process as users run it.

The image's user is not root (10001), and a root-owned folder is the common case on a cluster;
these tests run as root in CI, where permissions do not bind, so the CLI process runs as user
``nobody`` (65534) when the test runs as root.
"""

import os
import subprocess
import sys

import pytest

from tests.cli import REPO
from tests.configs import write_config

NOBODY = 65534


def _as_nobody():
    if os.getuid() == 0:
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def mlops_unprivileged(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=600, preexec_fn=_as_nobody)


@pytest.fixture
def locked(tmp_path):
    """A folder anyone can read and no one but root can write, inside a tree ``nobody`` can read."""
    tmp_path.chmod(0o755)
    for parent in tmp_path.parents:  # pytest's base folders are 0700
        if str(parent).startswith(("/tmp/pytest", "/tmp/")) and parent != parent.parent and parent.owner() == "root":
            parent.chmod(parent.stat().st_mode | 0o755)
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.fixture
def config(tmp_path, raw_config):
    raw = dict(raw_config)
    raw["push"] = {**raw["push"], "destination": str(tmp_path / "models")}
    path = write_config(tmp_path, raw)
    path.chmod(0o644)
    return path


def _one_paragraph(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "PermissionError" not in proc.stderr
    text = " ".join(proc.stderr.split())  # the paragraph is wrapped at 100 columns
    for word in words:
        assert word in text, proc.stderr


def test_run_into_an_unwritable_output_dir(locked, config):
    proc = mlops_unprivileged("run", "--config", str(config), "--output-dir", str(locked / "run"))
    _one_paragraph(proc, str(locked / "run"), "--output-dir", "permission denied")
    assert "Running pipeline" not in proc.stderr  # stopped before any work


def test_run_with_an_unwritable_push_destination(tmp_path, locked, config):
    out = tmp_path / "run"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    proc = mlops_unprivileged("run", "--config", str(config), "--output-dir", str(out), "--push-destination",
                              str(locked / "models"))
    _one_paragraph(proc, str(locked / "models"), "push.destination")


def test_an_output_path_through_a_file_is_refused_even_for_root(tmp_path, config):
    from tests.cli import mlops

    (tmp_path / "a_file").write_text("x")
    proc = mlops("run", "--config", str(config), "--output-dir", str(tmp_path / "a_file" / "run"))
    _one_paragraph(proc, "a part of the path is a file")


def test_init_compile_and_drift_check_where_they_write(tmp_path, locked, config):
    proc = mlops_unprivileged("init", "--data", "package://palmerpenguins/data/penguins.csv", "--label", "species",
                              "--output", str(locked / "p.yaml"))
    _one_paragraph(proc, str(locked), "--output")
    proc = mlops_unprivileged("compile", "--config", str(config), "--output", str(locked / "spec.yaml"))
    _one_paragraph(proc, str(locked), "--output")
    proc = mlops_unprivileged("drift", "--config", str(config), "--current", str(tmp_path / "nothing.csv"),
                              "--output-dir", str(locked / "drift"))
    _one_paragraph(proc, str(locked / "drift"), "--output-dir")


def test_schema_checks_its_folder_and_the_config_it_points(tmp_path, locked, raw_config):
    raw = dict(raw_config)
    raw["schema"] = {"path": str(locked / "schema.pbtxt")}
    raw["validation"] = {**raw.get("validation", {}), "expectation_suite": str(locked / "suite.json")}
    path = write_config(tmp_path, raw)
    path.chmod(0o644)
    from pipelines.config import load_config

    load_config(path, check_files=False)
    proc = mlops_unprivileged("schema", "--config", str(path))
    _one_paragraph(proc, str(locked), "schema.path")
