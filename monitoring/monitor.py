"""The streaming monitor: a Kafka consumer group over predictions and ground truth.

A thin adapter around :class:`monitoring.join.StreamJoiner` (the join and windows) and
:mod:`monitoring.window_result` (the window's metrics and reports):

1. poll both topics (auto-commit off); a record that is not a valid event of its topic's schema
   goes to the dead-letter topic with the reason (counted), and the monitor goes on;
2. when windows are complete: for each, compute its result, publish the result event (keyed by
   window id; the producer is flushed), write its reports (``window.json`` last: the ledger),
   update the gauges, then **commit** the offsets below everything still held. So a monitor
   killed at any point resumes from offsets whose records were either all counted in a written
   window (skipped on replay: ``is_written``) or not counted at all.

A rebalance (eager ``range`` assignment: every partition is revoked) drops the open windows;
the consumer re-reads them from the committed offsets. The predictions and ground-truth topics
need the same number of partitions, keyed by request id (the server and ``mlops label`` do),
so that a prediction and its label land on partitions of the same number, which ``range``
assigns to the same monitor.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from monitoring import events, window_result
from monitoring.join import StreamJoiner
from monitoring.window_result import MonitorSpec

log = logging.getLogger(__name__)
_EOF = -191  # KafkaError._PARTITION_EOF


@dataclass(frozen=True)
class Topics:
    predictions: str
    ground_truth: str
    results: str
    dead_letter: str


class MonitorMetrics:
    """Prometheus gauges and counters of the monitor (``docs/monitoring.md``)."""

    def __init__(self, model: str, registry=None):
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.model = model
        self.registry = r = registry or CollectorRegistry()
        self.quality = Gauge("mlops_monitor_quality", "Quality metric of the last window (slice \"all\" or col=value)",
                             ["model", "metric", "slice"], registry=r)
        self.drift = Gauge("mlops_monitor_drift_score", "Drift score of the last window", ["model", "feature", "metric"],
                           registry=r)
        self.drift_threshold = Gauge("mlops_monitor_drift_threshold", "Drift threshold", ["model"], registry=r)
        self.latency = Gauge("mlops_monitor_latency_ms", "Server latency percentiles of the last window",
                             ["model", "quantile"], registry=r)
        self.labelled = Gauge("mlops_monitor_window_labelled", "Predictions with ground truth in the last window",
                              ["model"], registry=r)
        self.windows = Counter("mlops_monitor_windows", "Windows closed, by verdict", ["model", "verdict"], registry=r)
        self.records = Counter("mlops_monitor_records", "Records read, by topic and outcome",
                               ["model", "topic", "result"], registry=r)
        self.dead_letters = Counter("mlops_monitor_dead_letters", "Records sent to the dead-letter topic",
                                    ["model", "topic"], registry=r)
        self.last_window = Gauge("mlops_monitor_last_window_timestamp_seconds", "When the last window closed",
                                 ["model"], registry=r)
        for verdict in ("ok", "breach"):
            self.windows.labels(model, verdict)

    def window(self, event: dict[str, Any]) -> None:
        m = self.model
        self.windows.labels(m, event["verdict"]).inc()
        self.labelled.labels(m).set(event["metrics"].get("labelled", 0))
        self.last_window.labels(m).set(time.time())
        for slice_name, values in [("all", event["metrics"]), *event.get("slices", {}).items()]:
            for metric in ("accuracy", "precision", "recall", "mae", "rmse"):
                if values.get(metric) is not None:
                    self.quality.labels(m, metric, slice_name).set(values[metric])
        for feature, d in (event.get("drift") or {}).get("scores", {}).items():
            if d["score"] is not None:
                self.drift.labels(m, feature, d["metric"]).set(d["score"])
        if event.get("drift"):
            self.drift_threshold.labels(m).set(event["drift"]["threshold"])
        for q in ("p50", "p90", "p99"):
            if event["latency_ms"].get(q) is not None:
                self.latency.labels(m, q).set(event["latency_ms"][q])


class StreamMonitor:
    """Runs the monitor loop until :meth:`stop` (or ``max_windows``).

    Args:
        conf: librdkafka settings (bootstrap, security).
        group_id: The consumer group.
        topics: The four topic names.
        spec: How windows are judged.
        joiner: The join state (windows, lateness).
        report_dir: Where window reports go (also the ledger of written windows).
        metrics: Prometheus metrics (a fresh registry by default).
        consumer_overrides: Extra consumer settings (tests: ``session.timeout.ms``).
        on_window: Called with each result event after its offsets are committed.
    """

    def __init__(self, conf: dict[str, Any], group_id: str, topics: Topics, spec: MonitorSpec, joiner: StreamJoiner,
                 report_dir: str, metrics: MonitorMetrics | None = None,
                 consumer_overrides: dict[str, Any] | None = None, on_window: Callable[[dict], None] | None = None):
        self.conf, self.group_id, self.topics, self.spec = dict(conf), group_id, topics, spec
        self.joiner, self.report_dir = joiner, report_dir
        self.metrics = metrics or MonitorMetrics(spec.model)
        self.consumer_overrides = consumer_overrides or {}
        self.on_window = on_window or (lambda event: None)
        self._stop = False
        self.positions: dict[tuple[str, int], int] = {}
        self.eof: dict[tuple[str, int], bool] = {}
        self.windows_written = 0
        self.dead_letters = 0
        self.first_record_at: float | None = None  # time.monotonic() of the first record (benchmarks)

    def stop(self) -> None:
        self._stop = True

    def _consumer(self):
        from confluent_kafka import Consumer

        settings = {**self.conf, "group.id": self.group_id, "enable.auto.commit": False,
                    "auto.offset.reset": "earliest", "enable.partition.eof": True,
                    "partition.assignment.strategy": "range", **self.consumer_overrides}
        return Consumer(settings)

    def _on_assign(self, consumer, partitions) -> None:
        for tp in partitions:
            self.eof[(tp.topic, tp.partition)] = False
        log.info("monitor: assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions))

    def _on_revoke(self, consumer, partitions) -> None:
        # Eager rebalance: everything goes; open windows are re-read from the committed offsets.
        self.joiner.reset()
        self.positions.clear()
        self.eof.clear()

    def run(self, max_windows: int | None = None, idle_timeout_s: float | None = None) -> int:
        """Consumes until stopped, ``max_windows`` written, or nothing new for ``idle_timeout_s``.

        Returns:
            The number of windows written.
        """
        from confluent_kafka import Producer

        consumer = self._consumer()
        producer = Producer({**self.conf, "enable.idempotence": True, "linger.ms": 5})
        consumer.subscribe([self.topics.predictions, self.topics.ground_truth], on_assign=self._on_assign,
                           on_revoke=self._on_revoke)
        last_record = time.monotonic()
        try:
            while not self._stop:
                msgs = consumer.consume(1000, 0.2)
                outcomes: dict[tuple[str, str], int] = {}
                for msg in msgs:
                    if self._handle(msg, producer, outcomes):
                        last_record = time.monotonic()
                for (topic, result), n in outcomes.items():  # one counter update per batch, not per record
                    self.metrics.records.labels(self.spec.model, topic, result).inc(n)
                producer.poll(0)
                caught_up = bool(self.eof) and all(self.eof.values())
                for window in self.joiner.close_ready(time.time(), caught_up):
                    self._finish(window, consumer, producer)
                    if max_windows is not None and self.windows_written >= max_windows:
                        return self.windows_written
                if idle_timeout_s is not None and time.monotonic() - last_record > idle_timeout_s:
                    return self.windows_written
            return self.windows_written
        finally:
            producer.flush(30)
            consumer.close()

    def _handle(self, msg, producer, outcomes: dict[tuple[str, str], int]) -> bool:
        err = msg.error()
        if err is not None:
            if err.code() == _EOF:
                self.eof[(msg.topic(), msg.partition())] = True
            else:
                log.warning("monitor: consumer error: %s", err)
            return False
        tp = (msg.topic(), msg.partition())
        if self.first_record_at is None:
            self.first_record_at = time.monotonic()
        self.eof[tp] = False
        self.positions[tp] = msg.offset() + 1
        topic, model = msg.topic(), self.spec.model
        expected = events.PREDICTION if topic == self.topics.predictions else events.GROUND_TRUTH
        try:
            event = events.parse(msg.value(), expected)
            if expected == events.PREDICTION and event["model"] != model:
                raise events.EventError(f"prediction of model {event['model']!r}; this monitor watches {model!r}")
        except events.EventError as exc:
            self._dead_letter(msg, str(exc), producer)
            if expected == events.PREDICTION:
                self.joiner.note_prediction_offset(msg.partition(), msg.offset())
            return True
        if expected == events.PREDICTION:
            result = self.joiner.add_prediction(event, topic, msg.partition(), msg.offset())
        else:
            result = self.joiner.add_label(event, topic, msg.partition(), msg.offset())
        outcomes[(topic, result)] = outcomes.get((topic, result), 0) + 1
        return True

    def _dead_letter(self, msg, reason: str, producer) -> None:
        dl = events.dead_letter(msg.topic(), msg.partition(), msg.offset(), reason, msg.value())
        key = f"{msg.topic()}/{msg.partition()}/{msg.offset()}".encode()
        while True:
            try:
                producer.produce(self.topics.dead_letter, value=events.dumps(dl), key=key)
                break
            except BufferError:
                producer.poll(0.1)
        self.dead_letters += 1
        self.metrics.dead_letters.labels(self.spec.model, msg.topic()).inc()
        self.metrics.records.labels(self.spec.model, msg.topic(), "dead_letter").inc()

    def _finish(self, window, consumer, producer) -> None:
        from confluent_kafka import TopicPartition

        event, report = window_result.compute(window, self.spec)
        event["reports"] = window_result.report_paths(self.report_dir, window.window_id)
        # The event first, the ledger second: a crash between them re-sends the same window id
        # (consumers key on it), never loses it.
        producer.produce(self.topics.results, value=events.dumps(event), key=window.window_id.encode())
        if producer.flush(60):
            raise RuntimeError(f"the result of window {window.window_id} was not acknowledged by the broker in 60 s")
        window_result.write_reports(self.report_dir, event, report)
        offsets = self.joiner.commit_offsets(self.positions)
        if offsets:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
        self.windows_written += 1
        self.metrics.window(event)
        log.info("monitor: window %s: %d predictions, %d labelled, %s%s", window.window_id, event["window"]["predictions"],
                 event["window"]["labelled"], event["verdict"],
                 "" if not event["breaches"] else " (" + "; ".join(b["rule"] for b in event["breaches"]) + ")")
        self.on_window(event)
