"""The ``mlops`` command line: init, schema, run, compile, suite, serve, drift, monitor, label.

Exit codes (a contract for the Airflow DAGs and CI):
    0 success · 2 usage or config error · 3 stopped by the data gate (or held by the drift check)
    · 4 model not blessed · 1 other.
On a non-zero exit the last stderr lines are one paragraph a person can act on.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import Sequence

from pipelines.exit_codes import ExitCode

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_GATE, EXIT_NOT_BLESSED = (
    ExitCode.OK, ExitCode.OTHER, ExitCode.USAGE, ExitCode.GATE, ExitCode.NOT_BLESSED)


def _drift_line(drift: dict) -> str:
    """One line on the DriftCheck verdict: the new data vs the serving model's training data."""
    if drift.get("baseline_uri") is None:
        return f"not checked: {drift.get('reason') or 'no baseline'}"
    if drift.get("drifted"):
        return (
            f"new data drifted from the serving model's training data in {', '.join(drift.get('drifted_features') or [])} "
            f"(max score {drift.get('max_score', 0):.3f} > {drift.get('threshold')})"
        )
    return f"none above {drift.get('threshold')} (max score {drift.get('max_score', 0):.3f}) vs the serving model's training data"


def _print_tracking(summary, stream, output_dir: str) -> None:
    """The run's index page, and the MLflow run and registered version it wrote (or why not)."""
    from pipelines.tracking.logic import summary_lines

    index = os.path.join(output_dir, "reports", "index.html")
    if os.path.exists(index):
        print(f"  index:   {index}", file=stream)
    for line in summary_lines(getattr(summary, "tracking", None)):
        print(f"  {line}", file=stream)


def _fail(code: int, paragraph: str) -> int:
    print("\n" + textwrap.fill(paragraph, width=100, break_long_words=False, break_on_hyphens=False), file=sys.stderr)
    return code


def _load(args) -> "PipelineConfig":  # noqa: F821
    from pipelines.config import load_config

    overrides = {}
    if getattr(args, "data_uri", None):
        overrides["data.uri"] = args.data_uri
    if getattr(args, "push_destination", None):
        overrides["push.destination"] = args.push_destination
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(_fail(EXIT_USAGE, f"--set expects KEY=VALUE, got {item!r}"))
        import yaml

        overrides[key] = yaml.safe_load(value)
    return load_config(args.config, overrides)


def cmd_init(args) -> int:
    """Write a pipeline config for a CSV/Parquet file from a sample of it (types, slices, thresholds)."""
    from pipelines.scaffold import main as init_main

    return init_main(args)


def cmd_schema(args) -> int:
    """Curate the config's TFDV schema and GE suite from the data (ranges, categories, presence)."""
    from pipelines.schema_curation import main as schema_main

    return schema_main(args)


def cmd_run(args) -> int:
    """Run the pipeline locally (LocalDagRunner, SQLite MLMD, caching on)."""
    from pipelines.local.run import run_local

    from components.common.writable import ensure_writable_dir

    cfg = _load(args)
    # Before minutes of work: every local folder the run writes (run folder, its reports, the push destination).
    ensure_writable_dir(args.output_dir, "the run folder (--output-dir)", "pass an --output-dir you can write")
    ensure_writable_dir(cfg.push.destination, "the push destination (push.destination)",
                        "set push.destination (or --push-destination) to a folder you can write, or an s3:// or gs:// URI")
    print(f"Running pipeline '{cfg.name}' from {args.config} into {args.output_dir}", file=sys.stderr, flush=True)
    log_path = os.path.join(args.output_dir, "run.log")
    if args.verbose:
        summary = run_local(cfg, args.output_dir, verbose=True)
    else:
        from pipelines.run_log import library_output_to

        if os.path.exists(log_path):
            os.remove(log_path)
        with library_output_to(log_path) as terminal:
            summary = run_local(cfg, args.output_dir, progress=terminal, verbose=True)  # all of it, into the file
    run_json = os.path.join(args.output_dir, "run.json")
    dropped = (summary.data or {}).get("rows_dropped", 0)
    if dropped:
        read = summary.data.get("rows_read")
        print(f"warning: {dropped}{f' of {read}' if read else ''} rows had missing values and were dropped "
              "(data.drop_incomplete_rows); the count is in run.json `data`. To keep such rows, mark the features "
              "that may be missing `missing: impute` (the model fills them in)", file=sys.stderr)
    if summary.status == "succeeded":
        print("\nPipeline succeeded.")
        if summary.pushed:
            state = "pushed" if summary.pushed.get("created", True) else "already serving (identical model)"
            print(f"  model:   {summary.pushed['path']}  (version {summary.pushed['version']}, {state})")
        for name, value in sorted(summary.metrics.items()):
            shown = f"{int(value)}" if float(value).is_integer() and name.endswith("count") else f"{value:.4f}"
            print(f"  metric:  {name} = {shown}")
        if summary.drift:
            # A cached check is the verdict of the run that computed it, on this same data.
            cached = summary.components.get("DriftCheck", {}).get("state") == "cached"
            print(f"  drift:   {_drift_line(summary.drift)}" + ("  (cached: the verdict of an earlier run on the same data)" if cached else ""))
        executed = [n for n, c in summary.components.items() if c.get("state") == "executed"]
        if summary.components and not executed:
            print("  cache:   nothing executed: every step's inputs and parameters were unchanged")
        for name, path in sorted(summary.reports.items()):
            print(f"  report:  {name}: {path}")
        print(f"  summary: {run_json}")
        _print_tracking(summary, sys.stdout, args.output_dir)
        if not args.verbose:
            print(f"  log:     {log_path}")
        return EXIT_OK
    for name, path in sorted(summary.reports.items()):
        print(f"  report:  {name}: {path}", file=sys.stderr)
    print(f"  summary: {run_json}", file=sys.stderr)
    _print_tracking(summary, sys.stderr, args.output_dir)
    if not args.verbose:
        print(f"  log:     {log_path}", file=sys.stderr)
    if summary.status == "gate_failed":
        return _fail(EXIT_GATE, summary.reason or "The data gate stopped the pipeline.")
    if summary.status == "not_blessed":
        return _fail(EXIT_NOT_BLESSED, summary.reason or "The model was not blessed; nothing was pushed.")
    where = "the log above" if args.verbose else log_path
    return _fail(EXIT_OTHER, f"The pipeline failed: {summary.reason}. Details are in {where} and in {run_json}.")


def cmd_compile(args) -> int:
    """Compile to KFP v2 YAML (Kubeflow Pipelines / Vertex AI Pipelines)."""
    from pipelines.kubeflow.conformance import NonConformingSpec
    from pipelines.kubeflow.compiler import compile_kubeflow

    from components.common.writable import ensure_writable_parent

    cfg = _load(args)
    ensure_writable_parent(args.output, "the compiled spec's folder (--output)", "pass an --output in a folder you can write")
    if args.image:
        import dataclasses

        cfg = cfg.replace(kubeflow=dataclasses.replace(cfg.kubeflow, image=args.image))
    from pipelines.kubeflow.targets import TargetError

    target = args.target or cfg.kubeflow.target
    try:
        out = compile_kubeflow(cfg, args.output, pipeline_root=args.pipeline_root, target=target)
    except TargetError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except NonConformingSpec as exc:
        return _fail(EXIT_USAGE, f"Not compiled: {exc}")
    print(f"Wrote {out} (target {target}, image {cfg.kubeflow.image})")
    return EXIT_OK


def cmd_suite(args) -> int:
    """Write the Great Expectations suite derived from the config's curated schema."""
    from pipelines.pipeline import resolve_repo_path
    from components.ge_validation.suite import suite_from_schema, write_suite

    cfg = _load(args)
    if not cfg.schema.path or not cfg.validation.expectation_suite:
        return _fail(EXIT_USAGE, f"{args.config}: set schema.path and validation.expectation_suite to write a suite")
    from tfx.utils import io_utils

    schema = io_utils.SchemaReader().read(resolve_repo_path(cfg.schema.path))
    target = resolve_repo_path(cfg.validation.expectation_suite)
    write_suite(suite_from_schema(schema, f"{cfg.name}-suite"), target)
    print(f"Wrote {target}")
    return EXIT_OK


def cmd_serve(args) -> int:
    """Serve the newest pushed model over REST (TF-Serving compatible) with /metrics."""
    from serving.server import main as serve_main  # noqa: WPS433 (optional subsystem)

    return serve_main(args)


def cmd_drift(args) -> int:
    """Compute feature drift of new data against the training data; JSON + HTML report."""
    from components.drift.cli import main as drift_main

    return drift_main(args)


def cmd_monitor(args) -> int:
    """Watch the served model on Kafka: predictions joined with ground truth, windowed quality and drift."""
    from monitoring.cli import monitor_main

    return monitor_main(args)


def cmd_label(args) -> int:
    """Send ground-truth labels (request id + label) to the monitoring ground-truth topic."""
    from monitoring.cli import label_main

    return label_main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlops",
        description="Train, validate, ship and watch TensorFlow models with TFX.",
        epilog="Exit codes: 0 ok, 2 usage/config error, 3 data gate stop or drift hold, 4 not blessed, 1 other.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--config", required=True, help="pipeline config YAML, e.g. pipelines/configs/penguins.yaml")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (dotted), repeatable")

    from pipelines import schema_curation, scaffold

    i = sub.add_parser("init", help=cmd_init.__doc__, description=cmd_init.__doc__)
    scaffold.add_arguments(i)
    i.set_defaults(func=cmd_init)

    sc = sub.add_parser("schema", help=cmd_schema.__doc__, description=cmd_schema.__doc__)
    schema_curation.add_arguments(sc)
    sc.set_defaults(func=cmd_schema)

    r = sub.add_parser("run", help=cmd_run.__doc__, description=cmd_run.__doc__)
    common(r)
    r.add_argument("--output-dir", required=True, help="run folder: pipeline root, MLMD, reports/, run.json")
    r.add_argument("--data-uri", help="override data.uri (local path, s3://, gs://)")
    r.add_argument("--push-destination", help="override push.destination")
    r.add_argument("-v", "--verbose", action="store_true", help="show every log line of TFX, Beam and TF")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compile", help=cmd_compile.__doc__, description=cmd_compile.__doc__)
    common(c)
    c.add_argument("--output", required=True, help="YAML file to write")
    c.add_argument("--image", help="container image for every task (default: kubeflow.image)")
    c.add_argument("--pipeline-root", help="artifact root (default: kubeflow.pipeline_root), e.g. gs://bucket/root")
    c.add_argument("--target", choices=("local", "kfp", "vertex"),
                   help="local: kfp.local on this machine; kfp: open-source Kubeflow Pipelines; vertex: Vertex AI "
                        "(one YAML document, Vertex GPU type). Remote targets refuse a local image, root, push "
                        "destination or data. Default: kubeflow.target, else local")
    c.set_defaults(func=cmd_compile)

    s = sub.add_parser("suite", help=cmd_suite.__doc__, description=cmd_suite.__doc__)
    common(s)
    s.set_defaults(func=cmd_suite)

    try:
        from serving.server import add_arguments as add_serve_args
    except ImportError:
        add_serve_args = None
    if add_serve_args is not None:
        sv = sub.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
        add_serve_args(sv)
        sv.set_defaults(func=cmd_serve)
    try:
        from components.drift.cli import add_arguments as add_drift_args
    except ImportError:
        add_drift_args = None
    if add_drift_args is not None:
        d = sub.add_parser("drift", help=cmd_drift.__doc__, description=cmd_drift.__doc__)
        add_drift_args(d)
        d.set_defaults(func=cmd_drift)
    from monitoring.cli import add_label_arguments, add_monitor_arguments  # standard library only at import

    mo = sub.add_parser("monitor", help=cmd_monitor.__doc__, description=cmd_monitor.__doc__)
    add_monitor_arguments(mo)
    mo.set_defaults(func=cmd_monitor)
    lb = sub.add_parser("label", help=cmd_label.__doc__, description=cmd_label.__doc__)
    add_label_arguments(lb)
    lb.set_defaults(func=cmd_label)
    return p


def main(argv: Sequence[str] | None = None, hard_exit: bool = True) -> int:
    """Entry point of the ``mlops`` console script.

    Args:
        argv: Arguments (default: sys.argv).
        hard_exit: End the process with ``os._exit`` once output is flushed. TFT/Beam objects
            alive at interpreter shutdown can segfault (rc 139) after the work succeeded, which
            would turn a good run into a failed task; in-process callers pass False.
    """
    code = _main(argv)
    if hard_exit:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    from pipelines.config import ConfigError

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    from components.common.writable import UnwritableLocation, describe_os_error

    try:
        return args.func(args)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"Config error: {exc}")
    except UnwritableLocation as exc:
        return _fail(EXIT_USAGE, str(exc))
    except PermissionError as exc:  # a location no up-front check covered: still the path, not a traceback
        where = exc.filename or "a file"
        return _fail(EXIT_USAGE, f"Cannot write {where}: {describe_os_error(exc)}. Choose a location you can write "
                                 "or make this one writable, and run the command again.")
    except KeyboardInterrupt:
        return _fail(EXIT_OTHER, "Interrupted.")


if __name__ == "__main__":
    sys.exit(main())
