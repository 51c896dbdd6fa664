"""``mlops monitor --stream`` and ``mlops label``: thin adapters over ``monitoring.monitor``.

    mlops monitor --stream --config pipelines/configs/penguins.yaml [--bootstrap-servers H:P]
                  [--report-dir runs/monitoring/penguins] [--metrics-port 9108] [--baseline URI]
                  [--window count|time] [--window-records N] [--window-seconds S] [--lateness-seconds S]
    mlops label --config pipelines/configs/penguins.yaml --request-id r-42 --label Adelie [--instance 0]
    mlops label --config pipelines/configs/penguins.yaml --file labels.csv    # request_id,label[,instance]

Exit codes: 0 after a clean stop (SIGINT/SIGTERM, or ``--max-windows`` / ``--idle-timeout-seconds``
reached), 2 usage or config error (one paragraph on stderr), 1 anything else.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import signal
import sys
import textwrap

EXIT_OK, EXIT_OTHER, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("monitoring")


def _fail(code: int, paragraph: str) -> int:
    print("\n" + textwrap.fill(paragraph, width=100, break_long_words=False, break_on_hyphens=False), file=sys.stderr)
    return code


def add_monitor_arguments(p: argparse.ArgumentParser) -> None:
    """The ``mlops monitor`` options."""
    p.add_argument("--stream", action="store_true", required=True,
                   help="consume predictions and ground truth from Kafka (the only mode; the hourly file-based "
                        "check is the model_monitoring DAG and `mlops drift`)")
    p.add_argument("--config", required=True, help="pipeline config: model, label, features, slices, monitoring.*")
    p.add_argument("--bootstrap-servers", metavar="HOST:PORT",
                   help="Kafka bootstrap servers (MLOPS_KAFKA_BOOTSTRAP_SERVERS wins; default monitoring.stream.bootstrap_servers)")
    p.add_argument("--group-id", help="consumer group (default monitoring.stream.group_id, else mlops-monitor-<name>)")
    p.add_argument("--report-dir", help="window reports (default monitoring.stream.report_dir, else runs/monitoring/<name>)")
    p.add_argument("--baseline", metavar="URI", help="training data for drift (default: data.uri of --config)")
    p.add_argument("--window", choices=["count", "time"], help="window kind (default monitoring.stream.window)")
    p.add_argument("--window-records", type=int, help="predictions per count window")
    p.add_argument("--window-seconds", type=float, help="seconds of prediction time per time window")
    p.add_argument("--lateness-seconds", type=float, help="how much later than its prediction a label may come")
    p.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus /metrics on 127.0.0.1:PORT (0: off)")
    p.add_argument("--max-windows", type=int, help="stop after this many windows (tests, backfills)")
    p.add_argument("--idle-timeout-seconds", type=float, help="stop when nothing new arrived for this long")
    p.add_argument("--session-timeout-ms", type=int, help="consumer session.timeout.ms (default: librdkafka's, 45000)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def add_label_arguments(p: argparse.ArgumentParser) -> None:
    """The ``mlops label`` options."""
    p.add_argument("--config", help="pipeline config (topic and bootstrap servers from monitoring.stream)")
    p.add_argument("--bootstrap-servers", metavar="HOST:PORT", help="Kafka bootstrap servers (MLOPS_KAFKA_BOOTSTRAP_SERVERS wins)")
    p.add_argument("--topic", help="ground-truth topic (default monitoring.stream.ground_truth_topic, mlops.ground-truth)")
    p.add_argument("--request-id", help="the X-Request-Id of the prediction")
    p.add_argument("--label", help="its true label")
    p.add_argument("--instance", type=int, default=0, help="index of the instance in that request (default 0)")
    p.add_argument("--file", help="CSV (request_id,label[,instance] header) or JSONL of such objects: many labels")


def _load(path: str):
    from pipelines.config import load_config

    return load_config(path)


def monitor_main(args) -> int:
    """Runs the streaming monitor; returns the exit code."""
    from components.common.storage import StorageError
    from components.drift.logic import DriftInputError
    from monitoring.kafka_settings import KafkaSettingsError
    from pipelines.config import ConfigError

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = _load(args.config)
        monitor = build_monitor(args, cfg)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"Config error: {exc}")
    except (KafkaSettingsError, ValueError, DriftInputError, StorageError) as exc:
        return _fail(EXIT_USAGE, f"mlops monitor: {exc}")
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1", registry=monitor.metrics.registry)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: monitor.stop())
    print(f"Monitoring {cfg.name}: {monitor.topics.predictions} + {monitor.topics.ground_truth} at "
          f"{monitor.conf['bootstrap.servers']} (group {monitor.group_id}); reports under {monitor.report_dir}",
          file=sys.stderr, flush=True)
    try:
        n = monitor.run(max_windows=args.max_windows, idle_timeout_s=args.idle_timeout_seconds)
    except Exception as exc:  # the broker refused a commit, a report could not be written, ...
        log.debug("monitor failed", exc_info=True)
        return _fail(EXIT_OTHER, f"mlops monitor stopped: {type(exc).__name__}: {exc}. Windows whose result was "
                                 "written are kept; a restart resumes after them.")
    print(f"Stopped after {n} window(s).", file=sys.stderr)
    return EXIT_OK


def build_monitor(args, cfg):
    """The :class:`~monitoring.monitor.StreamMonitor` that ``args`` and ``cfg`` describe."""
    from components.drift import data as drift_data
    from components.drift.logic import DriftSettings
    from monitoring.join import StreamJoiner
    from monitoring.kafka_settings import client_config
    from monitoring.monitor import StreamMonitor, Topics
    from monitoring.window_result import MonitorSpec, is_written

    stream = cfg.monitoring.stream
    conf = client_config(args.bootstrap_servers or stream.bootstrap_servers)
    baseline_uri = args.baseline or cfg.data.uri
    baseline = drift_data.read_table(baseline_uri, cfg.data.format if baseline_uri == cfg.data.uri else None)
    if cfg.data.rename:
        from components.ingest.logic import apply_rename

        baseline = apply_rename(baseline, cfg.data.rename)
    m = cfg.monitoring
    spec = MonitorSpec(
        model=cfg.push.model_name, task=cfg.task, label=cfg.label, features={f.name: f.type for f in cfg.features},
        slices=tuple(cfg.slices), positive_class=getattr(cfg.evaluation, "positive_class", None),
        thresholds={k: getattr(m, k) for k in ("min_accuracy", "min_precision", "min_recall", "max_mae", "max_rmse")},
        min_labeled=stream.min_labeled, drift_settings=DriftSettings.from_monitoring(m, window_size=0),
        baseline=baseline, baseline_uri=baseline_uri, config_path=args.config,
    )
    report_dir = args.report_dir or stream.report_dir or f"runs/monitoring/{cfg.name}"
    window = args.window or stream.window
    records = args.window_records or stream.window_records
    seconds = args.window_seconds or stream.window_seconds
    lateness = stream.lateness_seconds if args.lateness_seconds is None else args.lateness_seconds
    if records < 1 or seconds <= 0 or lateness < 0:
        raise ValueError("--window-records must be >= 1, --window-seconds > 0 and --lateness-seconds >= 0")
    joiner = StreamJoiner(spec.model, window, records, seconds, lateness, is_written=lambda wid: is_written(report_dir, wid))
    topics = Topics(stream.predictions_topic, stream.ground_truth_topic, stream.results_topic, stream.dead_letter_topic)
    overrides = {"session.timeout.ms": args.session_timeout_ms} if args.session_timeout_ms else {}
    return StreamMonitor(conf, args.group_id or stream.group_id or f"mlops-monitor-{cfg.name}", topics, spec, joiner,
                         report_dir, consumer_overrides=overrides)


def _labels_from(args) -> list[tuple[str, str, int]]:
    if args.file:
        with open(args.file, newline="") as f:
            if args.file.endswith((".jsonl", ".json")):
                rows = [json.loads(line) for line in f if line.strip()]
            else:
                rows = list(csv.DictReader(f))
        out = []
        for i, row in enumerate(rows, 1):
            if not row.get("request_id") or row.get("label") in (None, ""):
                raise ValueError(f"{args.file}: row {i} lacks request_id or label")
            out.append((str(row["request_id"]), row["label"], int(row.get("instance") or 0)))
        return out
    if not args.request_id or args.label is None:
        raise ValueError("give --request-id and --label (one label), or --file (many)")
    return [(args.request_id, args.label, args.instance)]


def label_main(args) -> int:
    """Sends ground-truth labels to the ground-truth topic; returns the exit code."""
    from monitoring import events
    from monitoring.kafka_settings import KafkaSettingsError, client_config
    from pipelines.config import ConfigError

    try:
        cfg = _load(args.config) if args.config else None
        stream = cfg.monitoring.stream if cfg else None
        conf = client_config(args.bootstrap_servers or (stream.bootstrap_servers if stream else None))
        topic = args.topic or (stream.ground_truth_topic if stream else "mlops.ground-truth")
        labels = _labels_from(args)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"Config error: {exc}")
    except (KafkaSettingsError, ValueError, OSError) as exc:
        return _fail(EXIT_USAGE, f"mlops label: {exc}")
    from confluent_kafka import Producer

    producer = Producer({**conf, "enable.idempotence": True, "message.timeout.ms": 30000})
    failed = []
    for request_id, label, instance in labels:
        event = events.ground_truth(request_id, label, instance)
        producer.produce(topic, value=events.dumps(event), key=request_id.encode(),
                         on_delivery=lambda err, msg: failed.append(err) if err else None)
        producer.poll(0)
    left = producer.flush(35)
    if failed or left:
        return _fail(EXIT_OTHER, f"mlops label: {len(failed) + left} of {len(labels)} labels were not delivered to "
                                 f"{topic} at {conf['bootstrap.servers']} ({failed[0] if failed else 'timed out'}). "
                                 "Check the bootstrap servers and the broker, then send them again.")
    print(f"sent {len(labels)} label(s) to {topic}")
    return EXIT_OK
