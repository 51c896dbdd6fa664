"""Small helpers shared by the Airflow tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from typing import Any


def run_dag(dag, conf: dict[str, Any]):
    """Runs ``dag.test(run_conf=conf)`` in-process; returns (dag_run, {task_id: state})."""
    dr = dag.test(run_conf=conf)
    return dr, {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
