"""What the Evaluator's per-example cost buys: TFMA with and without slices, the confusion plot,
the model's compiled metrics and a fixed inference batch size, on the same model and eval split.

It trains once with ``mlops run`` (the penguins config on generated data, as
``benchmarks/pipeline_overhead.py`` does), then runs ``tfma.run_model_analysis`` on the run's
eval split with the Trainer's model for each variant of the EvalConfig the pipeline builds
(``pipelines.pipeline.eval_config``), alternating variants over ``--repeats`` rounds so a busy
machine weighs on all of them alike. Prints seconds, eval rows/s and the ratio to the EvalConfig
as configured.

Usage (in the project image):
    python -m benchmarks.evaluator_cost --rows 100000 --repeats 2
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, scratch, write_results
from benchmarks.pipeline_overhead import bench_config, cli_run, generate


def variants(full):
    """The EvalConfig as the pipeline builds it; with the model's compiled metrics back (TFMA's
    default, what the pipeline computed before); with one per-example cost removed each; and with
    a fixed inference batch size instead of Beam's adaptive batching."""
    from google.protobuf import wrappers_pb2

    def with_compiled(c):
        c.options.include_default_metrics.CopyFrom(wrappers_pb2.BoolValue(value=True))

    def without_slices(c):
        del c.slicing_specs[1:]

    def without_plot(c):
        for spec in c.metrics_specs:
            keep = [m for m in spec.metrics if not m.class_name.endswith("Plot")]
            del spec.metrics[:]
            spec.metrics.extend(keep)

    def minimal(c):
        without_slices(c)
        without_plot(c)

    def batch(n):
        def change(c):
            for spec in c.model_specs:
                spec.inference_batch_size = n
        return change

    out = {"as configured": full}
    for name, change in (("+ compiled metrics", with_compiled), ("no slices", without_slices),
                         ("no confusion plot", without_plot), ("overall metrics only", minimal),
                         ("inference batch 1024", batch(1024)), ("inference batch 8192", batch(8192))):
        c = copy.deepcopy(full)
        change(c)
        out[name] = c
    return out


def analyse(model_dir: str, examples: str, eval_config, out: Path) -> float:
    """One TFMA run over ``examples`` (gzipped TFRecords); seconds."""
    import tensorflow_model_analysis as tfma

    t = time.perf_counter()
    shared = tfma.default_eval_shared_model(eval_saved_model_path=model_dir, eval_config=eval_config)
    tfma.run_model_analysis(eval_shared_model=shared, eval_config=eval_config, data_location=examples,
                            file_format="tfrecords", output_path=str(out))
    return time.perf_counter() - t


def measure(args, workdir: Path) -> dict:
    """Trains once in ``workdir``, then times each EvalConfig variant; the results as a dict."""
    from pipelines.config import load_config
    from pipelines.pipeline import eval_config

    csv = generate(args.rows, workdir / "data.csv")
    config_path = bench_config(csv, workdir, args.rows, args)
    cfg = load_config(config_path)
    print(f"== {args.rows} rows: training once with `mlops run`", file=sys.stderr, flush=True)
    run = cli_run(config_path, workdir / "run")
    model_dir = str(max((workdir / "run").rglob("Trainer/model/*/Format-Serving")))
    split_dir = max((workdir / "run").rglob("DataIngest/examples/*/Split-eval"))
    examples = str(split_dir / "*")

    configs = variants(eval_config(cfg))
    times: dict[str, list[float]] = {name: [] for name in configs}
    for r in range(args.repeats):
        for i, (name, c) in enumerate(configs.items()):
            print(f"== round {r + 1}: {name}", file=sys.stderr, flush=True)
            times[name].append(analyse(model_dir, examples, c, workdir / f"tfma-{r}-{i}"))
    import tensorflow as tf

    eval_rows = sum(1 for _ in tf.data.TFRecordDataset(tf.io.gfile.glob(examples), compression_type="GZIP"))
    base = statistics.median(times["as configured"])
    rows = []
    print(f"\nEvaluator (tfma.run_model_analysis), {eval_rows} eval rows, median of {args.repeats}:")
    print(f"{'variant':24} {'seconds':>8} {'rows/s':>8} {'vs configured':>14}")
    for name, ts in times.items():
        med = statistics.median(ts)
        rows.append({"variant": name, "seconds": round(med, 2), "rows_per_s": round(eval_rows / med),
                     "ratio": round(med / base, 2), "all_s": [round(t, 2) for t in ts]})
        print(f"{name:24} {med:8.1f} {eval_rows / med:8.0f} {med / base:13.2f}x")
    return {"rows": args.rows, "eval_rows": eval_rows, "slices": list(cfg.slices),
            "pipeline_evaluator_s": run["components"].get("Evaluator", {}).get("seconds"), "variants": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "evaluator_cost.json"))
    args = p.parse_args(argv)
    with scratch("bench-eval-") as workdir:
        result = measure(args, workdir)
    write_results(args.output, result)
    print(f"\n  results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
