"""The ``local`` runner: ``mlops run`` in the project image on the worker (``docker run``).

Settings: env ``MLOPS_IMAGE`` (default ``mlops-pipelines:latest``), Variable
``mlops_local_timeout_s`` (default 4 h). The ``docker run`` command line is the host contract of
the project image (:func:`docker_command`); the outcome is the run's ``run.json`` and exit code
(:func:`mlops_airflow.runners.outcome.outcome_from_run_dir`).
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

from mlops_airflow import REPO_ROOT
from mlops_airflow.runners.interface import RunRequest
from mlops_airflow.runners.interrupt import sigterm_raises
from mlops_airflow.runners.outcome import RunnerError, RunOutcome, outcome_from_run_dir

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
#: Variable: how long a local run may take, in seconds.
TIMEOUT_VARIABLE = "mlops_local_timeout_s"
DEFAULT_TIMEOUT_S = 4 * 3600


class LocalRunner:
    """``mlops run`` in the project image, in a container named after the Airflow run."""

    name = "local"

    def run(self, request: RunRequest) -> RunOutcome:
        from mlops_airflow.connections import get_variable
        from mlops_airflow.settings import safe_name

        if not request.output_dir:
            raise RunnerError("local runner: the plan names no output_dir")
        # The config already names its data; pass --data-uri only for an override.
        return run_local(
            config_rel=request.config,
            output_rel=request.output_dir,
            data_uri=None if request.data_uri == request.pipeline.data.uri else request.data_uri,
            timeout_s=float(get_variable(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_S)),
            container_name=f"mlops-airflow-{safe_name(request.run_id, 60)}",
        )


def image_name() -> str:
    return os.environ.get("MLOPS_IMAGE") or DEFAULT_IMAGE


def _run_prefix(docker: str, repo_root: Path) -> list[str]:
    # As the Airflow worker's user, never root: what the run writes under the repo is the worker's.
    return [docker, "run", "--rm", "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}",
            "-v", f"{repo_root}:/src", "-w", "/src", "-e", "HOME=/tmp"]  # fmt: skip


def image_command(args: Sequence[str], *, image: str | None = None, repo_root: Path = REPO_ROOT, docker: str = "docker") -> list[str]:
    """``docker run`` of ``args`` in the project image, with the repository as its working dir."""
    return [*_run_prefix(docker, repo_root), image or image_name(), *args]


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
    cmd = _run_prefix(docker, repo_root)
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
