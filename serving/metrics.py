"""Prometheus metrics of the model server (one registry per app, so tests can run several).

Names (the alert rules in ``infra/monitoring/`` use them; a test checks they exist):

* ``mlops_serving_requests_total{model, endpoint, code}``: requests by HTTP status code
* ``mlops_serving_request_latency_seconds{model, endpoint}``: histogram, whole request
* ``mlops_serving_errors_total{model, kind}``: errors by kind (``missing_feature``,
  ``unknown_feature``, ``wrong_type``, ``empty_instances``, ``malformed_json``,
  ``body_too_large``, ``too_many_instances``, ``bad_request``, ``unknown_signature``,
  ``not_found``, ``method_not_allowed``, ``not_ready``, ``client_disconnect`` (code 499, not a
  5xx), ``prediction_failed``, ``internal``)
* ``mlops_serving_instances_total{model}`` and ``mlops_serving_predictions_total{model, class}``
* ``mlops_serving_model_version{model}``: the version being served (0 until one is loaded)
* ``mlops_serving_model_ready{model}``: 1 once a model is loaded
* ``mlops_serving_model_loads_total{model, result}``: ``success`` / ``failure`` (every attempt)
* ``mlops_serving_model_newest_version{model}``: the newest complete version found (0: none);
  above ``mlops_serving_model_version`` while a newer version fails to load
* ``mlops_serving_model_version_load_failures{model, version, reason}``: consecutive failed loads
  of each version that is not served and newer than the served one (retried with backoff; the
  series disappears once it loads or is deleted). ``reason``: ``not_a_saved_model``,
  ``no_signature``, ``unsupported_input``, ``warmup_failed``, ``no_saved_model_dir``,
  ``download_failed``, ``bad_manifest``, or the exception's class in snake_case
* ``mlops_serving_model_load_timestamp_seconds{model}``
* ``mlops_serving_prediction_log_records_total{model, result}``: ``written`` / ``dropped``
* ``mlops_serving_prediction_log_queue{model}``: records waiting to be written
* ``mlops_serving_kafka_records_total{model, result}``: prediction events sent to Kafka
  (``mlops serve --kafka``): ``delivered``, ``spilled`` (to the file log), ``dropped``
* ``mlops_serving_kafka_queue{model}``: prediction events waiting for the broker
* ``mlops_serving_drift_score{model, feature, metric}`` and ``mlops_serving_drift_threshold{model}``
  (only with a drift baseline), ``mlops_serving_drift_window_rows{model}``,
  ``mlops_serving_drift_windows_total{model, result}``: every window computed, ``drift`` /
  ``no_drift`` / ``error`` (the log only says when the drift state changes)
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServingMetrics:
    """All metrics of one server, registered in ``registry`` (a fresh one by default)."""

    def __init__(self, model: str, registry: CollectorRegistry | None = None):
        self.model = model
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "mlops_serving_requests", "HTTP requests by endpoint and status code", ["model", "endpoint", "code"], registry=r
        )
        self.latency = Histogram(
            "mlops_serving_request_latency_seconds", "Request latency (seconds)", ["model", "endpoint"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.errors = Counter("mlops_serving_errors", "Errors by kind", ["model", "kind"], registry=r)
        self.instances = Counter("mlops_serving_instances", "Instances predicted", ["model"], registry=r)
        self.predictions = Counter(
            "mlops_serving_predictions", "Predicted classes", ["model", "class"], registry=r
        )
        self.version = Gauge("mlops_serving_model_version", "Model version being served (0: none)", ["model"], registry=r)
        self.ready = Gauge("mlops_serving_model_ready", "1 when a model is loaded", ["model"], registry=r)
        self.loads = Counter("mlops_serving_model_loads", "Model version loads", ["model", "result"], registry=r)
        self.newest_version = Gauge(
            "mlops_serving_model_newest_version", "Newest complete version in the push destination (0: none)", ["model"],
            registry=r,
        )
        self.version_failures = Gauge(
            "mlops_serving_model_version_load_failures",
            "Consecutive failed loads of a version newer than the served one (retried with backoff)",
            ["model", "version", "reason"], registry=r,
        )
        self.load_time = Gauge(
            "mlops_serving_model_load_timestamp_seconds", "When the served version was loaded", ["model"], registry=r
        )
        self.log_records = Counter(
            "mlops_serving_prediction_log_records", "Prediction log records", ["model", "result"], registry=r
        )
        self.log_queue = Gauge("mlops_serving_prediction_log_queue", "Prediction log records queued", ["model"], registry=r)
        self.kafka_records = Counter(
            "mlops_serving_kafka_records", "Prediction events to Kafka: delivered, spilled (to the file log), dropped",
            ["model", "result"], registry=r,
        )
        self.kafka_queue = Gauge("mlops_serving_kafka_queue", "Prediction events waiting for the broker", ["model"], registry=r)
        self.drift_score = Gauge(
            "mlops_serving_drift_score", "Drift of the recent serving window vs the training baseline",
            ["model", "feature", "metric"], registry=r,
        )
        self.drift_threshold = Gauge("mlops_serving_drift_threshold", "Drift threshold (score > threshold = drift)", ["model"], registry=r)
        self.drift_rows = Gauge("mlops_serving_drift_window_rows", "Rows in the last drift window", ["model"], registry=r)
        self.drift_windows = Counter(
            "mlops_serving_drift_windows", "Drift windows computed, by result (drift, no_drift, error)", ["model", "result"],
            registry=r,
        )
        self.version.labels(model).set(0)
        self.ready.labels(model).set(0)
        self.newest_version.labels(model).set(0)
        for result in ("success", "failure"):
            self.loads.labels(model, result)
        for result in ("written", "dropped"):
            self.log_records.labels(model, result)
        self.log_queue.labels(model).set(0)

    def error(self, kind: str) -> None:
        self.errors.labels(self.model, kind).inc()
