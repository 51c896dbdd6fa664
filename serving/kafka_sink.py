"""Predictions to a Kafka topic, asynchronously, with spill to the JSONL prediction log.

``mlops serve --kafka`` (or ``monitoring.stream.publish_predictions``) sends one
``mlops.prediction`` event (``monitoring/events.py``) per answered instance, keyed by request id.
A request handler only puts records on a bounded in-process queue (:meth:`publish`: no I/O,
never blocks, never raises); one background thread serializes them and hands them to the Kafka
producer, whose own buffer holds them while the broker is slow or away (librdkafka retries; the
producer is idempotent, so a retry never writes a record twice).

Where each record ends up, counted in ``mlops_serving_kafka_records_total{result}``:

* ``delivered``: the broker acknowledged it;
* ``spilled``: it could not be delivered (the producer's buffer was full, delivery timed out
  after ``delivery_timeout_s``, or the server shut down before the broker came back) and was
  written to the file prediction log (``--log-dir``) instead, in that log's usual format;
* ``dropped``: it could not be delivered and there was no file log (or the log's queue was full).

So delivered + spilled + dropped = records published, once the sink is closed. The queue depth
(in-process queue + producer buffer) is ``mlops_serving_kafka_queue``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Callable, Mapping

from monitoring import events
from serving.prediction_log import stop_worker

log = logging.getLogger(__name__)
# librdkafka logs every failed reconnect; the sink says once per outage what matters (error_cb),
# so the client's own lines are kept for --log-level debug.
_client_log = logging.getLogger(__name__ + ".librdkafka")
_STOP = object()


class KafkaPredictionSink:
    """Background Kafka producer of prediction events with a bounded queue and a spill log.

    Args:
        conf: librdkafka settings (``monitoring.kafka_settings.client_config``).
        topic: The predictions topic.
        spill: The file prediction log (``serving.prediction_log.PredictionLogger``) that takes
            what cannot be delivered; None: such records are dropped (counted).
        max_queue: Records waiting at most (in-process queue, and again in the producer's buffer).
        delivery_timeout_s: How long the producer keeps trying to deliver a record.
        producer_factory: Makes the producer from a config (tests; ``confluent_kafka.Producer``).
    """

    def __init__(self, conf: Mapping[str, Any], topic: str, spill=None, max_queue: int = 20_000,
                 delivery_timeout_s: float = 120.0, producer_factory: Callable[[dict], Any] | None = None):
        self.topic = topic
        self.spill = spill
        self.max_queue = max(1, int(max_queue))
        self.conf = {
            "enable.idempotence": True,  # retries after a broker outage never duplicate a record
            "linger.ms": 5,
            "queue.buffering.max.messages": self.max_queue,
            "message.timeout.ms": int(delivery_timeout_s * 1000),
            **dict(conf),
        }
        self._factory = producer_factory
        self._queue: queue.Queue = queue.Queue(maxsize=self.max_queue)
        self._thread: threading.Thread | None = None
        self._producer = None
        self._lock = threading.Lock()
        self.delivered = self.spilled = self.dropped = 0
        self.on_count: Callable[[str, int], None] = lambda result, n: None
        self._broker_error_logged = False

    # -- called by request handlers ------------------------------------------------------------

    def publish(self, model: str, version: int, rows: list[Mapping[str, Any]], outputs: list[Mapping[str, Any]],
                request_id: str, latency_ms: float | None, timestamp: str | None = None) -> None:
        """Queues one prediction event per instance; never blocks (a full queue spills)."""
        ts = timestamp or events.now_iso()
        for i, (inp, out) in enumerate(zip(rows, outputs)):
            record = (request_id, i, model, version, ts, inp, out, latency_ms)
            if self._thread is None:
                self._spill(record, "the sink is not running")
                continue
            try:
                self._queue.put_nowait(record)
            except queue.Full:
                self._spill(record, "the queue is full")

    def queued(self) -> int:
        """Records not yet acknowledged nor spilled: in-process queue plus the producer's buffer."""
        producer = self._producer
        return self._queue.qsize() + (len(producer) if producer is not None else 0)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "KafkaPredictionSink":
        with self._lock:
            if self._thread is None:
                factory = self._factory
                if factory is None:
                    from confluent_kafka import Producer

                    factory = Producer
                if not _client_log.isEnabledFor(logging.DEBUG):
                    _client_log.setLevel(logging.CRITICAL)
                self._producer = factory({**self.conf, "error_cb": self._on_client_error, "logger": _client_log})
                self._thread = threading.Thread(target=self._run, name="kafka-prediction-sink", daemon=True)
                self._thread.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Sends what is queued, waits up to ``timeout`` for the broker, spills the rest."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        deadline = stop_worker(self._queue, thread, _STOP, timeout)
        producer = self._producer
        if producer is not None:
            left = producer.flush(max(0.0, deadline - time.monotonic()))
            if left:
                # purge() fails what is still buffered; the delivery callbacks spill it
                producer.purge(in_queue=True, in_flight=True, blocking=False)
                producer.flush(5.0)
        while True:  # whatever never reached the producer
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                self._spill(item, "shutdown before delivery")

    # -- background thread -----------------------------------------------------------------------

    def _run(self) -> None:
        producer = self._producer
        while True:
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                producer.poll(0)
                continue
            if item is _STOP:
                return
            self._produce(producer, item)
            # serve delivery callbacks without waiting; a burst is produced first, then polled
            if self._queue.empty():
                producer.poll(0)

    def _produce(self, producer, record) -> None:
        request_id, instance, model, version, ts, inp, out, latency_ms = record
        value = events.dumps(events.prediction(request_id, instance, model, version, ts, inp, out, latency_ms))

        def delivered(err, msg, record=record):
            if err is None:
                self._count("delivered", 1)
            else:
                self._spill(record, f"delivery failed: {err}")

        while True:
            try:
                producer.produce(self.topic, value=value, key=request_id.encode(), on_delivery=delivered)
                return
            except BufferError:
                # The producer's buffer is full (the broker is away): serve callbacks once, and if
                # that frees nothing, the record spills instead of waiting.
                if producer.poll(0) == 0:
                    self._spill(record, "the producer's buffer is full")
                    return

    def _on_client_error(self, err) -> None:
        if not self._broker_error_logged:  # once per outage, not once a retry
            log.warning("kafka prediction sink: %s (records wait in the queue, then spill to the file log)", err)
            self._broker_error_logged = True

    def _spill(self, record, why: str) -> None:
        request_id, instance, model, version, ts, inp, out, latency_ms = record
        if self.spill is not None:
            rec = {"timestamp": ts, "request_id": request_id, "instance": instance, "model": model, "version": version,
                   "inputs": dict(inp), "outputs": out, "latency_ms": latency_ms}
            if self.spill.log([rec]) == 0:
                self._count("spilled", 1)
                return
        self._count("dropped", 1)
        log.debug("prediction %s/%d dropped: %s", request_id, instance, why)

    def _count(self, result: str, n: int) -> None:
        with self._lock:
            setattr(self, result, getattr(self, result) + n)
        if result == "delivered":
            self._broker_error_logged = False
        self.on_count(result, n)
