"""Framework overhead: the TFX pipeline vs the same steps in one plain Python process.

For each data size it measures, in one run on this machine:
  * ``mlops run`` as its own process (imports and process start included), cold (fresh run
    folder) and cached (immediate rerun in the same folder), end to end and per component, and
    the time the process spent outside the components;
  * optionally (``--workers N``) a cold run on N Beam worker processes (multi-process
    DirectRunner), and (``--peer``) a stock TFX penguin-style pipeline on the same data, model
    and epochs (``benchmarks/peer``), cold and cached;
  * a plain baseline doing the same work with pandas + tf_keras: read, split, validate (range and
    set checks), z-score and vocabularies, train the same model for the same epochs, evaluate,
    save a SavedModel; run as its own process, so it is reported both as the sum of its steps
    (``plain_s``, what earlier tables divided by) and as a process's wall time, imports included
    (``plain_process_s``, the like-for-like comparison with ``mlops run``).
The ratio pipeline/plain is the price of lineage, caching, validation artifacts and portability.

Data larger than penguins is generated deterministically from it (bootstrap rows + seeded
Gaussian noise on numeric columns), so nothing is downloaded.

Usage (in the project image; `make bench` runs the defaults):
    python -m benchmarks.pipeline_overhead --sizes 344 --epochs 3 --workers 2 --peer
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import scratch, sizes, sweep_parser, write_results

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def generate(n_rows: int, path: Path, seed: int = 0) -> Path:
    """Writes ``n_rows`` penguin-like rows to ``path`` (CSV), deterministic for a seed."""
    from components.common import storage

    base = pd.read_csv(storage.local_path("package://palmerpenguins/data/penguins.csv")).dropna()
    if n_rows <= len(base):
        df = base.head(n_rows)
    else:
        rng = np.random.default_rng(seed)
        df = base.sample(n=n_rows, replace=True, random_state=seed).reset_index(drop=True)
        for col in NUMERIC:
            df[col] = (df[col] + rng.normal(0, df[col].std() * 0.05, n_rows)).round(1)
        df["body_mass_g"] = df["body_mass_g"].clip(2600, 6400)
        df["flipper_length_mm"] = df["flipper_length_mm"].clip(165, 235)
        df["bill_length_mm"] = df["bill_length_mm"].clip(30, 65)
        df["bill_depth_mm"] = df["bill_depth_mm"].clip(12, 23)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def plain_baseline(csv: Path, cfg, workdir: Path) -> dict[str, float]:
    """The same steps without a framework, timed per step."""
    import tensorflow as tf

    from components.ingest import logic as ingest_logic

    times: dict[str, float] = {}
    t = time.perf_counter()
    df = pd.read_csv(csv)
    df = df[[*cfg.feature_names, cfg.label]].dropna()
    mask = ingest_logic.split_mask(df, cfg.split.eval_fraction, cfg.split.seed)
    train, evaluation = df[~mask], df[mask]
    times["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    ok = True
    for col, (lo, hi) in {"bill_length_mm": (25, 70), "bill_depth_mm": (10, 25),
                          "flipper_length_mm": (160, 240), "body_mass_g": (2500, 6500)}.items():
        ok &= bool(df[col].between(lo, hi).all())
    ok &= bool(df["island"].isin(["Biscoe", "Dream", "Torgersen"]).all())
    times["validate"] = time.perf_counter() - t

    t = time.perf_counter()
    stats = {c: (train[c].mean(), train[c].std(ddof=0)) for c in cfg.feature_names if c in NUMERIC}
    vocabs = {c: {v: i for i, v in enumerate(train[c].value_counts().index)} for c in ("island", "sex")}
    labels = {v: i for i, v in enumerate(train[cfg.label].value_counts().index)}

    def encode(frame):
        feats = {f"{c}_xf": ((frame[c] - m) / s).astype("float32").to_numpy() for c, (m, s) in stats.items()}
        for c, vocab in vocabs.items():
            feats[f"{c}_xf"] = frame[c].map(vocab).fillna(len(vocab)).astype("int64").to_numpy()
        return feats, frame[cfg.label].map(labels).to_numpy()

    x_train, y_train = encode(train)
    x_eval, y_eval = encode(evaluation)
    times["transform"] = time.perf_counter() - t

    t = time.perf_counter()
    inputs, encoded = {}, []
    for name in x_train:
        if x_train[name].dtype == np.int64:
            inp = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
            encoded.append(tf.keras.layers.Embedding(len(vocabs[name[:-3]]) + 1, 3)(inp))
        else:
            inp = tf.keras.Input(shape=(), name=name, dtype=tf.float32)
            encoded.append(tf.keras.layers.Reshape((1,))(inp))
        inputs[name] = inp
    x = tf.keras.layers.Concatenate()(encoded)
    for units in cfg.model.hidden_units:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(len(labels), activation="softmax")(x))
    model.compile(tf.keras.optimizers.Adam(cfg.model.learning_rate), "sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    model.fit(x_train, y_train, batch_size=cfg.model.batch_size, epochs=cfg.model.epochs, verbose=0)
    times["train"] = time.perf_counter() - t

    t = time.perf_counter()
    acc = model.evaluate(x_eval, y_eval, batch_size=1024, verbose=0)[1]
    times["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    model.save(str(workdir / "plain_model"), save_format="tf")
    times["save"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    times["accuracy"] = float(acc)
    times["valid"] = float(ok)
    return times


def timed_process(cmd: list[str], what: str) -> tuple[str, float]:
    """Runs ``cmd`` as its own process; its stdout and wall time. A failure raises with the
    tail of its stderr, naming ``what`` failed."""
    import subprocess

    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout, wall


def plain_process(csv: Path, config_path: Path, workdir: Path) -> dict[str, float]:
    """The plain baseline as its own process (imports included, as for ``mlops run``): its
    step times plus ``process_s``, the process's wall time."""
    stdout, wall = timed_process(
        [sys.executable, "-m", "benchmarks.pipeline_overhead", "--plain-baseline", str(csv), str(config_path), str(workdir)],
        "plain baseline",
    )
    return {**json.loads(stdout.strip().splitlines()[-1]), "process_s": wall}


def cli_run(config_path: Path, out: Path) -> dict:
    """``mlops run`` as a user runs it (its own process); run.json plus the process's wall time."""
    _, wall = timed_process(
        [sys.executable, "-m", "pipelines.cli", "run", "--config", str(config_path), "--output-dir", str(out)],
        "benchmark run",
    )
    summary = json.loads((out / "run.json").read_text())
    summary["wall_s"] = round(wall, 2)
    summary["outside_components_s"] = round(wall - sum(c["seconds"] for c in summary["components"].values()), 2)
    return summary


def peer_runs(csv: Path, cfg, workdir: Path) -> tuple[float, float]:
    """The stock-style TFX pipeline (benchmarks/peer) cold and cached, each its own process."""
    data_dir = workdir / "peer-data"
    data_dir.mkdir()
    # CsvExampleGen takes complete rows of the columns it trains on (as the example's data is).
    pd.read_csv(csv)[[*cfg.feature_names, cfg.label]].dropna().to_csv(data_dir / "data.csv", index=False)
    hp = {"hidden_units": list(cfg.model.hidden_units), "learning_rate": cfg.model.learning_rate,
          "batch_size": cfg.model.batch_size, "epochs": cfg.model.epochs}
    cmd = [sys.executable, "-m", "benchmarks.peer.pipeline", "--data-dir", str(data_dir), "--out-dir",
           str(workdir / "peer"), "--hp", json.dumps(hp), "--slices", ",".join(cfg.slices)]
    cold, cached = (round(timed_process(cmd, "peer pipeline")[1], 2) for _ in range(2))
    return cold, cached


def bench_config(csv: Path, workdir: Path, n: int, args, beam_args: list[str] | None = None, name: str = "cfg.yaml") -> Path:
    """The penguins config on the generated data, extras off, trivial threshold."""
    from tests.configs import extras_off, penguins_raw, write_config

    raw = extras_off(penguins_raw())
    raw["data"]["uri"] = str(csv)
    # Small data needs small batches to learn anything in a few epochs; the gate is not
    # what is measured here, so the threshold is trivial (blessing still runs).
    raw["model"].update(epochs=args.epochs, batch_size=min(args.batch_size, max(16, n // 100)))
    raw["evaluation"] = {
        "thresholds": [{"metric": "sparse_categorical_accuracy", "lower_bound": 0.0}],
        "change_threshold": None,
    }
    raw["push"]["destination"] = str(workdir / f"models-{name}")
    if beam_args:
        raw["beam"] = {"runner": "DirectRunner", "args": beam_args}
    return write_config(workdir, raw, name)


def main(argv=None) -> int:
    p = sweep_parser(__doc__, "344,100000", "pipeline_overhead.json")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=1, help="also run cold with this many Beam worker processes")
    p.add_argument("--peer", action="store_true", help="also run the stock TFX penguin-style pipeline (benchmarks/peer)")
    p.add_argument("--plain-baseline", nargs=3, metavar=("CSV", "CONFIG", "WORKDIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    from pipelines.config import load_config

    if args.plain_baseline:  # the child process of plain_process()
        csv, config_path, workdir = args.plain_baseline
        print(json.dumps(plain_baseline(Path(csv), load_config(config_path), Path(workdir))), flush=True)
        return 0

    results = []
    for n in sizes(args.sizes):
        with scratch(f"bench-{n}-") as workdir:
            csv = generate(n, workdir / "data.csv")
            config_path = bench_config(csv, workdir, n, args)
            cfg = load_config(config_path)
            print(f"== {n} rows: pipeline (cold, then cached), `mlops run` processes", file=sys.stderr, flush=True)
            cold = cli_run(config_path, workdir / "run")
            cached = cli_run(config_path, workdir / "run")
            row = {"rows": n}
            if args.workers > 1:
                print(f"== {n} rows: pipeline cold, {args.workers} Beam workers", file=sys.stderr, flush=True)
                multi = bench_config(csv, workdir, n, args, name="multi.yaml", beam_args=[
                    f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"])
                row["pipeline_cold_workers_s"] = cli_run(multi, workdir / "run-multi")["wall_s"]
            if args.peer:
                print(f"== {n} rows: stock TFX penguin-style pipeline (cold, then cached)", file=sys.stderr, flush=True)
                row["peer_cold_s"], row["peer_cached_s"] = peer_runs(csv, cfg, workdir)
            print(f"== {n} rows: plain pandas + tf_keras", file=sys.stderr, flush=True)
            plain = plain_process(csv, config_path, workdir)
            row.update({
                "pipeline_cold_s": cold["wall_s"],
                "pipeline_cached_s": cached["wall_s"],
                "plain_s": round(plain["total"], 2),
                "overhead_cold": round(cold["wall_s"] / plain["total"], 2),
                # Process against process: both pay interpreter start and imports.
                "plain_process_s": round(plain["process_s"], 2),
                "overhead_cold_vs_process": round(cold["wall_s"] / plain["process_s"], 2),
                "overhead_cached": round(cached["wall_s"] / plain["total"], 2),
                "cached_over_cold": round(cached["wall_s"] / cold["wall_s"], 3),
                "outside_components_cold_s": cold["outside_components_s"],
                "outside_components_cached_s": cached["outside_components_s"],
                "executed_in_cached_run": [k for k, v in cached["components"].items() if v.get("state") != "cached"],
                "components_cold": {k: v["seconds"] for k, v in cold["components"].items()},
                "components_cached": {k: v["seconds"] for k, v in cached["components"].items()},
                "plain_steps": {k: round(v, 2) for k, v in plain.items() if k not in ("total", "process_s")},
                "pipeline_accuracy": cold["metrics"].get("sparse_categorical_accuracy"),
            })
            if "pipeline_cold_workers_s" in row:
                row["workers_over_one"] = round(row["pipeline_cold_workers_s"] / cold["wall_s"], 2)
            if "peer_cold_s" in row:
                row["cold_over_peer"] = round(cold["wall_s"] / row["peer_cold_s"], 2)
            results.append(row)
            print(json.dumps(row, indent=2), flush=True)
    write_results(args.output, {"epochs": args.epochs, "cpus": os.cpu_count(), "results": results})
    print("\n| rows | pipeline cold (s) | cached (s) | plain steps (s) | plain process (s) | cold / plain steps "
          "| cold / plain process | cached / cold | outside components, cold (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['pipeline_cold_s']:.1f} | {r['pipeline_cached_s']:.1f} | {r['plain_s']:.1f} "
              f"| {r['plain_process_s']:.1f} | {r['overhead_cold']:.1f}x | {r['overhead_cold_vs_process']:.1f}x "
              f"| {r['cached_over_cold']:.0%} | {r['outside_components_cold_s']:.1f} |")
    for r in results:
        if "peer_cold_s" in r:
            print(f"{r['rows']:,} rows: stock TFX peer cold {r['peer_cold_s']:.1f} s, cached {r['peer_cached_s']:.1f} s; "
                  f"ours / peer (cold) = {r['cold_over_peer']:.2f}x")
        if "workers_over_one" in r:
            print(f"{r['rows']:,} rows: {args.workers} Beam workers cold {r['pipeline_cold_workers_s']:.1f} s = "
                  f"{r['workers_over_one']:.2f}x one worker")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # TFT/Beam objects can segfault at interpreter shutdown
