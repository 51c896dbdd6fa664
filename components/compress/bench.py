"""Compression benchmark on a finished pipeline run: prints the Markdown table for docs/benchmarks.md.

Usage (in the project image, after ``mlops run ... --output-dir RUN``)::

    python -m components.compress.bench --run-dir RUN --config pipelines/configs/penguins.yaml

Uses the newest Trainer model and DataIngest examples under ``RUN/pipeline_root`` and the
config's ``compress`` section (variants, accuracy budget). Writes the variants, ``report.json``
and ``index.html`` to ``RUN/compress-bench`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path


def _latest(folder: Path) -> Path:
    ids = sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    if not ids:
        raise SystemExit(f"no artifact under {folder}; is this an `mlops run` output dir?")
    return ids[-1]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", required=True, help="an `mlops run --output-dir` folder")
    parser.add_argument("--config", default="pipelines/configs/penguins.yaml", help="pipeline config YAML")
    parser.add_argument("--out", help="where to write the variants and report (default RUN/compress-bench)")
    parser.add_argument("--no-prune", action="store_true", help="skip the pruned variant")
    parser.add_argument("--no-distill", action="store_true", help="skip the distilled variant")
    parser.add_argument("--latency-runs", type=int, default=500, help="single-example invokes per variant")
    args = parser.parse_args(argv)

    from components.common import examples_io
    from components.compress import logic
    from pipelines.config import load_config

    cfg = load_config(args.config)
    root = Path(args.run_dir) / "pipeline_root"
    model_dir = _latest(root / "Trainer" / "model") / "Format-Serving"
    examples = _latest(root / "DataIngest" / "examples")
    out = args.out or str(Path(args.run_dir) / "compress-bench")
    train = examples_io.read_split(str(examples), "train")
    evalset = examples_io.read_split(str(examples), "eval")
    report = logic.compress(
        str(model_dir), train, evalset, cfg.label, out,
        variants=cfg.compress.variants, accuracy_budget=cfg.compress.accuracy_budget,
        do_prune=not args.no_prune, do_distill=not args.no_distill, latency_runs=args.latency_runs,
        max_error_increase=cfg.compress.error_budget,
        log=lambda m: print(m, file=sys.stderr),
    )
    import tensorflow as tf

    print(f"Model: {model_dir}")
    print(f"Eval rows: {report.n_eval}; train rows (calibration, fine-tune, distillation): {report.n_train}; "
          f"accuracy budget: {report.accuracy_budget}")
    print(f"TensorFlow {tf.__version__}; CPU: {_cpu()}; latency = median of {args.latency_runs} single-example "
          f"invokes, 1 thread (SavedModel: serving_default incl. the TFT transform)")
    print()
    print(logic.markdown_table(report))
    print()
    print(f"Chosen: {report.reason}")
    for v in report.variants:
        if v.notes:
            print(f"- {v.name}: {v.notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
