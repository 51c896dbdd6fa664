"""Submitting the training pipeline: local (docker), Kubeflow Pipelines, Vertex AI Pipelines.

Every runner returns a :class:`RunOutcome`. A run that did not succeed raises
:class:`lib.alerts.AlertingFailure` from :func:`raise_for_outcome`, so the task fails and the
notifiers receive the pipeline's own reason (failing gate columns, the KFP error message...).

This module holds what the runners share; it imports neither Airflow nor the cloud clients:

* ``local``: ``mlops run`` in the project image (:func:`run_local`);
* the compiled spec (:func:`load_pipeline_spec`, :func:`pick_parameters`);
* ``kubeflow`` / ``vertex``: the real clients (``kfp.Client``, ``aiplatform.PipelineJob``) run
  in their own venv, ``.venv-pipeline-clients`` (infra/airflow/pipeline-clients.txt says why),
  as ``python -m lib.remote_client`` (:func:`run_remote`). The task sends it one JSON request on
  stdin and reads events back; SIGTERM or an exception in the task makes the client cancel the
  remote run. The per-backend code is in :mod:`lib.kubeflow_runner` and :mod:`lib.vertex_runner`;
  the retry/backoff of transient API errors (:func:`call_with_retry`) is here.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import yaml

from lib import DAGS_DIR, REPO_ROOT
from pipelines.exit_codes import run_status

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "mlops-pipelines:latest"
PASS_THROUGH_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "STORAGE_EMULATOR_HOST",
    # The worker's MLflow server wins over the config's tracking.uri (pipelines/tracking).
    "MLFLOW_TRACKING_URI",
)


@dataclass
class RunOutcome:
    """What a runner reports, whatever ran the pipeline.

    Attributes:
        runner: ``local``, ``kubeflow``, ``vertex`` or ``dry-run``.
        status: ``succeeded``, ``gate_failed``, ``not_blessed``, ``failed`` or ``skipped``.
        reason: One human paragraph when not succeeded.
        run_id: Remote run id (KFP/Vertex) or the local output dir.
        links: Name -> URL (remote run UI, reports as file:// URLs).
        pushed: ``{"version": int, "path": str}`` when a model was pushed.
        metrics: Key metrics from ``run.json``.
        reports: Report name -> path.
        gate_failures: ``run.json`` ``gate.failures`` (column, check, source, examples).
        components: Per-component seconds/state from ``run.json``.
        output_dir: Local output directory (local runner).
        exit_code: Process exit code (local runner).
        tracking: ``run.json``'s ``tracking`` section (local runner): MLflow run, registry outcome.
    """

    runner: str
    status: str
    reason: str | None = None
    run_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    pushed: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    components: dict[str, Any] = field(default_factory=dict)
    output_dir: str | None = None
    exit_code: int | None = None
    # run.json's MLflow section (pipelines/tracking): run and registered version, or why not.
    tracking: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunOutcome":
        known = {f for f in cls.__dataclass_fields__}  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in d.items() if k in known})


class RunnerError(RuntimeError):
    """The runner itself failed (bad configuration, API error) before a run outcome existed."""


# --------------------------------------------------------------------------------------------
# local: `mlops run` in the project image
# --------------------------------------------------------------------------------------------


def docker_command(
    *,
    image: str,
    config_rel: str,
    output_rel: str,
    data_uri: str | None = None,
    repo_root: Path = REPO_ROOT,
    environ: Mapping[str, str] | None = None,
    docker: str = "docker",
    name: str | None = None,
) -> list[str]:
    """The ``docker run`` command line of the project image's ``mlops run`` (the host contract).

    A config or local data file outside the repository is mounted read-only at the same path
    (relative paths are relative to the repository, which is the container's working dir).
    """
    environ = os.environ if environ is None else environ
    # As the Airflow worker's user, never root: what the run writes under the repo is the worker's.
    cmd = [docker, "run", "--rm", "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}",
           "-v", f"{repo_root}:/src", "-w", "/src", "-e", "HOME=/tmp"]
    if name:
        cmd += ["--name", name]
    for var in PASS_THROUGH_ENV:
        if environ.get(var):
            cmd += ["-e", var]  # value taken from the docker client's environment, not the argv
    mounted: set[Path] = set()
    for local in (config_rel, data_uri):
        if not local or "://" in local or not Path(local).is_absolute():
            continue
        parent = Path(local).resolve().parent
        try:
            parent.relative_to(Path(repo_root).resolve())
        except ValueError:
            if parent not in mounted:
                cmd += ["-v", f"{parent}:{parent}:ro"]
                mounted.add(parent)
    cmd += [image, "mlops", "run", "--config", config_rel, "--output-dir", output_rel]
    if data_uri:
        cmd += ["--data-uri", data_uri]
    return cmd


def image_name() -> str:
    return os.environ.get("MLOPS_IMAGE") or DEFAULT_IMAGE


def run_local(
    *,
    config_rel: str,
    output_rel: str,
    data_uri: str | None = None,
    image: str | None = None,
    repo_root: Path = REPO_ROOT,
    timeout_s: float | None = None,
    docker: str = "docker",
    container_name: str | None = None,
) -> RunOutcome:
    """Runs the pipeline in the project image and reads its ``run.json``.

    Output (stdout and stderr) is streamed to the task log line by line; the last stderr
    paragraph becomes the reason on failure. The container always has a name, so that a timeout,
    a SIGTERM of the task or any exception while waiting stops the container itself
    (``docker kill``), not only the ``docker run`` client process.
    """
    name = container_name or f"mlops-run-{uuid.uuid4().hex[:12]}"
    cmd = docker_command(
        image=image or image_name(),
        config_rel=config_rel,
        output_rel=output_rel,
        data_uri=data_uri,
        repo_root=repo_root,
        docker=docker,
        name=name,
    )
    out_dir = repo_root / output_rel
    out_dir.mkdir(parents=True, exist_ok=True)
    # A task retry reuses the name: a container an earlier try left behind (its worker died
    # before it could stop it) would block `docker run --name`, and must not keep writing there.
    subprocess.run([docker, "rm", "-f", name], capture_output=True)
    log.info("local runner: %s", " ".join(cmd))
    tail: collections.deque[str] = collections.deque(maxlen=60)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    except FileNotFoundError as exc:
        raise RunnerError(f"local runner: `{docker}` not found; install Docker or pick another runner") from exc

    def pump(stream: Any, keep: bool) -> None:
        for line in stream:
            log.info("[mlops] %s", line.rstrip())
            if keep:
                tail.append(line.rstrip("\n"))

    pumps = [
        threading.Thread(target=pump, args=(proc.stdout, False), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, True), daemon=True),
    ]
    for t in pumps:
        t.start()
    try:
        with sigterm_raises():
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.error("local runner: timed out after %.0f s; stopping container %s", timeout_s or 0, name)
                code = _stop_container(proc, docker, name)
                tail.extend(["", f"local runner: timed out after {timeout_s:.0f} s; container {name} was stopped"])
    except BaseException:
        log.error("local runner: interrupted; stopping container %s", name)
        _stop_container(proc, docker, name)
        raise
    finally:
        for t in pumps:
            t.join(timeout=5)
    return outcome_from_run_dir(out_dir, code, list(tail), runner="local")


def _stop_container(proc: subprocess.Popen, docker: str, name: str, grace_s: float = 30.0) -> int:
    """``docker kill`` the container (its ``docker run --rm`` client then exits); returns the exit code."""
    res = subprocess.run([docker, "kill", name], capture_output=True, text=True)
    if res.returncode != 0:
        log.warning("docker kill %s: %s", name, (res.stderr or res.stdout).strip()[:300])
    try:
        return proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
    finally:
        subprocess.run([docker, "rm", "-f", name], capture_output=True)


def outcome_from_run_dir(out_dir: Path, exit_code: int, stderr_tail: list[str], runner: str = "local") -> RunOutcome:
    """Reads ``run.json`` (if any) and combines it with the exit code."""
    summary: dict[str, Any] = {}
    run_json = out_dir / "run.json"
    if run_json.is_file():
        try:
            summary = json.loads(run_json.read_text())
        except ValueError:
            log.warning("%s is not valid JSON", run_json)
    status = summary.get("status") or run_status(exit_code)
    if exit_code != 0 and status == "succeeded":  # the process is the last word
        status = run_status(exit_code)
    reason = summary.get("reason")
    if status != "succeeded" and not reason:
        reason = last_paragraph(stderr_tail) or f"mlops run exited with code {exit_code}"
    reports = {str(k): str(v) for k, v in (summary.get("reports") or {}).items()}
    # MLflow first: alert channels that show only a few links (Slack: 10) keep them.
    links = {**tracking_links(summary.get("tracking")), **{f"report: {k}": _file_url(out_dir, v) for k, v in reports.items()}}
    if (out_dir / "reports" / "index.html").is_file():
        links["run index"] = (out_dir / "reports" / "index.html").resolve().as_uri()
    return RunOutcome(
        runner=runner,
        status=status,
        reason=reason,
        run_id=str(out_dir),
        links=links,
        pushed=summary.get("pushed"),
        metrics={k: float(v) for k, v in (summary.get("metrics") or {}).items() if _is_number(v)},
        reports=reports,
        gate_failures=list((summary.get("gate") or {}).get("failures") or []),
        components=dict(summary.get("components") or {}),
        output_dir=str(out_dir),
        exit_code=exit_code,
        tracking=dict(summary.get("tracking") or {}),
    )


def tracking_links(tracking: Mapping[str, Any] | None) -> dict[str, str]:
    """The MLflow run and the registered model version ``run.json``'s ``tracking`` section links
    (pipelines/tracking), or an empty dict."""
    tracking = tracking or {}
    links = {}
    if tracking.get("run_url"):
        links["MLflow run"] = str(tracking["run_url"])
    registry = tracking.get("registry") or {}
    if registry.get("url"):
        links[f"MLflow model {registry.get('model')} v{registry.get('version')} (@{registry.get('alias')})"] = str(registry["url"])
    return links


def last_paragraph(lines: list[str]) -> str:
    """The last block of non-empty lines (the CLI's human explanation on failure)."""
    block: list[str] = []
    for line in reversed(lines):
        if line.strip():
            block.append(line.strip())
        elif block:
            break
    return "\n".join(reversed(block))


# --------------------------------------------------------------------------------------------
# compiled pipeline spec (shared by kubeflow and vertex)
# --------------------------------------------------------------------------------------------


def default_package_path(config_rel: str) -> str:
    """Where ``make compile`` writes the spec: ``build/<config stem>_pipeline.yaml``."""
    return f"build/{Path(config_rel).stem}_pipeline.yaml"


def compile_pipeline(config_rel: str, package_rel: str, image: str | None = None, repo_root: Path = REPO_ROOT) -> Path:
    """Runs ``mlops compile`` in the project image (used when no compiled spec exists yet)."""
    (repo_root / package_rel).parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "docker", "run", "--rm", "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}",
        "-v", f"{repo_root}:/src", "-w", "/src", "-e", "HOME=/tmp",
        image or image_name(), "mlops", "compile", "--config", config_rel, "--output", package_rel,
    ]  # fmt: skip
    log.info("compiling: %s", " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RunnerError(f"mlops compile failed ({res.returncode}): {last_paragraph(res.stderr.splitlines())}")
    return repo_root / package_rel


def load_pipeline_spec(path: str | Path) -> dict[str, Any]:
    """The PipelineSpec (first YAML document; KFP may append a platform spec)."""
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    if not docs or not isinstance(docs[0], dict):
        raise RunnerError(f"{path}: not a compiled pipeline spec")
    return docs[0]


def declared_parameters(spec: Mapping[str, Any]) -> set[str]:
    """Names of the pipeline's runtime parameters (``root.inputDefinitions.parameters``)."""
    params = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    return set(params)


def pick_parameters(spec: Mapping[str, Any], candidates: Mapping[str, Any]) -> dict[str, Any]:
    """Keeps only the candidates that the compiled pipeline declares (others would be rejected)."""
    declared = declared_parameters(spec)
    return {k: v for k, v in candidates.items() if k in declared and v is not None}


def _log_dropped(offered: Mapping[str, Any], sent: Mapping[str, Any]) -> None:
    dropped = sorted(k for k, v in offered.items() if v is not None and k not in sent)
    if dropped:
        log.info(
            "not sent (the compiled pipeline declares no such runtime parameter; the values "
            "compiled into the spec apply): %s",
            ", ".join(dropped),
        )


def spec_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# kubeflow / vertex: the real clients in their own venv
# --------------------------------------------------------------------------------------------

CLIENTS_PYTHON_ENV = "MLOPS_PIPELINE_CLIENTS_PYTHON"
CLIENTS_VENV = ".venv-pipeline-clients"
EVENT_PREFIX = "@@mlops-event "


@dataclass
class RetryPolicy:
    """Backoff for transient API errors (HTTP 5xx/429, connection errors).

    Attributes:
        initial_s: First wait; doubled after each failure, up to ``max_s`` (with up to 10 % jitter).
        max_s: Longest wait between two tries.
        budget_s: Give up when the same call has failed for this long.
    """

    initial_s: float = 5.0
    max_s: float = 60.0
    budget_s: float = 900.0

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> "RetryPolicy":
        d = d or {}
        return cls(
            initial_s=float(d.get("initial_s", cls.initial_s)),
            max_s=float(d.get("max_s", cls.max_s)),
            budget_s=float(d.get("budget_s", cls.budget_s)),
        )


def call_with_retry(
    fn: Callable[[], Any],
    *,
    what: str,
    transient: Callable[[BaseException], str | None],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Calls ``fn`` until it returns, retrying while ``transient(exc)`` names the error.

    ``transient`` returns a short description for a retryable error and None for any other,
    which is raised at once. After ``policy.budget_s`` of failures a :class:`RunnerError` says
    what kept failing.
    """
    start = time.monotonic()
    delay = policy.initial_s
    tries = 0
    while True:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            why = transient(exc)
            if why is None:
                raise
            tries += 1
            waited = time.monotonic() - start
            if waited + delay > policy.budget_s:
                raise RunnerError(f"{what}: still failing after {tries} tries in {waited:.0f} s: {why}") from exc
            pause = delay * (1 + random.random() * 0.1)
            log.warning("%s: transient error (%s); try %d failed, retrying in %.1f s", what, why, tries, pause)
            sleep(pause)
            delay = min(delay * 2, policy.max_s)


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


class TaskKilled(Exception):
    """The task process received SIGTERM (Airflow's kill); raised where the task was waiting."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`TaskKilled` in the waiting code (once).

    Airflow 3's task runner answers SIGTERM only with ``task.on_kill()`` (a no-op for a
    ``@task``) and kills the process later, so the wait would never learn it should stop its
    container or remote run. The handler calls the previous one first (Airflow's stays in
    charge) and restores it on exit. Outside the main thread (where signals cannot be handled)
    it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    fired = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal fired
        if callable(previous):
            previous(signum, frame)
        if not fired:
            fired = True
            raise TaskKilled("the task received SIGTERM")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_remote(request: Mapping[str, Any], *, python: str | None = None, cancel_grace_s: float = 120.0) -> RunOutcome:
    """Runs ``python -m lib.remote_client`` in the clients' venv with ``request``; returns its outcome.

    The request (JSON on stdin, so tokens never show in a process list) names the runner and all
    it needs. The client's log lines go to the task log; its events (``run``: id and link of
    the created or re-attached run; ``outcome``; ``error``) come back on stdout. If the wait is
    interrupted (SIGTERM, ``execution_timeout``, any exception) the client gets SIGTERM, cancels
    the remote run and exits; after ``cancel_grace_s`` it is killed.

    Raises:
        RunnerError: the client reported an error (API rejected the spec, bad settings...) or died.
    """
    py = python or clients_python()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(DAGS_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"
    runner = str(request.get("runner"))
    cmd = [py, "-m", "lib.remote_client"]
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


def remote_parameters(spec: Mapping[str, Any], data_uri: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The runtime parameters for a remote run: the validated ``data_uri`` plus ``extra``.

    The compiled spec must declare ``data_uri`` (``make compile`` does): a remote run has to
    train on exactly the data the DAG validated, and without the parameter it would read
    whatever URI was compiled in. Extra values the spec does not declare are logged and dropped
    (KFP and Vertex reject undeclared parameters).
    """
    declared = declared_parameters(spec)
    if "data_uri" not in declared:
        raise RunnerError(
            "the compiled pipeline spec declares no runtime parameter 'data_uri', so the run could not be "
            "told to train on the data this DAG validated; recompile it (make compile)"
        )
    offered = {**dict(extra or {}), "data_uri": data_uri}
    sent = pick_parameters(spec, offered)
    _log_dropped(offered, sent)
    return sent


# --------------------------------------------------------------------------------------------


def outcome_alert(outcome: RunOutcome, dataset: str, data_uri: str | None) -> dict[str, Any]:
    """``build_alert`` keyword arguments for a run that did not succeed."""
    kind = {"gate_failed": "data_gate_failed", "not_blessed": "not_blessed"}.get(outcome.status, "pipeline_failed")
    failures = outcome.gate_failures or []
    if kind == "data_gate_failed" and failures and all(
        isinstance(f, Mapping) and f.get("source") == "drift_check" for f in failures
    ):
        kind = "drift_hold"
    facts: dict[str, Any] = {}
    if outcome.exit_code not in (None, 0):
        facts["Exit code"] = outcome.exit_code
    if outcome.metrics:
        facts["Metrics"] = outcome.metrics
    return {
        "kind": kind,
        "dataset": dataset,
        "failures": outcome.gate_failures,
        "reason": outcome.reason,
        "data_uri": data_uri,
        "runner": outcome.runner,
        "facts": facts,
        "links": dict(outcome.links),
    }


def raise_for_outcome(outcome: RunOutcome, dataset: str, data_uri: str | None) -> None:
    """Fails the task (with the right alert) unless the run succeeded."""
    if outcome.status in ("succeeded", "skipped"):
        return
    from lib.alerts import AlertingFailure

    raise AlertingFailure(
        f"{outcome.runner} run {outcome.status}: {outcome.reason or ''}".strip(),
        outcome_alert(outcome, dataset, data_uri),
    )


def _file_url(base: Path, path: str) -> str:
    p = Path(path)
    if "://" in path:
        return path
    if not p.is_absolute():
        # run.json paths are relative to the repo (the container's /src) or to the run dir
        cand = REPO_ROOT / p
        p = cand if cand.exists() or not (base / p).exists() else base / p
    return p.resolve().as_uri()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
