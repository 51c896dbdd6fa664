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
  loaded, 503 before; both say which version serves and which newer ones failed and why.
* ``GET /metrics``: Prometheus text format (see ``serving/metrics.py``).
* ``GET /openapi.json``: the OpenAPI 3.1 document of all of the above (``serving/openapi.py``).

Errors are ``{"error": "<message naming the field>"}`` with a 4xx status for anything the client
can fix (400 malformed/invalid, 404 unknown model or version or an API that is not implemented
such as ``:classify``, 405, 413 body too large or too many instances), 503 while no model is
loaded, and 500 only for a server bug. A client that disconnects before its body is complete is
counted as ``errors_total{kind="client_disconnect"}`` with code 499 (nginx's "client closed
request"; nobody receives it), not as a server error.
"""

from __future__ import annotations

import asyncio
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
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from serving.explain import METHODS as EXPLAIN_METHODS, BackgroundCache, ExplainPool, explain_in_worker
from serving.metrics import ServingMetrics
from serving.model import LoadedModel, ModelManager, ModelSource, columns_from_outputs, rows_from_outputs
from serving.openapi import build_openapi
from serving.prediction_log import PredictionLogger, make_records
from serving.validation import DEFAULT_SIGNATURE, RequestError, parse_json, parse_request

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_INSTANCES = 10_000
DEFAULT_LOAD_RETRY_MAX_SECONDS = 300.0
CLIENT_CLOSED_REQUEST = 499  # nginx's code: the client went away before the request was complete
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

def _json_dumps(obj: Any) -> bytes:
    # ensure_ascii escapes what orjson refuses (a lone surrogate from a client's "\ud800")
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()


try:
    import orjson

    def _dumps(obj: Any) -> bytes:
        try:
            return orjson.dumps(obj)
        except TypeError:  # orjson.JSONEncodeError: e.g. a str that is not valid Unicode
            return _json_dumps(obj)
except ImportError:  # pragma: no cover - orjson is in the lock file
    _dumps = _json_dumps


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(obj), status_code=status, media_type="application/json", headers=headers)


def _endpoint_of(path: str) -> str:
    if path.startswith("/v1/models/"):
        if path.endswith(":predict"):
            return "predict"
        if path.endswith(":explain"):
            return "explain"
        if path.endswith("/metadata"):
            return "metadata"
        if ":" in path.rsplit("/", 1)[-1] or "/versions/" in path:  # :classify, :regress, ...
            return "other"
        return "status"
    return {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics", "/openapi.json": "openapi"}.get(path, "other")


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
    load_retry_max_seconds: float = DEFAULT_LOAD_RETRY_MAX_SECONDS,
    prediction_sink=None,
    explain_max_instances: int = 10,
    explain_timeout_seconds: float = 30.0,
    explain_workers: int = 1,
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
        load_retry_max_seconds: A version that fails to load is retried after ``poll_seconds``,
            then twice as long each time, up to this.
        prediction_sink: Optional ``serving.kafka_sink.KafkaPredictionSink``; predictions go
            there instead of ``prediction_logger``, which then takes only what it spills.
        explain_max_instances: ``:explain`` takes at most this many instances (else 413).
        explain_timeout_seconds: ``:explain``'s time budget per request (past it, 408).
        explain_workers: Threads of ``:explain``'s own pool (``serving/explain.py``).
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

    def on_failures_changed(failures) -> None:
        metrics.version_failures.clear()
        for f in failures.values():
            metrics.version_failures.labels(name, str(f.version), f.reason).set(f.attempts)

    manager = ModelManager(model_source, poll_seconds=poll_seconds, on_swap=on_swap, on_load_error=on_load_error,
                           retry_max_seconds=load_retry_max_seconds, on_failures_changed=on_failures_changed)
    if prediction_logger is not None:
        prediction_logger.set_callbacks(
            lambda n: metrics.log_records.labels(name, "written").inc(n),
            lambda n: metrics.log_records.labels(name, "dropped").inc(n),
        )
    if prediction_sink is not None:
        prediction_sink.on_count = lambda result, n: metrics.kafka_records.labels(name, result).inc(n)
        for result in ("delivered", "spilled", "dropped"):
            metrics.kafka_records.labels(name, result)
        metrics.kafka_queue.labels(name).set(0)
    if drift_monitor is not None:
        metrics.drift_threshold.labels(name).set(drift_monitor.settings.threshold)

        def on_report(report) -> None:
            metrics.drift_rows.labels(name).set(report.current_rows)
            metrics.drift_windows.labels(name, "drift" if report.drifted else "no_drift").inc()
            for f in report.features:
                if f.score is not None:
                    metrics.drift_score.labels(name, f.name, f.metric).set(f.score)

        drift_monitor.on_report = on_report
        drift_monitor.on_error = lambda exc: metrics.drift_windows.labels(name, "error").inc()
        for result in ("drift", "no_drift", "error"):
            metrics.drift_windows.labels(name, result)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if prediction_logger is not None:
            prediction_logger.start()
        if prediction_sink is not None:
            prediction_sink.start()
        if drift_monitor is not None:
            drift_monitor.start()
        manager.start()
        try:
            yield
        finally:
            manager.stop()
            app.state.explain_pool.shutdown()  # its worker processes, if an :explain started them
            if drift_monitor is not None:
                drift_monitor.stop()
            if prediction_sink is not None:  # before the log: what it cannot deliver spills there
                await run_in_threadpool(prediction_sink.close)
            if prediction_logger is not None:
                await run_in_threadpool(prediction_logger.close)

    app = FastAPI(
        title=f"mlops model server: {name}",
        description="TF-Serving-compatible REST API for the newest pushed version.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below: the document is written out, see serving/openapi.py
    )
    app.state.manager = manager
    app.state.metrics = metrics
    app.state.prediction_logger = prediction_logger
    app.state.prediction_sink = prediction_sink
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

    @app.exception_handler(ClientDisconnect)
    async def client_disconnect(request: Request, exc: ClientDisconnect):
        return client_gone(request)

    def client_gone(request: Request) -> Response:
        # nobody reads this answer (uvicorn drops it); it is counted as the client's doing, not a 5xx
        return error(CLIENT_CLOSED_REQUEST, "client_disconnect",
                     f"client disconnected before the request body of {request.url.path} was complete")

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
        state = {"model": name, "newest_version": manager.newest_version, "failed_versions": manager.failures()}
        if model is None:
            if manager.last_load_error:
                detail = f"no version could be loaded; newest failure: {manager.last_load_error}"
            else:
                detail = manager.last_poll_error or f"no complete version under {model_source.describe()} yet"
            return json_response({"status": "not ready", **state, "detail": detail}, 503)
        return json_response({"status": "ready", **state, "version": model.version})

    @app.get("/metrics")
    async def prom_metrics():
        if prediction_logger is not None:
            metrics.log_queue.labels(name).set(prediction_logger.queued())
        if prediction_sink is not None:
            metrics.kafka_queue.labels(name).set(prediction_sink.queued())
        metrics.newest_version.labels(name).set(manager.newest_version or 0)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    async def openapi_document():
        model = manager.current()
        return json_response(build_openapi(name, model.inputs if model else None,
                                           served_version=model.version if model else None,
                                           max_instances=max_instances, max_body_bytes=max_body_bytes,
                                           explain_max_instances=explain_max_instances,
                                           explain_timeout_seconds=explain_timeout_seconds))

    def not_implemented(path: str, api: str) -> Response:
        return error(404, "not_found", f"the :{api} API is not implemented by this server ({path}); "
                                       f"use POST /v1/models/{name}:predict")

    @app.get("/v1/models/{model_name}")
    async def model_status(model_name: str, request: Request):
        if ":" in model_name:  # GET on an API URL (":predict", ":classify", ...) matches this route
            base, _, api = model_name.rpartition(":")
            if api == "predict" and base == name:
                return error(405, "method_not_allowed", f"use POST for {request.url.path}", {"Allow": "POST"})
            if base == name:
                return not_implemented(request.url.path, api)
        bad = check_name(model_name)
        if bad:
            return bad
        model = manager.current()
        if model is None:
            statuses = [{"version": "0", "state": "LOADING",
                         "status": {"error_code": "UNAVAILABLE", "error_message": manager.last_load_error or "no model loaded yet"}}]
        else:
            statuses = [{"version": str(model.version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
        statuses += [{"version": str(f["version"]), "state": "END",
                      "status": {"error_code": "UNKNOWN", "error_message": f"load failed ({f['attempts']} attempts): {f['error']}"}}
                     for f in manager.failures()]
        return json_response({"model_version_status": statuses})

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
        async for chunk in request.stream():  # raises ClientDisconnect if the client goes away
            total += len(chunk)
            if total > max_body_bytes:
                raise RequestError(413, "body_too_large", f"request body exceeds the limit of {max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def predict(request: Request, model_name: str, version: str | None) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id", "")
        if not _REQUEST_ID_RE.match(request_id):
            request_id = uuid.uuid4().hex
        headers = {"X-Request-Id": request_id}
        bad = check_name(model_name)
        if bad:
            return bad
        model = manager.current()  # this request uses this model to the end, whatever swaps meanwhile
        try:
            try:
                raw = await read_body(request)
            except ClientDisconnect:
                return client_gone(request)
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
        if prediction_sink is not None:
            prediction_sink.publish(name, model.version, parsed.rows, rows, request_id,
                                    (time.perf_counter() - started) * 1000.0)
        elif prediction_logger is not None:
            prediction_logger.log(make_records(name, model.version, parsed.rows, rows, request_id))
        if drift_monitor is not None:
            drift_monitor.observe(parsed.rows, rows)
        headers["X-Model-Version"] = str(model.version)
        payload = {"outputs": columns_from_outputs(outputs)} if parsed.columnar else {"predictions": rows}
        return json_response(payload, 200, headers)

    @app.post("/v1/models/{model_name}:predict")
    async def predict_latest(model_name: str, request: Request):
        return await predict(request, model_name, None)

    explain_pool = ExplainPool(explain_workers)
    backgrounds = BackgroundCache(getattr(model_source, "version_uri", lambda version: None))
    app.state.explain_pool = explain_pool

    async def explain(request: Request, model_name: str, version: str | None) -> Response:
        """Attributions per instance (serving/explain.py): SHAP by default, ``?method=lime`` or a
        body field ``method``; bounded in instances, time and concurrency."""
        bad = check_name(model_name)
        if bad:
            return bad
        model = manager.current()
        headers: dict[str, str] = {}
        try:
            try:
                raw = await read_body(request)
            except ClientDisconnect:
                return client_gone(request)
            if model is None:
                return error(503, "not_ready", f"model {name!r} is not loaded yet; retry when /readyz says ready")
            if version is not None and version != str(model.version):
                return error(404, "not_found", f"version {version} of {name!r} is not served; serving version {model.version}")
            body = parse_json(raw)
            # Each place a method can be named is checked on its own: a bad ?method= is refused even
            # when the body names a good one (the OpenAPI document declares the query's enum).
            chosen = []
            if "method" in request.query_params:
                chosen.append(("?method=", request.query_params.get("method")))
            if isinstance(body, dict) and "method" in body:
                chosen.append(("body field method", body.pop("method")))
            for where, value in chosen:
                if value not in EXPLAIN_METHODS:
                    raise RequestError(400, "bad_request",
                                       f"{where} {value!r} is not one of {', '.join(EXPLAIN_METHODS)}")
            method = chosen[-1][1] if chosen else "shap"
            if isinstance(body, dict) and isinstance(body.get("instances"), list) and len(body["instances"]) > explain_max_instances:
                raise RequestError(413, "too_many_instances", f"\"instances\" has {len(body['instances'])} items; :explain "
                                   f"takes at most {explain_max_instances} per request (--explain-max-instances)")
            parsed = parse_request(body, model.inputs, max_instances=explain_max_instances)
            if parsed.n > explain_max_instances:
                raise RequestError(413, "too_many_instances", f"{parsed.n} instances; :explain takes at most "
                                   f"{explain_max_instances} per request (--explain-max-instances)")
            background = await run_in_threadpool(backgrounds.get, model.version)
            if background is None:
                raise RequestError(404, "not_found", f"version {model.version} of {name!r} was pushed without "
                                   "explanation/background.json (turn explain.enabled on in the pipeline to explain it)")
            warming = explain_pool.warm(str(model.path))
            if warming is not None:  # outside the time budget: a worker's start is not the request's cost
                await asyncio.wrap_future(warming)
            future = explain_pool.submit(explain_in_worker, str(model.path), background, parsed.rows, method)
        except RequestError as exc:
            return error(exc.status, exc.kind, exc.message, headers)
        try:
            results = await asyncio.wait_for(asyncio.wrap_future(future), timeout=explain_timeout_seconds)
        except asyncio.TimeoutError:
            future.cancel()
            return error(408, "explain_timeout", f"the explanation took longer than the budget of {explain_timeout_seconds:g} s "
                                                 "(--explain-timeout-seconds); send fewer instances or use method=lime")
        except RequestError as exc:
            return error(exc.status, exc.kind, exc.message, headers)
        except Exception as exc:
            log.exception("explanation failed (model %s version %d)", name, model.version)
            return error(500, "prediction_failed", f"explanation failed: {type(exc).__name__}")
        if isinstance(results, dict):  # a client error found in the worker (serving/explain.py)
            return error(*results["request_error"])
        return json_response({"explanations": results}, 200, {"X-Model-Version": str(model.version)})

    @app.post("/v1/models/{model_name}:explain")
    async def explain_latest(model_name: str, request: Request):
        return await explain(request, model_name, None)

    @app.post("/v1/models/{model_name}/versions/{version}:explain")
    async def explain_version(model_name: str, version: str, request: Request):
        return await explain(request, model_name, version)

    @app.post("/v1/models/{model_name}/versions/{version}:predict")
    async def predict_version(model_name: str, version: str, request: Request):
        return await predict(request, model_name, version)

    # after the predict routes: these patterns also match ".../penguins:predict" (first full match wins)
    other_methods = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.api_route("/v1/models/{model_name}", methods=other_methods, include_in_schema=False)
    async def model_api_other(model_name: str, request: Request):
        """POST :classify / :regress (and other methods on API URLs): not implemented is 404, as documented."""
        base, sep, api = model_name.rpartition(":")
        if not sep:
            return error(405, "method_not_allowed", f"method {request.method} is not allowed on {request.url.path}; use GET",
                         {"Allow": "GET"})
        bad = check_name(base)
        if bad:
            return bad
        if api == "predict":  # PUT/PATCH/DELETE/OPTIONS on :predict (Starlette alone would say "Allow: GET")
            return error(405, "method_not_allowed", f"use POST for {request.url.path}", {"Allow": "POST"})
        return not_implemented(request.url.path, api)

    @app.api_route("/v1/models/{model_name}/versions/{version}", methods=other_methods, include_in_schema=False)
    async def version_api_other(model_name: str, version: str, request: Request):
        bad = check_name(model_name)
        if bad:
            return bad
        _, sep, api = version.rpartition(":")
        if sep and api == "predict":  # PUT/PATCH/DELETE/OPTIONS on a version's :predict
            return error(405, "method_not_allowed", f"use POST for {request.url.path}", {"Allow": "POST"})
        if sep:
            return not_implemented(request.url.path, api)
        return error(404, "not_found", f"no such endpoint: {request.method} {request.url.path}")

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

    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    return app
