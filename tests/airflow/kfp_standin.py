"""A STAND-IN for the Kubeflow Pipelines v2 REST API, for tests only. It is not KFP.

It implements just the ``/apis/v2beta1`` endpoints that ``dags/lib/runners.KfpRestClient``
calls, with the request/response field names of the KFP v2beta1 API (as in kfp-server-api):

* ``GET  /pipelines?filter=``                      -> ``{"pipelines": [...]}``
* ``POST /pipelines/upload?name=&display_name=``   (multipart ``uploadfile``) -> pipeline
* ``GET  /pipelines/{id}/versions?filter=``        -> ``{"pipeline_versions": [...]}``
* ``POST /pipelines/upload_version?name=&pipelineid=`` (multipart ``uploadfile``) -> version
* ``GET/POST /experiments``
* ``POST /runs`` (rejects parameters the uploaded spec does not declare, like KFP does)
* ``GET  /runs/{id}``: PENDING, then RUNNING, then the configured final state and ``error``.

Nothing is executed; the server only keeps state in memory. Bound to 127.0.0.1.
"""

from __future__ import annotations

import email.parser
import email.policy
import http.server
import json
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml


class KfpStandIn(http.server.ThreadingHTTPServer):
    def __init__(self, token: str | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, dict[str, Any]] = {}  # version id -> version (+ "_spec")
        self.experiments: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.final_state = "SUCCEEDED"
        self.final_error: str | None = None
        self.calls: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def start(self) -> "KfpStandIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _matches(filter_json: str | None, obj: dict[str, Any]) -> bool:
    if not filter_json:
        return True
    for p in json.loads(filter_json).get("predicates", []):
        op = p.get("operation")
        value = p.get("string_value", p.get("stringValue"))
        if op not in ("EQUALS", 1) or obj.get(p.get("key")) != value:
            return False
    return True


class _Handler(http.server.BaseHTTPRequestHandler):
    server: KfpStandIn

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, message: str) -> None:
        self._send(code, {"error": message, "code": code, "message": message})

    def _authorised(self) -> bool:
        if self.server.token and self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._error(401, "missing or wrong bearer token")
            return False
        return True

    def _route(self) -> tuple[list[str], dict[str, str]]:
        u = urlparse(self.path)
        self.server.calls.append((self.command, u.path))
        prefix = "/apis/v2beta1/"
        parts = u.path[len(prefix) :].strip("/").split("/") if u.path.startswith(prefix) else []
        return parts, {k: v[0] for k, v in parse_qs(u.query).items()}

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _uploaded_spec(self) -> dict[str, Any] | None:
        raw = (
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + self._body()
        )
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
        for part in msg.iter_parts():
            if part.get_param("name", header="content-disposition") == "uploadfile":
                return next(iter(yaml.safe_load_all(part.get_payload(decode=True))))
        return None

    def do_GET(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        parts, q = self._route()
        s = self.server
        if parts == ["pipelines"]:
            found = [p for p in s.pipelines.values() if _matches(q.get("filter"), p)]
            return self._send(200, {"pipelines": found, "total_size": len(found)} if found else {})
        if len(parts) == 3 and parts[0] == "pipelines" and parts[2] == "versions":
            found = [
                {k: v for k, v in ver.items() if not k.startswith("_")}
                for ver in s.versions.values()
                if ver["pipeline_id"] == parts[1] and _matches(q.get("filter"), ver)
            ]
            return self._send(200, {"pipeline_versions": found, "total_size": len(found)} if found else {})
        if parts == ["experiments"]:
            found = [e for e in s.experiments.values() if _matches(q.get("filter"), e)]
            return self._send(200, {"experiments": found} if found else {})
        if len(parts) == 2 and parts[0] == "runs":
            run = s.runs.get(parts[1])
            if run is None:
                return self._error(404, f"run {parts[1]} not found")
            n = s.polls[parts[1]] = s.polls.get(parts[1], 0) + 1
            if n == 1:
                run["state"] = "PENDING"
            elif n == 2:
                run["state"] = "RUNNING"
            else:
                run["state"] = s.final_state
                if s.final_error:
                    run["error"] = {"code": 2, "message": s.final_error}
            return self._send(200, run)
        self._error(404, f"stand-in does not implement GET {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        parts, q = self._route()
        s = self.server
        if parts == ["pipelines", "upload"]:
            spec = self._uploaded_spec()
            if not spec or "root" not in spec:
                return self._error(400, "uploadfile is not a pipeline spec")
            pid = str(uuid.uuid4())
            pipeline = {"pipeline_id": pid, "display_name": q.get("display_name") or q["name"], "name": q["name"]}
            s.pipelines[pid] = pipeline
            vid = str(uuid.uuid4())  # KFP creates a first version named like the pipeline
            s.versions[vid] = {"pipeline_id": pid, "pipeline_version_id": vid, "display_name": q["name"], "_spec": spec}
            return self._send(200, pipeline)
        if parts == ["pipelines", "upload_version"]:
            pid = q.get("pipelineid")
            if pid not in s.pipelines:
                return self._error(404, f"pipeline {pid} not found")
            spec = self._uploaded_spec()
            vid = str(uuid.uuid4())
            s.versions[vid] = {"pipeline_id": pid, "pipeline_version_id": vid, "display_name": q.get("display_name") or q["name"], "_spec": spec}
            return self._send(200, {k: v for k, v in s.versions[vid].items() if not k.startswith("_")})
        if parts == ["experiments"]:
            body = json.loads(self._body())
            eid = str(uuid.uuid4())
            s.experiments[eid] = {"experiment_id": eid, "display_name": body["display_name"]}
            return self._send(200, s.experiments[eid])
        if parts == ["runs"]:
            body = json.loads(self._body())
            ref = body.get("pipeline_version_reference") or {}
            ver = s.versions.get(ref.get("pipeline_version_id"))
            if ver is None or ver["pipeline_id"] != ref.get("pipeline_id"):
                return self._error(400, "unknown pipeline_version_reference")
            declared = set(ver["_spec"]["root"].get("inputDefinitions", {}).get("parameters", {}))
            params = (body.get("runtime_config") or {}).get("parameters") or {}
            unknown = set(params) - declared
            if unknown:
                return self._error(400, f"parameters not declared by the pipeline: {sorted(unknown)}")
            rid = str(uuid.uuid4())
            s.runs[rid] = {**body, "run_id": rid, "state": "PENDING"}
            return self._send(200, s.runs[rid])
        self._error(404, f"stand-in does not implement POST {self.path}")
