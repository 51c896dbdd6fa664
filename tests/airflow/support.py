"""Small helpers shared by the Airflow tests (fixtures live in conftest.py)."""

from __future__ import annotations

import copy
import socket
from typing import Any


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


FAKE_DOCKER = r'''#!/usr/bin/env python3
"""Stand-in for the `docker` CLI (tests only): records its argv and plays `mlops run`.

FAKE_DOCKER_MODE: succeeded (exit 0, run.json with a pushed model), gate_failed (exit 3),
crash (exit 1, no run.json). FAKE_DOCKER_LOG: file that receives one JSON argv per call.
"""
import json, os, sys
from pathlib import Path

argv = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as fh:
    fh.write(json.dumps(argv) + "\n")
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
