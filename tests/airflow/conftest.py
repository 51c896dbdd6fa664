"""Fixtures for the Airflow tests (run with .venv-airflow/bin/pytest, one session).

Airflow reads its settings when first imported, so the environment is set here, at import
time, before any test module imports airflow: a throw-away AIRFLOW_HOME with a SQLite DB, the
repo's dags/ folder, examples off. Local servers (webhook receiver, SMTP sinks, KFP stand-in)
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
    from mlops_airflow.pipeline_config import load_pipeline_config
    from mlops_airflow.settings import resolve_repo_path

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
    """A Slack-compatible webhook receiver on 127.0.0.1, wired in as connection slack_webhook_default
    (the Slack provider's ``slackwebhook`` type, the whole URL in ``password``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXXX"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT", json.dumps({"conn_type": "slackwebhook", "password": url}))
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

    from mlops_airflow.tracking import variable_key

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
    """Just enough SMTP (RFC 5321) to accept messages, with STARTTLS (RFC 3207), implicit TLS
    (RFC 8314) and AUTH PLAIN/LOGIN when the server is set up for them (:class:`SmtpSink`).

    Each message is recorded with the transport it came over (``tls``: ``none``, ``starttls``
    or ``implicit``) and the login user, if any, and whether that login was under TLS.
    """

    def setup(self) -> None:
        self.request.settimeout(10)
        self.tls = "none"
        super().setup()

    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def _wrap_tls(self, kind: str) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        self.connection = sink.tls_context.wrap_socket(self.connection, server_side=True)
        self.rfile = self.connection.makefile("rb")
        self.wfile = socketserver._SocketWriter(self.connection)  # type: ignore[attr-defined]
        self.tls = kind

    def _auth(self, args: list[str]) -> str | None:
        import base64

        mech = args[0].upper() if args else ""
        if mech == "PLAIN":
            resp = args[1] if len(args) > 1 else self._ask("")
            return base64.b64decode(resp).split(b"\0")[1].decode()
        if mech == "LOGIN":
            user = base64.b64decode(self._ask(base64.b64encode(b"Username:").decode())).decode()
            self._ask(base64.b64encode(b"Password:").decode())
            return user
        return None

    def _ask(self, challenge: str) -> str:
        self._send(f"334 {challenge}")
        return self.rfile.readline().decode().strip()

    def handle(self) -> None:
        try:
            self._session()
        except (OSError, ValueError) as exc:  # a client that speaks TLS to a plain port, or hangs up
            self.server.sink.errors.append(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]

    def _session(self) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        if sink.mode == "implicit_tls":
            self._wrap_tls("implicit")
        self._send("220 127.0.0.1 test SMTP sink")
        mail_from, rcpts, login = "", [], None
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            cmd = raw.decode(errors="replace").strip()
            parts = cmd.split(" ")
            verb = parts[0].upper()
            if verb == "EHLO":
                caps = ["127.0.0.1", "8BITMIME"]
                if sink.mode == "starttls" and self.tls == "none":
                    caps.append("STARTTLS")
                if sink.auth:
                    caps.append("AUTH PLAIN LOGIN")
                for cap in caps[:-1]:
                    self._send(f"250-{cap}")
                self._send(f"250 {caps[-1]}")
            elif verb == "HELO":
                self._send("250 127.0.0.1")
            elif verb == "STARTTLS":
                if sink.mode != "starttls" or self.tls != "none":
                    self._send("502 5.5.1 STARTTLS not offered")
                    continue
                self._send("220 2.0.0 Ready to start TLS")
                self._wrap_tls("starttls")
                mail_from, rcpts, login = "", [], None  # RFC 3207: the session starts anew
            elif verb == "AUTH" and sink.auth:
                user = self._auth(parts[1:])
                login = {"user": user, "tls": self.tls}
                self._send("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                mail_from = cmd.split(":", 1)[1].strip()
                self._send("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                msg = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                sink.received.append({"from": mail_from, "to": rcpts, "message": msg, "tls": self.tls, "login": login})
                rcpts = []
                self._send("250 OK queued")
            elif verb == "QUIT":
                self._send("221 Bye")
                return
            else:
                self._send("250 OK")


class SmtpSink:
    """A local SMTP server on 127.0.0.1 (a free port) that keeps what it receives.

    mode: ``plain`` (no TLS offered), ``starttls`` (offers STARTTLS) or ``implicit_tls`` (TLS
    from the first byte, as on port 465). The certificate is for IP 127.0.0.1, issued by a
    throw-away CA (``ca_file``): trust it with ``SSL_CERT_FILE`` and verification stays on.
    """

    def __init__(self, mode: str = "plain", auth: bool = False, tls_files: dict[str, Path] | None = None):
        import ssl

        self.mode, self.auth = mode, auth
        self.received: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.tls_context = None
        self.ca_file = tls_files["ca"] if tls_files else None
        if mode != "plain":
            assert tls_files, "a TLS sink needs the smtp_tls_files certificate"
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(tls_files["cert"], tls_files["key"])
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
        self._server.daemon_threads = True
        self._server.sink = self  # type: ignore[attr-defined]
        self.port: int = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def smtp_tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throw-away CA and a server certificate for IP 127.0.0.1 it signed (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = tmp_path_factory.mktemp("smtp-tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlops test SMTP CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": out / "ca.pem", "cert": out / "cert.pem", "key": out / "key.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch, smtp_tls_files: dict[str, Path]):
    """Starts :class:`SmtpSink` servers: ``smtp_server(mode="starttls", auth=True)``; stopped after the test.

    For a TLS sink, ``SSL_CERT_FILE`` is pointed at its CA, so the client verifies the
    certificate as it would a real server's (no verification is switched off).
    """
    started: list[SmtpSink] = []

    def start(mode: str = "plain", auth: bool = False) -> SmtpSink:
        sink = SmtpSink(mode, auth, smtp_tls_files)
        if mode != "plain":
            monkeypatch.setenv("SSL_CERT_FILE", str(sink.ca_file))
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.close()


@pytest.fixture()
def smtp_port_alias(monkeypatch: pytest.MonkeyPatch):
    """``alias(25, sink.port)``: in this process, connecting to 127.0.0.1:25 reaches the sink.

    Lets a test use a connection on the well-known ports (25, 465, 587), whose number decides
    the transport, without binding privileged ports. Only that exact address is redirected.
    """
    real = socket.create_connection
    aliases: dict[int, int] = {}

    def create_connection(address, *args, **kwargs):
        host, port = address[0], address[1]
        if host == "127.0.0.1" and port in aliases:
            address = (host, aliases[port])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)

    def alias(port: int, target: int) -> None:
        aliases[port] = target

    return alias


@pytest.fixture()
def smtp_sink(monkeypatch: pytest.MonkeyPatch, smtp_server) -> Iterator[list[dict[str, Any]]]:
    """A plain SMTP sink on 127.0.0.1 wired in as smtp_default with the provider's default extras
    (only ``from_email``), recipients in mlops_alert_emails."""
    sink = smtp_server("plain")
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": sink.port, "extra": {"from_email": "airflow@example.test"}}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_ALERT_EMAILS", "ml-team@example.test, oncall@example.test")
    yield sink.received


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


# ------------------------------------------------------------------------------------------ project image


@pytest.fixture(scope="module")
def project_image() -> str:
    """The project image the local runner starts (``MLOPS_IMAGE``, else ``mlops-pipelines:latest``)."""
    from mlops_airflow.runners.local import image_name

    image = image_name()
    try:
        res = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("docker CLI not found: the local runner needs Docker (make docker)")
    if res.returncode != 0:
        pytest.fail(
            f"project image {image!r} not found ({res.stderr.strip()[:200]}). Build it first with "
            "`make image` (the Makefile does this before the tests), or set MLOPS_IMAGE."
        )
    return image


# ------------------------------------------------------------------------------------------ object stores


@pytest.fixture(scope="session")
def object_store_servers() -> Iterator[dict[str, str]]:
    """moto_server (S3) and gcp-storage-emulator (GCS) on 127.0.0.1, once per session: the image
    side's emulators (tests/object_stores.py), installed in .venv-airflow for these tests."""
    from tests import object_stores

    # The emulators' commands are in this venv's bin/, which test-airflow.sh does not put on PATH.
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{path}"
    try:
        with object_stores.servers() as env:
            yield env
    finally:
        os.environ["PATH"] = path


@pytest.fixture()
def object_stores(object_store_servers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The storage clients of this process (the DAG tasks of dag.test()) point at the emulators;
    create buckets with ``tests.object_stores.bucket``."""
    from components.common import storage

    for key, value in object_store_servers.items():
        monkeypatch.setenv(key, value)
    storage.reset_clients()
    yield object_store_servers
    storage.reset_clients()


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
