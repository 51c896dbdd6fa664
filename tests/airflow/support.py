"""Small helpers shared by the Airflow tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import copy
import socket
from pathlib import Path
from typing import Any, Iterator


_PARAM_DEFAULTS: dict[str, dict[str, Any]] = {}


def run_dag(dag, conf: dict[str, Any]):
    """Runs ``dag.test(run_conf=conf)`` in-process; returns (dag_run, {task_id: state}).

    In-process runs write each run's conf into the shared task param objects, so a key left
    out would silently keep the previous test's value: every param is passed, the ones not
    given at their DAG-file defaults (captured before the first run).
    """
    defaults = _PARAM_DEFAULTS.setdefault(dag.dag_id, copy.deepcopy(dict(dag.params.dump())))
    unknown = set(conf) - set(defaults)
    assert not unknown, f"not params of {dag.dag_id}: {unknown}"
    dr = dag.test(run_conf={**defaults, **conf})
    return dr, {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def xcom(dag_run, task_id: str, key: str = "return_value"):
    """The XCom value a task of a finished dag.test() run pushed (None if it pushed none)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key=key)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


# ------------------------------------------------------------------------------ browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
#: Screenshots the browser tests keep as evidence.
RESULTS = Path(__file__).resolve().parents[2] / "test-results"


@contextlib.contextmanager
def chromium_page(failure_screenshot: str, timeout_ms: int) -> Iterator[Any]:
    """A Playwright page in Debian's Chromium; a failure inside leaves ``RESULTS/failure_screenshot``.

    ``playwright install`` cannot download browsers here, so the system Chromium is driven.
    """
    import pytest
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run infra/scripts/setup-airflow.sh (installs Debian's chromium)")
    RESULTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(timeout_ms)
        try:
            yield page
        except Exception:
            page.screenshot(path=str(RESULTS / failure_screenshot), full_page=True)
            raise
        finally:
            browser.close()


FAKE_DOCKER = r'''#!/usr/bin/env python3
"""Stand-in for the `docker` CLI (tests only): records its argv and plays `mlops run`.

FAKE_DOCKER_MODE: succeeded (exit 0, run.json with a pushed model), gate_failed (exit 3),
crash (exit 1, no run.json), hang (runs until `docker kill <name>` kills it, like a container).
FAKE_DOCKER_LOG: file that receives one JSON argv per call.
"""
import json, os, signal, sys, time
from pathlib import Path

argv = sys.argv[1:]
log = os.environ["FAKE_DOCKER_LOG"]
with open(log, "a") as fh:
    fh.write(json.dumps(argv) + "\n")
if argv[:1] == ["kill"]:
    pidfile = Path(f"{log}.{argv[-1]}.pid")
    if not pidfile.exists():
        print(f"Error response from daemon: No such container: {argv[-1]}", file=sys.stderr)
        sys.exit(1)
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    pidfile.unlink()
    sys.exit(0)
if argv[:1] == ["run"] and os.environ.get("FAKE_DOCKER_MODE") == "hang":
    Path(f"{log}.{argv[argv.index('--name') + 1]}.pid").write_text(str(os.getpid()))
    print("Trainer ... running", flush=True)
    time.sleep(600)
    sys.exit(0)
if argv[:1] != ["run"] or "mlops" not in argv:
    sys.exit(0)
mode = os.environ.get("FAKE_DOCKER_MODE", "succeeded")
repo = Path(argv[argv.index("-v") + 1].split(":")[0])
out = repo / argv[argv.index("--output-dir") + 1]
out.mkdir(parents=True, exist_ok=True)
print("ExampleGen ... done")
if mode == "succeeded":
    (out / "reports").mkdir(exist_ok=True)
    (out / "reports" / "evaluation.html").write_text("<html>eval</html>")
    run = {"status": "succeeded", "reason": None, "gate": {"failures": []},
           "pushed": {"version": 3, "path": "runs/models/penguins/3"},
           "metrics": {"sparse_categorical_accuracy": 0.97, "loss": 0.11},
           "reports": {"evaluation": str(out.relative_to(repo) / "reports" / "evaluation.html")},
           "components": {"Trainer": {"seconds": 5.2, "state": "executed"}}}
    (out / "run.json").write_text(json.dumps(run))
    sys.exit(0)
if mode == "gate_failed":
    run = {"status": "gate_failed", "reason": None,
           "gate": {"failures": [{"column": "flipper_length_mm", "check": "out_of_range", "source": "tfdv", "examples": [9999.0]}]},
           "pushed": None, "metrics": {}, "reports": {}, "components": {}}
    (out / "run.json").write_text(json.dumps(run))
    print("Traceback noise that is not the reason", file=sys.stderr)
    print("", file=sys.stderr)
    print("The data gate stopped the run: column 'flipper_length_mm' is out of range", file=sys.stderr)
    print("(e.g. 9999.0). Nothing was trained or pushed.", file=sys.stderr)
    sys.exit(3)
print("something broke", file=sys.stderr)
sys.exit(1)
'''


# ------------------------------------------------------------------------------ remote runners

GOLDEN_SPEC = "tests/golden/penguins_pipeline.yaml"


def golden_spec_path():
    """The real compiled spec (``make golden`` / ``make compile`` output), as the runners upload it."""
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / GOLDEN_SPEC


def load_spec(path) -> dict[str, Any]:
    import yaml

    return next(d for d in yaml.safe_load_all(open(path)) if d)


def mutated_spec(tmp_path, change) -> str:
    """A copy of the real compiled spec with ``change(spec)`` applied (rejection cases only)."""
    import yaml

    spec = load_spec(golden_spec_path())
    change(spec)
    out = tmp_path / "mutated_pipeline.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(out)


def config_with(tmp_path, pipeline_config: str, package: str, **sections: dict[str, Any]) -> str:
    """The real pipeline config, with ``kubeflow.package_path`` = ``package`` and extra sections merged."""
    import yaml

    from mlops_airflow.settings import resolve_repo_path

    cfg = yaml.safe_load(resolve_repo_path(pipeline_config).read_text())
    cfg.setdefault("kubeflow", {})["package_path"] = str(package)
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    cfg["validation"]["expectation_suite"] = str(resolve_repo_path(cfg["validation"]["expectation_suite"]))
    path = tmp_path / "penguins-remote.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def remote_request(config: str, data_uri: str, run_id: str = "manual__2026-01-01T00:00:00+00:00"):
    """The RunRequest of a ``training_pipeline`` plan, as ``submit_pipeline`` builds it."""
    from mlops_airflow.runners import RunRequest

    return RunRequest.from_plan({"config": config, "run_id": run_id, "data_uri": data_uri, "dataset": "penguins"})


def attempt_lost_while_running(runner, request, server) -> BaseException:
    """Runs ``runner.run(request)`` in a thread while the stand-in ``server`` holds the run running,
    and SIGKILLs the client process once it runs (the worker was lost); returns what the attempt raised."""
    import os
    import signal
    import threading

    errors: list[BaseException] = []
    server.hold_running = True

    def attempt() -> None:
        try:
            runner.run(request)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=attempt)
    t.start()
    assert server.wait_until_running()
    (pid,) = remote_client_pids()
    os.kill(pid, signal.SIGKILL)
    t.join(30)
    assert errors, "the attempt did not fail when its client was killed"
    return errors[0]


def run_killed_once_running(runner, request, server) -> None:
    """Runs ``runner.run(request)`` while ``server`` holds the run running, and SIGTERMs this process
    (Airflow's kill of the task) once it runs: the run must raise ``TaskKilled`` and leave no client
    process behind."""
    import os
    import signal
    import threading

    import pytest

    from mlops_airflow.runners.interrupt import TaskKilled

    def kill_when_running() -> None:
        if server.wait_until_running():
            os.kill(os.getpid(), signal.SIGTERM)

    server.hold_running = True
    threading.Thread(target=kill_when_running, daemon=True).start()
    with pytest.raises(TaskKilled):
        runner.run(request)
    assert remote_client_pids() == []


def remote_client_pids() -> list[int]:
    """Pids of this process's ``python -m mlops_airflow.runners.remote_client`` children."""
    import os
    from pathlib import Path

    me = os.getpid()
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and b"mlops_airflow.runners.remote_client" in cmd:
            out.append(int(d.name))
    return out


# ------------------------------------------------------------------------------ cache parameters


def sha256_file(path) -> str:
    import hashlib
    from pathlib import Path

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def push_version(destination: str, model: str, version: int, complete: bool = True, **manifest: Any) -> None:
    """Writes a pushed version's layout (``<destination>/<model>/<version>/``, pipelines/push_layout.py)
    with a stand-in SavedModel file; ``complete=False`` leaves out the manifest (a crashed push)."""
    import json

    from components.common import storage

    base = storage.join(destination, model, str(version))
    storage.write_bytes(storage.join(base, "saved_model", "saved_model.pb"), f"model {version}".encode())
    if complete:
        body = {"model_name": model, "version": version, "blessed": True, **manifest}
        storage.write_bytes(storage.join(base, "manifest.json"), json.dumps(body).encode())
