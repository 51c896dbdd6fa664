"""Exit codes of every ``mlops`` command: the contract with the Airflow DAGs, CI and shell scripts.

One place for them (README "Exit codes" documents the same table). Plain Python, no imports, so the
Airflow side (``.venv-airflow``, no tfx) and every command can read it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a non-zero exit means; the last stderr lines then say it in one paragraph."""

    #: Done; for ``mlops run``, a blessed model was pushed (or nothing had to run).
    OK = 0
    #: Anything not listed below (a component failed, a remote run failed, a bug).
    OTHER = 1
    #: Usage or config error: nothing ran.
    USAGE = 2
    #: Stopped by the data gate (or held by the drift check with ``drift_check.fail_on_drift``).
    GATE = 3
    #: Trained and evaluated, but the model was not blessed: nothing was pushed.
    NOT_BLESSED = 4
    #: ``mlops drift``: the current data drifted from the baseline.
    DRIFT = 5


#: ``mlops schema`` without ``--update``: the data differs from the curated schema (nothing written).
#: Shares 3 with :attr:`ExitCode.GATE`: both mean "the data does not fit the contract".
SCHEMA_DIFFERS = ExitCode.GATE

#: The status a run outcome carries for each ``mlops run`` exit code (Airflow, the MLflow index).
RUN_STATUS: dict[int, str] = {
    ExitCode.OK: "succeeded",
    ExitCode.OTHER: "failed",
    ExitCode.USAGE: "failed",
    ExitCode.GATE: "gate_failed",
    ExitCode.NOT_BLESSED: "not_blessed",
}


def run_status(exit_code: int) -> str:
    """The outcome status of an ``mlops run`` exit code; ``failed`` for any code not in the contract."""
    return RUN_STATUS.get(exit_code, "failed")
