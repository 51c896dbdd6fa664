"""Fixtures for the Airflow tests (run with .venv-airflow/bin/pytest, one session).

Airflow reads its settings when first imported, so the environment is set here, at import
time, before any test module imports airflow: a throw-away AIRFLOW_HOME with a SQLite DB, the
repo's dags/ folder, examples off. Local servers (webhook receiver, SMTP sink, KFP stand-in)
bind 127.0.0.1 on free ports and are stopped by their fixtures.
"""

from __future__ import annotations

import contextlib
import csv
import email
import email.policy
import http.server
import io
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO_ROOT / "dags"
TEST_HOME = Path(tempfile.mkdtemp(prefix="airflow-test-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(TEST_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{TEST_HOME}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API__BASE_URL": "http://127.0.0.1:8080",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Runs land in the (gitignored) runs/ folder so the project image sees them under /src.
        "MLOPS_AIRFLOW_RUNS_DIR": "runs/airflow-test",
    }
)
for var in list(os.environ):
    # A developer's own alert settings must never receive test alerts.
    if var.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")):
        del os.environ[var]
for p in (str(DAGS_DIR), str(REPO_ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

CONFIG = os.environ.get("MLOPS_TEST_CONFIG", "pipelines/configs/penguins.yaml")


# ------------------------------------------------------------------------------------------ airflow


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB in the session's AIRFLOW_HOME."""
    res = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    shutil.rmtree(REPO_ROOT / os.environ["MLOPS_AIRFLOW_RUNS_DIR"], ignore_errors=True)
    return TEST_HOME


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path):
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS_DIR), bundle_path=DAGS_DIR)
    assert bag.import_errors == {}, bag.import_errors
    return bag


@pytest.fixture(scope="session")
def pipeline_config() -> str:
    """The real penguins config; its GE suite must exist (the pipeline's own, committed)."""
    from lib.pipeline_config import load_pipeline_config
    from lib.settings import resolve_repo_path

    suite = load_pipeline_config(CONFIG).validation.expectation_suite
    suite_path = resolve_repo_path(suite) if suite else None
    if not suite_path or not Path(suite_path).is_file():
        pytest.fail(
            f"{CONFIG}: expectation suite {suite_path} is missing; it is generated from the "
            "curated TFDV schema by the pipeline work and must be committed"
        )
    return CONFIG


# ------------------------------------------------------------------------------------------ data


@pytest.fixture(scope="session")
def penguins_csv() -> Path:
    import palmerpenguins

    return Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"


@pytest.fixture()
def good_csv(tmp_path: Path, penguins_csv: Path) -> Path:
    dst = tmp_path / "penguins-good.csv"
    dst.write_bytes(penguins_csv.read_bytes())
    return dst


@pytest.fixture()
def corrupt_csv(tmp_path: Path, penguins_csv: Path) -> Path:
    """A copy with a text value in bill_length_mm and an unseen island, 'Atlantis'."""
    rows = list(csv.DictReader(penguins_csv.open()))
    complete = [i for i, r in enumerate(rows) if "NA" not in r.values()]
    # Complete rows only: the pipeline drops incomplete rows before validating.
    rows[complete[5]]["bill_length_mm"] = "forty-two"
    rows[complete[7]]["island"] = "Atlantis"
    rows[complete[8]]["island"] = "Atlantis"
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    dst = tmp_path / "penguins-corrupt.csv"
    dst.write_text(out.getvalue())
    return dst


# ------------------------------------------------------------------------------------------ servers


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append({"path": self.path, "json": json.loads(body or b"null")})  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def webhook_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A Slack-compatible webhook receiver on 127.0.0.1, wired in as connection mlops_alert_webhook."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXXX"
    monkeypatch.setenv("AIRFLOW_CONN_MLOPS_ALERT_WEBHOOK", json.dumps({"conn_type": "http", "host": url}))
    try:
        yield server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def fresh_drift_alert_state() -> Iterator[None]:
    """No previous drift alert for penguins: model_monitoring would otherwise (rightly) not alert
    again on the same features within monitoring.realert_after_hours of an earlier test's alert."""
    from airflow.models.variable import Variable

    from lib.tracking import variable_key

    key = variable_key("penguins", "last_drift_alert")
    Variable.delete(key)
    yield
    Variable.delete(key)


@pytest.fixture()
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """See ``webhook_receiver``."""
    with webhook_receiver(monkeypatch) as received:
        yield received


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept one message per session; no TLS, no auth."""

    def handle(self) -> None:
        def send(line: str) -> None:
            self.wfile.write((line + "\r\n").encode())

        send("220 127.0.0.1 test SMTP sink")
        mail_from, rcpts = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            cmd = raw.decode(errors="replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                send("250 127.0.0.1")
            elif verb == "MAIL":
                mail_from = cmd.split(":", 1)[1].strip()
                send("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                send("250 OK")
            elif verb == "DATA":
                send("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                msg = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                self.server.received.append({"from": mail_from, "to": rcpts, "message": msg})  # type: ignore[attr-defined]
                send("250 OK queued")
            elif verb == "QUIT":
                send("221 Bye")
                return
            else:
                send("250 OK")


@pytest.fixture()
def smtp_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """An SMTP sink on 127.0.0.1 wired in as smtp_default, recipients in mlops_alert_emails."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": server.server_address[1],
        "extra": {"from_email": "airflow@example.test", "disable_ssl": True, "disable_tls": True},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_ALERT_EMAILS", "ml-team@example.test, oncall@example.test")
    try:
        yield server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Puts a stand-in `docker` first on PATH; returns a reader of the argv lists it received."""
    from support import FAKE_DOCKER

    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker"
    exe.write_text(FAKE_DOCKER)
    exe.chmod(0o755)
    calls = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(calls))
    monkeypatch.delenv("MLOPS_IMAGE", raising=False)

    def read() -> list[list[str]]:
        return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []

    return read


# ------------------------------------------------------------------------------------------ remote clients


@pytest.fixture(scope="session")
def clients_python() -> str:
    """The KFP / Vertex AI clients' venv that the kubeflow and vertex runners start."""
    py = REPO_ROOT / ".venv-pipeline-clients" / "bin" / "python"
    if not py.exists():
        pytest.fail(f"{py} is missing: run infra/scripts/setup-airflow.sh (test-airflow.sh does)")
    return str(py)


@pytest.fixture()
def no_external_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any HTTPS/gRPC call that is not to a stand-in fails fast at a dead local proxy port.

    The stand-ins speak plain http on 127.0.0.1 (exempt); the cloud libraries' own defaults
    (e.g. aiplatform's Resource Manager look-up) would otherwise try to leave the machine.
    """
    dead = "http://127.0.0.1:9"
    for var in ("https_proxy", "HTTPS_PROXY", "grpc_proxy"):
        monkeypatch.setenv(var, dead)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
