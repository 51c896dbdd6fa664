"""The exact compiled YAML, executed by kfp.local's DockerRunner in the project image: every task.

This is the check that the spec a user uploads to Kubeflow Pipelines or Vertex AI runs: nothing
is rewritten between `compile_kubeflow` and execution. kfp.local shares the backends' gaps that
matter here (it hands downstream tasks ``system.Artifact`` where OSS KFP hands an empty schema,
both repaired by ``pipelines.kubeflow.entrypoint``), and runs only container tasks.

Three runs on one pipeline root and push destination:
1. no model pushed yet: every task SUCCESS, version 1 with its manifest lands in the destination,
   the evaluation report says only absolute thresholds applied;
2. the same spec again: ServingModelBaseline resolves version 1 and the Evaluator compares with
   it (change threshold applied, diffs in the report);
3. the ``data_uri`` runtime parameter points at a corrupted file: the run stops at the data gate
   and the destination is untouched.

The tasks start real containers of the project image through the host's Docker engine, so
`make test-image` mounts the Docker socket and the repo at its host path (MLOPS_HOST_REPO):
kfp.local bind-mounts the pipeline root by its path, which must mean the same on both sides;
the push destination and the corrupted file live under it, so every task container sees them.
"""

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from components.versioned_pusher import logic as push_logic
from pipelines.config import load_config
from pipelines.kubeflow.conformance import load_spec
from pipelines.kubeflow.compiler import compile_kubeflow
from tests.configs import PENGUINS_CONFIG

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

_STATUS = re.compile(r"Task '([\w-]+)' finished with status ([A-Z]+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# kfp.local names a task after its component minus a "comp-" prefix it assumes; TFX writes no
# such prefix, so five characters are cut ("DataIngest" -> "ngest"). Only the logged name is
# affected.
_CUT = len("comp-")


@pytest.fixture(scope="module")
def host_root():
    repo = os.environ.get("MLOPS_HOST_REPO")
    if not repo or not Path(repo).is_dir() or not Path("/var/run/docker.sock").exists():
        pytest.fail("run through `make test-image`: it mounts the Docker socket and the repo at MLOPS_HOST_REPO")
    root = Path(repo) / ".build" / "kfp-local-test"
    shutil.rmtree(root, ignore_errors=True)
    (root / "root").mkdir(parents=True)
    yield root / "root"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def compiled(host_root):
    cfg = load_config(PENGUINS_CONFIG)
    cfg = cfg.replace(
        kubeflow=dataclasses.replace(cfg.kubeflow, image=os.environ.get("MLOPS_IMAGE", "mlops-pipelines:latest")),
        push=dataclasses.replace(cfg.push, destination=str(host_root / "models")),
    )
    path = compile_kubeflow(cfg, str(host_root / "spec.yaml"), pipeline_root=str(host_root))
    return cfg, Path(path)


def _run(spec_path: Path, host_root: Path, capsys, **arguments):
    """Runs the compiled file as compiled; returns ({logged task name: status}, error or None, log)."""
    from kfp import components, local

    local.init(runner=local.DockerRunner(user=f"{os.getuid()}:{os.getgid()}"), pipeline_root=str(host_root), raise_on_error=True)
    pipeline = components.load_component_from_file(str(spec_path))
    error = None
    try:
        pipeline(**arguments)
    except Exception as exc:  # noqa: BLE001 - the caller asserts on it
        error = exc
    out = capsys.readouterr()
    log = _ANSI.sub("", out.out + out.err)
    return dict(_STATUS.findall(log)), error, log


def _task_names(spec_path: Path) -> set[str]:
    return {name[_CUT:] for name in load_spec(spec_path.read_text())["root"]["dag"]["tasks"]}


def _newest_report(host_root: Path) -> dict:
    reports = sorted((host_root).rglob("metrics.json"), key=lambda p: p.stat().st_mtime)
    reports = [p for p in reports if "EvaluationReport" in str(p) or "ationReport" in str(p)]
    assert reports, "no EvaluationReport output under the pipeline root"
    return json.loads(reports[-1].read_text())


def test_every_task_succeeds_and_a_version_is_pushed(compiled, host_root, capsys):
    cfg, spec_path = compiled
    statuses, error, log = _run(spec_path, host_root, capsys)
    assert error is None, f"{error}\n{log[-4000:]}"
    assert set(statuses) == _task_names(spec_path), statuses
    assert set(statuses.values()) == {"SUCCESS"}, statuses
    dest = host_root / "models"
    assert push_logic.complete_versions(str(dest), "penguins") == [1]
    manifest = json.loads((dest / "penguins" / "1" / "manifest.json").read_text())
    assert manifest["blessed"] and manifest["examples_uri"].startswith(str(host_root))
    assert (dest / "penguins" / "1" / "saved_model" / "saved_model.pb").is_file()
    report = _newest_report(host_root)
    assert report["baseline"].startswith("none: no blessed version"), report["baseline"]
    assert report["diffs"] == {}


def test_second_run_evaluates_against_the_pushed_version(compiled, host_root, capsys):
    cfg, spec_path = compiled
    if not push_logic.complete_versions(str(host_root / "models"), "penguins"):
        pytest.fail("needs the first run's pushed version (run the whole module)")
    statuses, error, log = _run(spec_path, host_root, capsys)
    assert error is None, f"{error}\n{log[-4000:]}"
    assert set(statuses.values()) == {"SUCCESS"} and set(statuses) == _task_names(spec_path), statuses
    report = _newest_report(host_root)
    assert report["baseline"].startswith("penguins version 1,"), report["baseline"]
    # TFMA computed the change against the baseline for the threshold's metric.
    assert "sparse_categorical_accuracy" in report["diffs"], report


def test_corrupted_data_uri_stops_at_the_gate_and_pushes_nothing(compiled, host_root, capsys, penguins_df):
    cfg, spec_path = compiled
    bad = host_root / "data" / "bad.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    frame = penguins_df.dropna().copy()
    frame["island"] = frame["island"].astype(object)
    frame.loc[frame.index[:5], "island"] = "Atlantis"
    frame.to_csv(bad, index=False)
    dest = host_root / "models"
    before = {v: push_logic.dir_fingerprint(dest / "penguins" / str(v)) for v in push_logic.complete_versions(str(dest), "penguins")}
    statuses, error, log = _run(spec_path, host_root, capsys, data_uri=str(bad))
    assert error is not None, statuses
    assert statuses.get("DataGate"[_CUT:]) == "FAILURE", statuses
    assert "Atlantis" in log and "island" in log
    for later in ("Transform", "Trainer", "VersionedPusher"):
        assert later[_CUT:] not in statuses, statuses
    after = {v: push_logic.dir_fingerprint(dest / "penguins" / str(v)) for v in push_logic.complete_versions(str(dest), "penguins")}
    assert after == before
