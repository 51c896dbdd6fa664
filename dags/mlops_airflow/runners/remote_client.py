"""``python -m mlops_airflow.runners.remote_client``: submit a compiled pipeline with the real client and wait.

Runs in the KFP / Vertex AI clients' venv (``.venv-pipeline-clients``), started by
:func:`mlops_airflow.runners.remote.run_remote` from the Airflow task; it never imports
Airflow. Its protocol with the task (request on stdin, events on stdout, exit codes) is
described and named in :mod:`mlops_airflow.runners.remote`; nothing imports this module, it is
only run.

The client side of each backend is the runner's ``backend`` (a
:class:`~mlops_airflow.runners.remote.Backend`), in the runner's own module
(:mod:`mlops_airflow.runners.kubeflow`, :mod:`mlops_airflow.runners.vertex`). Behaviour common to
both backends (:func:`drive`):

* the run is found or created under a deterministic name (KFP display name / Vertex job id from
  the Airflow run id), so an Airflow retry re-attaches to the run it started (a run that ended
  failed or cancelled is not re-attached: a new one is started);
* every API call is retried with backoff on transient errors (HTTP 5xx/429, connection errors);
* SIGTERM/SIGINT (the task was killed or timed out) cancels the remote run, then exits
  :attr:`ClientExit.CANCELLED`;
* past ``timeout_s`` the run is cancelled and reported as failed;
* if the Airflow task process disappears (killed -9), the client stops waiting and leaves the
  run alone, for a retry to re-attach (:attr:`ClientExit.TASK_GONE`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable, Mapping

from mlops_airflow.runners.outcome import RunnerError, RunOutcome
from mlops_airflow.runners.remote import EVENT_PREFIX, Backend, ClientExit, RemoteRun
from mlops_airflow.runners.retry import RetryPolicy, call_with_retry

log = logging.getLogger("mlops.remote")


class Cancelled(BaseException):
    """SIGTERM/SIGINT: cancel the remote run and stop (BaseException so no retry loop swallows it)."""


def drive(
    backend: Backend,
    req: Mapping[str, Any],
    emit: Callable[[dict[str, Any]], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Finds or starts the run, then polls it to its end (see the module docstring)."""
    policy = RetryPolicy.from_mapping(req.get("retry"))
    poll_s = float(req.get("poll_s", 15))
    timeout_s = float(req.get("timeout_s", 6 * 3600))
    parent = os.getppid()
    run: RemoteRun | None = None
    try:
        run = backend.start()
        emit({"event": "run", "run_id": run.run_id, "url": run.url, "attached": run.attached, "name": run.name})
        log.info("%s %s %s: %s", backend.label, "re-attached to" if run.attached else "started", run.run_id, run.url)
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            current = run
            st = call_with_retry(
                lambda: backend.status(current),
                what=f"{backend.label} {run.run_id}: get",
                transient=backend.transient,
                policy=policy,
                sleep=sleep,
            )
            if st.state != last:
                log.info("%s %s: %s", backend.label, run.run_id, st.state)
                last = st.state
            if st.done:
                reason = None
                if not st.ok:
                    reason = f"{backend.label} {run.run_id} {st.state}: {st.message or 'no error message'} ({run.url})"
                return RunOutcome(
                    runner=backend.runner,
                    status="succeeded" if st.ok else "failed",
                    reason=reason,
                    run_id=run.run_id,
                    links={f"{backend.label}": run.url},
                )
            if os.getppid() != parent:
                log.warning("the Airflow task is gone; leaving %s running for a retry to re-attach", run.run_id)
                raise SystemExit(ClientExit.TASK_GONE)
            if time.monotonic() > deadline:
                log.error("%s %s still %s after %.0f s; cancelling it", backend.label, run.run_id, st.state, timeout_s)
                _cancel(backend, run, policy, sleep)
                return RunOutcome(
                    runner=backend.runner,
                    status="failed",
                    reason=(
                        f"{backend.label} {run.run_id} still {st.state} after {timeout_s:.0f} s; "
                        f"it was cancelled ({run.url})"
                    ),
                    run_id=run.run_id,
                    links={f"{backend.label}": run.url},
                )
            sleep(poll_s)
    except Cancelled:
        log.warning("stop requested; cancelling the remote run")
        cancelled = _cancel(backend, run, policy, sleep)
        emit({"event": "cancelled", "run_id": cancelled})
        raise SystemExit(ClientExit.CANCELLED)


def _cancel(backend: Backend, run: RemoteRun | None, policy: RetryPolicy, sleep: Callable[[float], None]) -> str | None:
    # A short budget: Airflow kills the task a while after SIGTERM.
    short = RetryPolicy(initial_s=min(policy.initial_s, 2.0), max_s=min(policy.max_s, 10.0), budget_s=min(policy.budget_s, 60.0))
    try:
        cancelled = call_with_retry(
            lambda: backend.cancel(run), what=f"{backend.label}: cancel", transient=backend.transient, policy=short, sleep=sleep
        )
    except Exception as exc:  # noqa: BLE001 - report, never hide the stop
        log.error("could not cancel %s: %s", run.run_id if run else "the run", exc)
        return None
    if cancelled:
        log.warning("%s %s: cancel requested", backend.label, cancelled)
    else:
        log.warning("no active run to cancel")
    return cancelled


def make_backend(req: Mapping[str, Any]) -> Backend:
    """The client side of the request's runner (the registry's runner with a ``backend``)."""
    from mlops_airflow.runners import RUNNERS

    runner = req.get("runner")
    backend = getattr(RUNNERS.get(str(runner)), "backend", None)
    if backend is None:
        raise RunnerError(f"remote_client: unknown runner {runner!r}")
    return backend(req, RetryPolicy.from_mapping(req.get("retry")))


def main() -> int:
    """Reads the request on stdin, drives its backend and reports events; returns a :class:`ClientExit`."""
    events = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints go to the log
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    def emit(ev: dict[str, Any]) -> None:
        events.write(EVENT_PREFIX + json.dumps(ev) + "\n")

    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Cancelled()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        req = json.loads(sys.stdin.read())
        socket.setdefaulttimeout(float(req.get("request_timeout_s", 120)))
        backend = make_backend(req)
        outcome = drive(backend, req, emit)
        emit({"event": "outcome", "outcome": outcome.to_dict()})
        return ClientExit.OUTCOME
    except Cancelled:
        # Stopped before a backend existed: nothing was created.
        emit({"event": "cancelled", "run_id": None})
        return ClientExit.CANCELLED
    except RunnerError as exc:
        emit({"event": "error", "message": str(exc)})
        return ClientExit.ERROR
    except Exception as exc:  # noqa: BLE001 - every failure is reported as an event
        traceback.print_exc()
        emit({"event": "error", "message": f"{type(exc).__name__}: {exc}"})
        return ClientExit.ERROR


if __name__ == "__main__":
    sys.exit(main())
