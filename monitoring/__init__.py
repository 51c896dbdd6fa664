"""Streaming model monitoring over Kafka (issue 25): event schemas, client settings, the join of
predictions with ground truth, windowed quality and drift, reports and result events.

Modules, by concept:

* ``events``: the versioned JSON schema of every topic (build, validate on consume).
* ``kafka_settings``: librdkafka client settings from env vars / config (bootstrap, SASL/SSL).
* ``join``: predictions joined with ground truth by request id within a lateness; windows.
* ``quality``: per-window quality metrics (classification / regression) and latency percentiles.
* ``window_result``: one window's result (metrics, slices, drift, verdict) and its reports.
* ``monitor``: the consumer loop (thin adapter over confluent-kafka).
* ``cli``: ``mlops monitor --stream`` and ``mlops label``.

Nothing here depends on a particular broker: any Kafka-protocol cluster works.
"""
