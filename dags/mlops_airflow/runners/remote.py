"""The KFP / Vertex AI client process: its protocol with the task, and the task's side of it.

The real clients (``kfp.Client``, ``aiplatform.PipelineJob``) run in their own venv,
``.venv-pipeline-clients`` (infra/airflow/pipeline-clients.txt says why), as
``python -m mlops_airflow.runners.remote_client``. :func:`run_remote` starts it; SIGTERM or an
exception in the task makes the client cancel the remote run. Protocol:

* stdin: one JSON request (``runner``: ``kubeflow`` or ``vertex``; ``package``,
  ``parameters``, ``enable_caching``, ``pipeline_root``, ``poll_s``, ``timeout_s``, ``retry``,
  and the runner's own section, built by the runner's ``client_request``);
* stdout: event lines ``@@mlops-event {json}`` (:data:`EVENT_PREFIX`): ``run`` (id, url,
  attached), ``outcome`` (a :class:`~mlops_airflow.runners.outcome.RunOutcome` dict),
  ``cancelled``, ``error`` (message). Anything the libraries print goes to stderr, which is the
  task log;
* exit code: :class:`ClientExit`.

A runner's client side is a :class:`Backend` (its ``start``/``status``/``cancel`` give a
:class:`RemoteRun` and its :class:`RunStatus`).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Mapping, Protocol

from mlops_airflow import DAGS_DIR, REPO_ROOT
from mlops_airflow.runners.interface import RunRequest
from mlops_airflow.runners.interrupt import sigterm_raises
from mlops_airflow.runners.outcome import RunnerError, RunOutcome, last_paragraph
from mlops_airflow.runners.cache import CACHE_PARAMETERS, cache_parameters, check_cache_parameters
from mlops_airflow.runners.spec import (
    compiled_spec, declared_parameters, load_pipeline_spec, remote_parameters, warn_local_data,
)

log = logging.getLogger(__name__)

#: Marks an event line on the client's stdout; every other line is log.
EVENT_PREFIX = "@@mlops-event "


class ClientExit(IntEnum):
    """Exit codes of the client process: its own protocol with :func:`run_remote`, not ``mlops``'s.

    :func:`run_remote` reads the events, not these codes (it only
    quotes the code when no outcome came); they tell a person reading a process list or a log
    why the client stopped. The ``mlops`` commands' codes are :mod:`pipelines.exit_codes`.
    """

    #: An ``outcome`` event was sent (whatever the run's own status).
    OUTCOME = 0
    #: An ``error`` event was sent: bad request or settings, the API refused, a bug.
    ERROR = 2
    #: The Airflow task process is gone (killed -9): the remote run is left for a retry to re-attach.
    TASK_GONE = 3
    #: SIGTERM/SIGINT: the remote run was cancelled (128 + SIGTERM, as a shell reports it).
    CANCELLED = 128 + signal.SIGTERM


@dataclass
class RemoteRun:
    """A run a backend created or re-attached to: its id, UI link and deterministic name."""

    run_id: str
    url: str
    attached: bool
    name: str


@dataclass
class RunStatus:
    """One poll of a run: the backend's own state name, whether it ended and whether it succeeded."""

    state: str
    done: bool
    ok: bool
    message: str | None = None


class Backend(Protocol):
    """The client side of a remote runner, in the clients' venv (driven by ``remote_client.drive``)."""

    runner: str
    label: str

    def start(self) -> RemoteRun: ...

    def status(self, run: RemoteRun) -> RunStatus: ...

    def cancel(self, run: RemoteRun | None) -> str | None: ...

    def transient(self, exc: BaseException) -> str | None: ...


class RemoteRunner:
    """A runner whose client runs in the clients' venv: :meth:`client_request` (in the task) builds
    the request that its :attr:`backend` (in the client process) serves."""

    #: The config's ``runner`` value (``kubeflow``, ``vertex``).
    name: str
    #: The client side, constructed by the client process as ``backend(request, retry_policy)``.
    backend: type[Backend]

    def run(self, request: RunRequest) -> RunOutcome:
        """Sends :meth:`client_request` to the client process and waits for its outcome."""
        return run_remote(self.client_request(request))

    def client_request(self, request: RunRequest) -> dict[str, Any]:
        """The JSON request for the client process (settings checked here, before anything is sent)."""
        raise NotImplementedError

    def submission(
        self, request: RunRequest, extra_parameters: Mapping[str, Any], enable_caching: bool, caching_key: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The request keys every backend reads (runner, compiled spec, names, runtime parameters,
        caching choice), and the spec.

        The spec is compiled first when missing; the parameters are the validated ``data_uri``,
        the cache parameters computed now (:mod:`mlops_airflow.runners.cache`), and those of
        ``extra_parameters`` the spec declares.

        Raises:
            RunnerError: the spec declares no ``data_uri`` parameter, or (with ``enable_caching``)
                not both cache parameters; the data cannot be fingerprinted.
        """
        package = compiled_spec(request)
        spec = load_pipeline_spec(package)
        parameters = remote_parameters(spec, request.data_uri, dict(extra_parameters))
        declared = declared_parameters(spec)
        check_cache_parameters(declared, enable_caching, self.name, caching_key)
        if declared & set(CACHE_PARAMETERS):
            computed = {k: v for k, v in cache_parameters(request.pipeline, request.data_uri, spec).items() if k in declared}
            for name in sorted(set(computed) & set(extra_parameters)):
                log.warning("%s runner: the configured %s is not sent: it is computed for every run", self.name, name)
            parameters = {**parameters, **computed}
        warn_local_data(request.data_uri, self.name)
        name = request.pipeline.name
        common = {
            "runner": self.name,
            "package": str(package),
            "pipeline_name": name,
            "run_name": f"{name} {request.run_id}",
            "parameters": parameters,
            "enable_caching": bool(enable_caching),
        }
        return common, spec


CLIENTS_PYTHON_ENV = "MLOPS_PIPELINE_CLIENTS_PYTHON"
CLIENTS_VENV = ".venv-pipeline-clients"
CLIENT_MODULE = "mlops_airflow.runners.remote_client"


def clients_python() -> str:
    """The interpreter of the KFP / Vertex AI clients.

    ``$MLOPS_PIPELINE_CLIENTS_PYTHON`` (``self``: this interpreter, for a worker that has kfp /
    google-cloud-aiplatform installed itself), else ``.venv-pipeline-clients`` at the repository
    root or next to the DAGs folder.
    """
    explicit = os.environ.get(CLIENTS_PYTHON_ENV)
    if explicit:
        return sys.executable if explicit == "self" else explicit
    for root in (REPO_ROOT, DAGS_DIR):
        cand = root / CLIENTS_VENV / "bin" / "python"
        if cand.exists():
            return str(cand)
    raise RunnerError(
        f"the KFP / Vertex AI clients' venv {CLIENTS_VENV} is missing: run infra/scripts/setup-airflow.sh, "
        f"or set {CLIENTS_PYTHON_ENV} to a Python that has kfp and google-cloud-aiplatform (docs/airflow.md)"
    )


def run_remote(request: Mapping[str, Any], *, python: str | None = None, cancel_grace_s: float = 120.0) -> RunOutcome:
    """Runs ``python -m mlops_airflow.runners.remote_client`` in the clients' venv with ``request``.

    The request (JSON on stdin, so tokens never show in a process list) names the runner and all
    it needs. The client's log lines go to the task log; its events (``run``: id and link of
    the created or re-attached run; ``outcome``; ``error``) come back on stdout. If the wait is
    interrupted (SIGTERM, ``execution_timeout``, any exception) the client gets SIGTERM, cancels
    the remote run and exits; after ``cancel_grace_s`` it is killed.

    Returns:
        The outcome the client reported.

    Raises:
        RunnerError: the client reported an error (API rejected the spec, bad settings...) or died.
    """
    py = python or clients_python()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(DAGS_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"
    runner = str(request.get("runner"))
    cmd = [py, "-m", CLIENT_MODULE]
    log.info("%s runner: %s (request on stdin)", runner, " ".join(cmd))
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", env=env
        )
    except OSError as exc:
        raise RunnerError(f"{runner} runner: cannot start {py}: {exc}") from exc
    events: list[dict[str, Any]] = []
    tail: collections.deque[str] = collections.deque(maxlen=40)

    def read_events() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(EVENT_PREFIX):
                try:
                    ev = json.loads(line[len(EVENT_PREFIX) :])
                except ValueError:
                    log.warning("unreadable client event: %s", line.strip())
                    continue
                events.append(ev)
                if ev.get("event") == "run":
                    log.info(
                        "%s: %s run %s: %s", runner, "re-attached to" if ev.get("attached") else "started", ev.get("run_id"), ev.get("url")
                    )
            else:
                log.info("[%s] %s", runner, line.rstrip())

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.info("[%s] %s", runner, line.rstrip())
            tail.append(line.rstrip("\n"))

    readers = [threading.Thread(target=read_events, daemon=True), threading.Thread(target=read_log, daemon=True)]
    for t in readers:
        t.start()
    try:
        with sigterm_raises():
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(dict(request)))
            proc.stdin.close()
            code = proc.wait()
    except BaseException as exc:
        log.error("%s runner: interrupted (%s); asking the client to cancel the remote run", runner, type(exc).__name__)
        _stop_client(proc, cancel_grace_s)
        raise
    finally:
        for t in readers:
            t.join(timeout=10)
    for ev in reversed(events):
        if ev.get("event") == "outcome":
            return RunOutcome.from_dict(ev["outcome"])
        if ev.get("event") == "error":
            raise RunnerError(str(ev.get("message")))
    raise RunnerError(
        f"{runner} runner: the client exited with code {code} without an outcome: "
        f"{last_paragraph(list(tail)) or 'no output'}"
    )


def _stop_client(proc: subprocess.Popen, grace_s: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        log.error("the client did not stop within %.0f s; killing it (the remote run may still be running)", grace_s)
        proc.kill()
        proc.wait()
