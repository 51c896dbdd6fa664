"""The FastAPI app: TF-Serving-compatible REST API, health, readiness and Prometheus metrics.

``create_app`` is pure: it builds the app and its collaborators but starts nothing. The model
poller, the prediction-log writer and the drift monitor start in the app's lifespan (when
uvicorn starts it) and stop there (the log is flushed), so tests can run the app with uvicorn
in a thread on a free port, and several apps can live in one process.

Endpoints:

* ``POST /v1/models/<name>:predict`` (also ``/v1/models/<name>/versions/<v>:predict``):
  ``{"instances": [{feature: value}, ...]}`` -> ``{"predictions": [{output: value}, ...]}``, or
  ``{"inputs": {feature: [values]}}`` -> ``{"outputs": {output: [values]}}``. Response headers
  ``X-Model-Version`` (the version that answered) and ``X-Request-Id`` (the client's, or new).
* ``GET /v1/models/<name>``: TF Serving's model status, with the version.
* ``GET /v1/models/<name>/metadata``: the signature's inputs and the push manifest.
* ``GET /healthz``: liveness (the process answers). ``GET /readyz``: 200 once a model is
  loaded, 503 before.
* ``GET /metrics``: Prometheus text format (see ``serving/metrics.py``).

Errors are ``{"error": "<message naming the field>"}`` with a 4xx status for anything the client
can fix (400 malformed/invalid, 404 unknown model or version, 405, 413 body too large or too
many instances), 503 while no model is loaded, and 500 only for a server bug.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from serving.metrics import ServingMetrics
from serving.model import LoadedModel, ModelManager, ModelSource, columns_from_outputs, rows_from_outputs
from serving.prediction_log import PredictionLogger, make_records
from serving.validation import DEFAULT_SIGNATURE, RequestError, parse_json, parse_request

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_INSTANCES = 10_000
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

try:
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - orjson is in the lock file
    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(obj), status_code=status, media_type="application/json", headers=headers)


def _endpoint_of(path: str) -> str:
    if path.startswith("/v1/models/"):
        if path.endswith(":predict"):
            return "predict"
        if path.endswith("/metadata"):
            return "metadata"
        return "status"
    return {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics"}.get(path, "other")


class _MetricsMiddleware:
    """Pure ASGI middleware: counts requests by endpoint and status code, times them."""

    def __init__(self, app, metrics: ServingMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        endpoint = _endpoint_of(scope.get("path", ""))
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m = self.metrics
            m.requests.labels(m.model, endpoint, str(status["code"])).inc()
            m.latency.labels(m.model, endpoint).observe(time.perf_counter() - start)


def create_app(
    model_source: ModelSource,
    *,
    poll_seconds: float = 2.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_instances: int = DEFAULT_MAX_INSTANCES,
    prediction_logger: PredictionLogger | None = None,
    drift_monitor=None,
    metrics: ServingMetrics | None = None,
) -> FastAPI:
    """Builds the server app for one model (nothing starts until the app's lifespan does).

    Args:
        model_source: Where versions come from (``serving.model.PushDestinationSource``).
        poll_seconds: How often to look for a new version.
        max_body_bytes: Larger request bodies get 413 (checked before reading them whole).
        max_instances: More instances per request get 413.
        prediction_logger: Optional JSONL prediction log (started and flushed with the app).
        drift_monitor: Optional ``serving.monitor.DriftMonitor``.
        metrics: Prometheus metrics (a fresh registry by default).
    """
    name = model_source.name
    metrics = metrics or ServingMetrics(name)

    def on_swap(old: LoadedModel | None, new: LoadedModel) -> None:
        metrics.version.labels(name).set(new.version)
        metrics.ready.labels(name).set(1)
        metrics.loads.labels(name, "success").inc()
        metrics.load_time.labels(name).set(new.loaded_at)
        if drift_monitor is not None and not drift_monitor.features:
            cols = set(drift_monitor.baseline.columns)
            drift_monitor.features = {
                k: ("categorical" if spec.kind == "string" else "float") for k, spec in new.inputs.items() if k in cols
            }

    def on_load_error(version: int, exc: Exception) -> None:
        metrics.loads.labels(name, "failure").inc()

    manager = ModelManager(model_source, poll_seconds=poll_seconds, on_swap=on_swap, on_load_error=on_load_error)
    if prediction_logger is not None:
        prediction_logger.set_callbacks(
            lambda n: metrics.log_records.labels(name, "written").inc(n),
            lambda n: metrics.log_records.labels(name, "dropped").inc(n),
        )
    if drift_monitor is not None:
        metrics.drift_threshold.labels(name).set(drift_monitor.settings.threshold)

        def on_report(report) -> None:
            metrics.drift_rows.labels(name).set(report.current_rows)
            for f in report.features:
                if f.score is not None:
                    metrics.drift_score.labels(name, f.name, f.metric).set(f.score)

        drift_monitor.on_report = on_report

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if prediction_logger is not None:
            prediction_logger.start()
        if drift_monitor is not None:
            drift_monitor.start()
        manager.start()
        try:
            yield
        finally:
            manager.stop()
            if drift_monitor is not None:
                drift_monitor.stop()
            if prediction_logger is not None:
                await run_in_threadpool(prediction_logger.close)

    app = FastAPI(
        title=f"mlops model server: {name}",
        description="TF-Serving-compatible REST API for the newest pushed version.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.manager = manager
    app.state.metrics = metrics
    app.state.prediction_logger = prediction_logger
    app.state.drift_monitor = drift_monitor
    app.state.model_name = name

    def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
        metrics.error(kind)
        return json_response({"error": message}, status, headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        message = {404: f"no such endpoint: {request.method} {request.url.path}",
                   405: f"method {request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return error(exc.status_code, kind, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error(400, "bad_request", f"invalid request: {exc.errors()}")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        log.exception("internal error on %s", request.url.path)
        return error(500, "internal", f"internal server error: {type(exc).__name__}")

    def check_name(model_name: str) -> Response | None:
        if model_name != name:
            return error(404, "not_found", f"model {model_name!r} is not served here; this server serves {name!r}")
        return None

    @app.get("/healthz")
    async def healthz():
        return json_response({"status": "ok"})

    @app.get("/readyz")
    async def readyz():
        model = manager.current()
        if model is None:
            detail = manager.last_load_error or manager.last_poll_error or f"no complete version under {model_source.describe()} yet"
            return json_response({"status": "not ready", "model": name, "detail": detail}, 503)
        return json_response({"status": "ready", "model": name, "version": model.version})

    @app.get("/metrics")
    async def prom_metrics():
        if prediction_logger is not None:
            metrics.log_queue.labels(name).set(prediction_logger.queued())
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models/{model_name}")
    async def model_status(model_name: str, request: Request):
        if model_name.endswith(":predict"):  # GET on the predict URL matches this route
            return error(405, "method_not_allowed", f"use POST for {request.url.path}", {"Allow": "POST"})
        bad = check_name(model_name)
        if bad:
            return bad
        model = manager.current()
        if model is None:
            status = {"version": "0", "state": "LOADING",
                      "status": {"error_code": "UNAVAILABLE", "error_message": manager.last_load_error or "no model loaded yet"}}
        else:
            status = {"version": str(model.version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        return json_response({"model_version_status": [status]})

    @app.get("/v1/models/{model_name}/metadata")
    async def model_metadata(model_name: str):
        bad = check_name(model_name)
        if bad:
            return bad
        model = manager.current()
        if model is None:
            return error(503, "not_ready", f"model {name!r} is not loaded yet")
        return json_response({
            "model_spec": {"name": name, "version": str(model.version), "signature_name": DEFAULT_SIGNATURE},
            "metadata": {"signature_def": {DEFAULT_SIGNATURE: {
                "inputs": {k: {"dtype": s.dtype, "shape": [-1]} for k, s in model.inputs.items()}}}},
            "manifest": model.manifest,
            "source": model.path,
        })

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise RequestError(400, "bad_request", f"invalid Content-Length header {declared!r}")
            if size > max_body_bytes:
                raise RequestError(413, "body_too_large", f"request body is {size} bytes; the limit is {max_body_bytes} bytes")
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_body_bytes:
                raise RequestError(413, "body_too_large", f"request body exceeds the limit of {max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def predict(request: Request, model_name: str, version: str | None) -> Response:
        request_id = request.headers.get("x-request-id", "")
        if not _REQUEST_ID_RE.match(request_id):
            request_id = uuid.uuid4().hex
        headers = {"X-Request-Id": request_id}
        bad = check_name(model_name)
        if bad:
            return bad
        model = manager.current()  # this request uses this model to the end, whatever swaps meanwhile
        try:
            raw = await read_body(request)
            if model is None:
                return error(503, "not_ready", f"model {name!r} is not loaded yet; retry when /readyz says ready", headers)
            if version is not None and version != str(model.version):
                return error(404, "not_found", f"version {version} of {name!r} is not served; serving version {model.version}", headers)
            body = parse_json(raw)
            parsed = parse_request(body, model.inputs, max_instances=max_instances)
        except RequestError as exc:
            return error(exc.status, exc.kind, exc.message, headers)
        try:
            outputs = await run_in_threadpool(model.predict_columns, parsed.columns)
        except Exception as exc:
            log.exception("prediction failed (model %s version %d)", name, model.version)
            return error(500, "prediction_failed", f"prediction failed: {type(exc).__name__}", headers)
        rows = rows_from_outputs(outputs)
        metrics.instances.labels(name).inc(parsed.n)
        for row in rows:
            cls = row.get("predicted_class")
            if isinstance(cls, str):
                metrics.predictions.labels(name, cls).inc()
        if prediction_logger is not None:
            prediction_logger.log(make_records(name, model.version, parsed.rows, rows, request_id))
        if drift_monitor is not None:
            drift_monitor.observe(parsed.rows, rows)
        headers["X-Model-Version"] = str(model.version)
        payload = {"outputs": columns_from_outputs(outputs)} if parsed.columnar else {"predictions": rows}
        return json_response(payload, 200, headers)

    @app.post("/v1/models/{model_name}:predict")
    async def predict_latest(model_name: str, request: Request):
        return await predict(request, model_name, None)

    @app.post("/v1/models/{model_name}/versions/{version}:predict")
    async def predict_version(model_name: str, version: str, request: Request):
        return await predict(request, model_name, version)

    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    return app
