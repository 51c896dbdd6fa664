"""``mlops drift``: feature drift of new data (or serving prediction logs) against the training data.

    mlops drift --config pipelines/configs/penguins.yaml \\
        --baseline package://palmerpenguins/data/penguins.csv \\
        --current runs/prediction-logs/penguins/ --output-dir runs/drift

Writes ``<output-dir>/drift.json`` (:meth:`DriftReport.to_dict`) and ``<output-dir>/drift.html``
(table plus one plot per feature), and prints a table.

``--baseline`` defaults to the config's ``data.uri``. ``--current`` is a CSV, Parquet or JSONL
file, or a folder/prefix of them (e.g. the ``mlops serve --log-dir`` folder of a model: every
``.jsonl`` under it, newest last). Only the newest ``monitoring.window_size`` rows are compared.

Exit codes: **0** no drift; **5** drift detected (at least one feature's score > threshold);
2 usage, config or input error (a missing column, an unreadable file); 1 anything else.
Host code (Airflow) can import :func:`run` and :mod:`components.drift.logic` without TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from components.drift.choices import CATEGORICAL_METRICS, FORMATS, NUMERIC_METRICS

from pipelines.exit_codes import ExitCode

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DRIFT = ExitCode.OK, ExitCode.OTHER, ExitCode.USAGE, ExitCode.DRIFT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the ``mlops drift`` options to ``parser``."""
    parser.add_argument("--config", required=True, help="pipeline config YAML (features, label, monitoring thresholds)")
    parser.add_argument("--baseline", help="training data: csv/parquet/jsonl file or folder (default: data.uri of the config)")
    parser.add_argument("--current", required=True,
                        help="new data: csv/parquet/jsonl file, or a folder/prefix (e.g. a prediction log folder)")
    parser.add_argument("--output-dir", required=True, help="where drift.json and drift.html go (local path, s3://, gs://)")
    parser.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                        help="format of --current files (default: from the file suffix)")
    parser.add_argument("--threshold", type=float, help="override monitoring.drift_threshold (drift iff score > threshold)")
    parser.add_argument("--numeric-metric", choices=NUMERIC_METRICS, help="override monitoring.numeric_metric")
    parser.add_argument("--categorical-metric", choices=CATEGORICAL_METRICS, help="override monitoring.categorical_metric")
    parser.add_argument("--window-size", type=int, help="override monitoring.window_size (0 = every row)")
    parser.add_argument("--no-plots", action="store_true", help="HTML without plots (faster)")
    parser.epilog = "Exit codes: 0 no drift, 5 drift detected, 2 usage/config/input error, 1 other."


def run(
    config,
    current_uri: str,
    output_dir: str | None = None,
    baseline_uri: str | None = None,
    current_format: str | None = None,
    plots: bool = True,
    **overrides,
) -> "DriftReport":  # noqa: F821
    """Computes (and optionally writes) a drift report for a loaded ``PipelineConfig``.

    Raises:
        DriftInputError: Unreadable input, missing column, bad override.
    """
    from components.common import storage
    from components.drift import data as drift_data
    from components.drift.logic import DriftSettings, compute_drift

    settings = DriftSettings.from_monitoring(config.monitoring, **overrides)
    baseline_uri = baseline_uri or config.data.uri
    base_fmt = config.data.format if baseline_uri == config.data.uri else None
    from components.ingest.logic import apply_rename

    # Files may carry the source headers (data.rename maps them); prediction logs carry the names.
    baseline = apply_rename(drift_data.read_table(baseline_uri, base_fmt), config.data.rename)
    current = apply_rename(drift_data.read_table(current_uri, current_format), config.data.rename)
    report = compute_drift(
        baseline, current, config.features, settings, label=config.label,
        baseline_uri=baseline_uri, current_uri=current_uri,
    )
    if output_dir:
        storage.write_bytes(storage.join(output_dir, "drift.json"), report.to_json().encode())
        storage.write_bytes(storage.join(output_dir, "drift.html"), report.to_html(plots=plots).encode())
    return report


def _fail(code: int, paragraph: str) -> int:
    print("\n" + textwrap.fill(paragraph, width=100, break_long_words=False, break_on_hyphens=False), file=sys.stderr)
    return code


def main(args) -> int:
    """Runs ``mlops drift``; returns 0 (no drift), 5 (drift), 2 (usage/input error) or 1."""
    from components.common import storage
    from components.drift.logic import DriftInputError
    from components.common.writable import UnwritableLocation, ensure_writable_dir
    from pipelines.config import ConfigError, load_config

    try:
        ensure_writable_dir(args.output_dir, "the report folder (--output-dir)", "pass an --output-dir you can write")
        cfg = load_config(args.config)
        report = run(
            cfg, args.current, args.output_dir, baseline_uri=args.baseline,
            current_format=None if args.format == "auto" else args.format, plots=not args.no_plots,
            threshold=args.threshold, numeric_metric=args.numeric_metric,
            categorical_metric=args.categorical_metric, window_size=args.window_size,
        )
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"Config error: {exc}")
    except (DriftInputError, storage.StorageError) as exc:
        return _fail(EXIT_USAGE, f"mlops drift: {exc}")
    except UnwritableLocation as exc:
        return _fail(EXIT_USAGE, str(exc))
    print("\n".join(report.summary_lines()))
    out = args.output_dir
    print(f"\n  report: {storage.join(out, 'drift.html')}\n  json:   {storage.join(out, 'drift.json')}")
    if report.drifted:
        s = report.settings
        return _fail(
            EXIT_DRIFT,
            f"Drift detected in {', '.join(report.drifted_features)} (score > threshold {s.threshold:g}; "
            f"numeric {s.numeric_metric}, categorical {s.categorical_metric}, {report.current_rows} newest rows of "
            f"{args.current} vs {report.baseline_rows} rows of {report.baseline_uri}). Open "
            f"{os.path.join(out, 'drift.html')} to see which values moved, then retrain on recent data or fix the source.",
        )
    print(f"\nNo drift: every score <= {report.settings.threshold:g}.")
    return EXIT_OK


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="mlops drift", description=__doc__.split("\n")[0])
    add_arguments(p)
    sys.exit(main(p.parse_args()))
