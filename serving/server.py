"""``mlops serve``: serve the newest complete pushed version over REST, with /metrics.

    mlops serve --models runs/models --model penguins [--host 127.0.0.1] [--port 8501]
                [--log-dir runs/prediction-logs | s3://bucket/logs | gs://bucket/logs]
                [--poll-seconds 2] [--load-retry-max-seconds 300] [--max-body-bytes 1048576]
                [--config pipelines/configs/penguins.yaml]   # defaults for the above + drift
                [--baseline <training data uri>]
                [--kafka [--bootstrap-servers H:P] [--kafka-topic T]]   # predictions to Kafka (docs/monitoring.md)

``--config`` supplies ``push.destination`` / ``push.model_name`` as defaults for ``--models`` /
``--model`` and turns on the online drift monitor with ``monitoring.*`` and ``data.uri`` as
the baseline (``--no-drift`` turns it off).

Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM; the prediction log is flushed first),
2 usage or config error, 1 anything else (e.g. the port is taken).

:class:`BackgroundServer` runs an app with uvicorn in a thread on a free loopback port (tests,
benchmarks).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import threading
import time

EXIT_OK, EXIT_OTHER, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("serving")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the ``mlops serve`` options to ``parser``."""
    parser.add_argument("--models", metavar="DESTINATION",
                        help="push destination holding <model>/<version>/ (local path, s3://, gs://); "
                             "default: push.destination of --config")
    parser.add_argument("--model", metavar="NAME",
                        help="model name (folder under --models), or a registry alias models:/<name>@<alias> "
                             "(e.g. models:/penguins@production; MLflow at MLFLOW_TRACKING_URI or tracking.uri of --config); "
                             "default: push.model_name of --config")
    parser.add_argument("--config", help="pipeline config YAML: defaults for --models/--model, and the drift monitor's settings")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501, TF Serving's REST port)")
    parser.add_argument("--log-dir", metavar="URI",
                        help="write prediction logs (JSONL) under URI/<model>/ (local path, s3://, gs://); default: off")
    parser.add_argument("--log-batch-size", type=int, default=500, help="records per log object (default 500)")
    parser.add_argument("--log-flush-seconds", type=float, default=5.0, help="flush the log at least this often (default 5)")
    parser.add_argument("--log-max-queue", type=int, default=20_000,
                        help="records queued at most; more are dropped and counted (default 20000)")
    parser.add_argument("--kafka", action="store_true",
                        help="send each prediction to Kafka (monitoring.stream.predictions_topic) instead of the file log; "
                             "with --log-dir, what cannot be delivered spills there (docs/monitoring.md). "
                             "Default: monitoring.stream.publish_predictions of --config")
    parser.add_argument("--bootstrap-servers", metavar="HOST:PORT",
                        help="Kafka bootstrap servers (MLOPS_KAFKA_BOOTSTRAP_SERVERS wins; "
                             "default: monitoring.stream.bootstrap_servers of --config)")
    parser.add_argument("--kafka-topic", help="predictions topic (default: monitoring.stream.predictions_topic, mlops.predictions)")
    parser.add_argument("--kafka-max-queue", type=int, default=20_000,
                        help="prediction events waiting for the broker at most; more spill to --log-dir (default 20000)")
    parser.add_argument("--kafka-delivery-timeout-seconds", type=float, default=120.0,
                        help="how long an event is retried while the broker is away before it spills (default 120)")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="how often to look for a new version (default 2)")
    parser.add_argument("--load-retry-max-seconds", type=float, default=300.0,
                        help="a version that fails to load is retried after --poll-seconds, then twice as long each time, "
                             "up to this (default 300)")
    parser.add_argument("--max-body-bytes", type=int, default=1 << 20, help="larger request bodies get 413 (default 1 MiB)")
    parser.add_argument("--max-instances", type=int, default=10_000, help="more instances per request get 413 (default 10000)")
    parser.add_argument("--explain-max-instances", type=int, default=10,
                        help=":explain takes at most this many instances per request, else 413 (default 10)")
    parser.add_argument("--explain-timeout-seconds", type=float, default=30.0,
                        help=":explain's time budget per request; past it, 408 (default 30)")
    parser.add_argument("--explain-workers", type=int, default=1,
                        help="threads of :explain's own pool, apart from :predict's (default 1)")
    parser.add_argument("--baseline", metavar="URI",
                        help="training data (csv/parquet) for the online drift monitor; default: data.uri of --config")
    parser.add_argument("--label", help="label column of the baseline (compared with predicted_class); default: label of --config")
    parser.add_argument("--no-drift", action="store_true", help="turn the online drift monitor off")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="server log level")


def _fail(code: int, paragraph: str) -> int:
    print("\n" + textwrap.fill(paragraph, width=100, break_long_words=False, break_on_hyphens=False), file=sys.stderr)
    return code


def build_app(args):
    """The app described by parsed ``args`` (raises ValueError for usage errors)."""
    from serving.app import create_app
    from serving.model import PushDestinationSource
    from serving.prediction_log import PredictionLogger

    cfg = None
    if getattr(args, "config", None):
        from pipelines.config import load_config

        cfg = load_config(args.config)
    destination = args.models or (cfg.push.destination if cfg else None)
    name = args.model or (cfg.push.model_name if cfg else None)
    from serving.registry_source import parse_models_uri

    registry = parse_models_uri(name) if name else None
    if registry:
        name, destination = registry[0], destination or "models:/"  # the alias's version names its destination
    if not destination or not name:
        raise ValueError("say what to serve: --models <push destination> --model <name>, or --config <pipeline config>")
    for option, value in (("--port", args.port), ("--max-body-bytes", args.max_body_bytes), ("--max-instances", args.max_instances)):
        if value is None or value < (0 if option == "--port" else 1):
            raise ValueError(f"{option} must be a positive number, got {value}")
    if args.poll_seconds <= 0:
        raise ValueError(f"--poll-seconds must be > 0, got {args.poll_seconds}")
    for option, value in (("--explain-max-instances", args.explain_max_instances), ("--explain-workers", args.explain_workers),
                          ("--explain-timeout-seconds", args.explain_timeout_seconds)):
        if value <= 0:
            raise ValueError(f"{option} must be > 0, got {value}")
    if args.load_retry_max_seconds <= 0:
        raise ValueError(f"--load-retry-max-seconds must be > 0, got {args.load_retry_max_seconds}")
    source = _registry_source(registry, cfg) if registry else PushDestinationSource(destination, name)
    logger = None
    if args.log_dir:
        logger = PredictionLogger(args.log_dir, name, batch_size=args.log_batch_size,
                                  flush_seconds=args.log_flush_seconds, max_queue=args.log_max_queue)
    sink = _kafka_sink(args, cfg, logger)
    monitor = None
    baseline_uri = args.baseline or (cfg.data.uri if cfg else None)
    if baseline_uri and not args.no_drift:
        from components.drift import data as drift_data
        from components.drift.logic import DriftSettings
        from serving.monitor import DriftMonitor

        settings = DriftSettings.from_monitoring(cfg.monitoring) if cfg else DriftSettings()
        fmt = cfg.data.format if cfg and baseline_uri == cfg.data.uri else None
        baseline = drift_data.read_table(baseline_uri, fmt)
        if cfg and cfg.data.rename:  # the training file's headers -> the names requests use
            from components.ingest.logic import apply_rename

            baseline = apply_rename(baseline, cfg.data.rename)
        features = {f.name: f.type for f in cfg.features} if cfg else {}
        label = args.label or (cfg.label if cfg else None)
        monitor = DriftMonitor(baseline, features, settings, label=label)
        log.info("drift monitor: baseline %s (%d rows), window %d, threshold %g",
                 baseline_uri, len(baseline), settings.window_size, settings.threshold)
    app = create_app(source, poll_seconds=args.poll_seconds, max_body_bytes=args.max_body_bytes,
                     max_instances=args.max_instances, prediction_logger=logger, drift_monitor=monitor,
                     load_retry_max_seconds=args.load_retry_max_seconds, prediction_sink=sink,
                     explain_max_instances=args.explain_max_instances,
                     explain_timeout_seconds=args.explain_timeout_seconds, explain_workers=args.explain_workers)
    return app, source


def _kafka_sink(args, cfg, spill):
    """The Kafka prediction sink when ``--kafka`` or ``monitoring.stream.publish_predictions`` asks for one."""
    stream = cfg.monitoring.stream if cfg else None
    if not (getattr(args, "kafka", False) or (stream and stream.publish_predictions)):
        return None
    from monitoring.kafka_settings import KafkaSettingsError, client_config, redacted
    from serving.kafka_sink import KafkaPredictionSink

    try:
        conf = client_config(getattr(args, "bootstrap_servers", None) or (stream.bootstrap_servers if stream else None))
    except KafkaSettingsError as exc:
        raise ValueError(str(exc)) from None
    max_queue = getattr(args, "kafka_max_queue", 20_000)
    delivery_timeout = getattr(args, "kafka_delivery_timeout_seconds", 120.0)
    if max_queue < 1 or delivery_timeout <= 0:
        raise ValueError("--kafka-max-queue must be >= 1 and --kafka-delivery-timeout-seconds > 0")
    topic = getattr(args, "kafka_topic", None) or (stream.predictions_topic if stream else "mlops.predictions")
    log.info("predictions to Kafka topic %s at %s (%s)", topic, conf["bootstrap.servers"],
             "undeliverable ones spill to the file log" if spill else "no --log-dir: undeliverable ones are dropped, counted")
    log.debug("kafka settings: %s", redacted(conf))
    return KafkaPredictionSink(conf, topic, spill=spill, max_queue=max_queue, delivery_timeout_s=delivery_timeout)


def _registry_source(registry: tuple[str, str], cfg):
    """The source for ``--model models:/<name>@<alias>`` (``MLFLOW_TRACKING_URI`` wins over ``tracking.uri``)."""
    from pipelines.pipeline import REPO_ROOT
    from pipelines.tracking.logic import tracking_uri
    from serving.registry_source import RegistryAliasSource

    uri = tracking_uri(cfg.tracking.uri if cfg else None, os.environ, REPO_ROOT)
    return RegistryAliasSource(registry[0], registry[1], uri, cfg.tracking.timeout_seconds if cfg else 10.0)


def main(args) -> int:
    """Runs the server until SIGINT/SIGTERM; returns the exit code."""
    import uvicorn

    from components.common.storage import StorageError
    from components.drift.logic import DriftInputError
    from pipelines.config import ConfigError

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app, source = build_app(args)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"Config error: {exc}")
    except (ValueError, DriftInputError, StorageError) as exc:
        return _fail(EXIT_USAGE, f"mlops serve: {exc}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("binding %s: the server is reachable from other machines (no authentication)", args.host)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=30, lifespan="on")
    server = uvicorn.Server(config)
    print(f"Serving {source.describe()} as {source.name!r} on http://{args.host}:{args.port}/v1/models/{source.name} "
          f"(metrics: /metrics, readiness: /readyz)", file=sys.stderr, flush=True)
    # uvicorn handles SIGINT/SIGTERM (graceful shutdown, prediction log flushed), then re-raises
    # the signal to the handler installed before it: make that one a no-op so that a requested
    # shutdown ends with exit code 0 instead of death by signal.
    import signal

    stopped_by = []
    previous = {sig: signal.signal(sig, lambda signum, frame: stopped_by.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        return _fail(EXIT_OTHER, f"The server did not start on {args.host}:{args.port}; is the port already in use? "
                                 "Pick another one with --port.")
    return EXIT_OK


class BackgroundServer:
    """uvicorn serving ``app`` in a daemon thread on 127.0.0.1 and a free port.

    Use as a context manager; ``url`` is the base URL. Exiting shuts the server down
    gracefully (the app's lifespan shutdown runs: poller stopped, prediction log flushed).
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        import uvicorn

        self.config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on",
                                     timeout_graceful_shutdown=10)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
