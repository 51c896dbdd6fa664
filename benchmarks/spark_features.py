"""The penguins feature job on Spark vs the same transformations in pandas, in one run.

For each size it generates a raw export shaped like ``penguins-raw.csv`` (deterministic, seeded:
see :func:`generate_raw`), then runs, each in its own fresh process on the same file:

  * ``pandas``: :func:`pandas_feature_table` (the baseline) and ``DataFrame.to_parquet`` with
    the same date partitions;
  * ``spark``: ``python -m spark_jobs.build_penguins_features`` on a local master (the JVM and
    its start-up included: that is what a run costs).

Wall time and the peak resident memory of the whole process tree (the JVM included; sampled
every 20 ms with psutil) are measured from outside. The two outputs are then read back and
compared row by row, so the numbers are for the same table. Ratios are Spark / pandas.

Usage (host, the Airflow venv: pyspark lives there; Java 17+):
    .venv-airflow/bin/python -m benchmarks.spark_features --sizes 344,1000000
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import scratch, sizes, sweep_parser, write_results

REPO = Path(__file__).resolve().parent.parent
RAW_CSV = "package://palmerpenguins/data/penguins-raw.csv"
#: raw column -> (decimals as exported, physical min, max) for the seeded noise.
NOISY = {
    "Culmen Length (mm)": (1, 30.0, 65.0),
    "Culmen Depth (mm)": (1, 12.0, 23.0),
    "Flipper Length (mm)": (0, 165.0, 235.0),
    "Body Mass (g)": (0, 2600.0, 6400.0),
    "Delta 15 N (o/oo)": (5, 7.0, 10.5),
    "Delta 13 C (o/oo)": (5, -27.5, -23.5),
}


def raw_export_path() -> Path:
    from components.common import storage

    return storage.local_path(RAW_CSV)


def generate_raw(n_rows: int, path: Path, seed: int = 0, duplicate_fraction: float = 0.01) -> dict[str, int]:
    """Writes ``n_rows`` rows shaped like ``penguins-raw.csv`` to ``path``; deterministic for a seed.

    Rows are drawn from the real export with replacement; each gets a unique sample number and
    individual id (so they are distinct records), and its measurements get seeded Gaussian noise
    (5% of the column's spread, rounded as exported, kept in physical ranges; ``NA`` stays
    ``NA``). Then ``duplicate_fraction`` of the rows are re-exports of earlier rows, half of them
    with the body mass blanked, and the file is shuffled: deduplication has work to do and must
    not depend on the order.

    Returns:
        ``{"rows": n_rows, "records": distinct records, "duplicates": re-exported rows}``.
    """
    base = pd.read_csv(raw_export_path(), dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    n_dup = int(n_rows * duplicate_fraction) if n_rows > len(base) else 0
    n_rec = n_rows - n_dup
    df = base.iloc[rng.integers(0, len(base), n_rec)].reset_index(drop=True) if n_rows > len(base) else base.head(n_rows).copy()
    if n_rows > len(base):
        df["Sample Number"] = np.arange(1, n_rec + 1).astype(str)
        df["Individual ID"] = pd.Series(np.arange(1, n_rec + 1)).map("G{:d}".format)
        for col, (decimals, lo, hi) in NOISY.items():
            values = pd.to_numeric(df[col], errors="coerce")
            noisy = (values + rng.normal(0.0, values.std() * 0.05, n_rec)).clip(lo, hi).round(decimals)
            text = noisy.round().astype("Int64").astype(str) if decimals == 0 else noisy.astype(str)
            df[col] = text.where(values.notna(), "NA")
        dups = df.iloc[rng.integers(0, n_rec, n_dup)].copy()
        dups.loc[rng.random(n_dup) < 0.5, "Body Mass (g)"] = "NA"
        df = pd.concat([df, dups], ignore_index=True).sample(frac=1.0, random_state=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return {"rows": n_rows, "records": n_rec, "duplicates": n_dup}


def pandas_feature_table(csv: str | Path) -> pd.DataFrame:
    """The transformations of ``spark_jobs.penguins_features`` in pandas (the baseline)."""
    from spark_jobs import penguins_features as pf  # the column map and rules, not the Spark code

    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    df = raw[list(pf.RAW_COLUMNS)].rename(columns=pf.RAW_COLUMNS)
    for col in df.columns:
        text = df[col].str.strip()
        df[col] = text.mask(text.isin(pf.MISSING_TEXT))
    df["species"] = df["species"].str.extract(r"^(\S+)", expand=False).str.capitalize()
    df["sex"] = df["sex"].str.lower()
    df["clutch_completion"] = df["clutch_completion"].str.lower()
    for col in pf.MEASUREMENTS:
        parsed = pd.to_numeric(df[col], errors="coerce")
        if (parsed.isna() & df[col].notna()).any():
            raise ValueError(f"{col}: values that do not parse")
        df[col] = parsed
    df["sample_number"] = pd.to_numeric(df["sample_number"], errors="coerce").astype("Int32")
    df["egg_date"] = pd.to_datetime(df["egg_date"], format="%Y-%m-%d", errors="coerce")
    df["bill_ratio"] = (df["bill_length_mm"] / df["bill_depth_mm"]).replace([np.inf, -np.inf], np.nan)
    df["mass_flipper_ratio"] = (df["body_mass_g"] / df["flipper_length_mm"]).replace([np.inf, -np.inf], np.nan)
    df["year"] = df["egg_date"].dt.year.astype("Int32")
    key = list(pf.RECORD_KEY)
    others = [c for c in df.columns if c not in key]
    df["_filled"] = df[others].notna().sum(axis=1)
    df = df.sort_values(["_filled", *others], ascending=[False] + [True] * len(others), na_position="last", kind="stable")
    return df.drop_duplicates(key, keep="first").drop(columns="_filled").reset_index(drop=True)


def pandas_job(csv: str, out: str) -> dict:
    """Feature table, date-partitioned Parquet and the same summary numbers, with pandas."""
    df = pandas_feature_table(csv)
    df["egg_date"] = df["egg_date"].dt.strftime("%Y-%m-%d")
    shutil.rmtree(out, ignore_errors=True)
    df.to_parquet(out, partition_cols=["egg_date"], index=False)
    return {"rows_out": len(df), "dates": int(df["egg_date"].nunique()), "null_counts": df.isna().sum().astype(int).to_dict()}


def _measure(cmd: list[str]) -> dict[str, float]:
    """Runs ``cmd``; wall seconds and peak RSS (MiB) of its process tree, sampled every 20 ms."""
    import psutil

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        rss = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, rss)
        time.sleep(0.02)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {proc.returncode}:\n{err[-3000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(peak / 2**20, 1), "stdout": out.strip().splitlines()[-1:]}


def _same_table(spark_out: Path, pandas_out: Path) -> int:
    """Reads both outputs back and asserts they hold the same rows; returns the row count."""
    from spark_jobs import penguins_features as pf

    def load(folder: Path) -> pd.DataFrame:
        df = pd.read_parquet(folder)
        df["egg_date"] = df["egg_date"].astype(str)
        cols = sorted(df.columns)
        return df[cols].sort_values(list(pf.RECORD_KEY)).reset_index(drop=True)

    a, b = load(spark_out), load(pandas_out)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_categorical=False, rtol=1e-9)
    return len(a)


def main(argv=None) -> int:
    p = sweep_parser(__doc__, "344,1000000", "spark_features.json", "comma-separated raw row counts")
    p.add_argument("--master", default="local[*]", help="Spark master of the Spark runs")
    args = p.parse_args(argv)

    results = []
    for n in sizes(args.sizes):
        with scratch(f"bench-features-{n}-") as work:
            csv = work / "raw.csv"
            t = time.perf_counter()
            shape = generate_raw(n, csv)
            print(f"[{n} rows] raw export generated in {time.perf_counter() - t:.1f} s ({csv.stat().st_size / 2**20:.0f} MiB)",
                  file=sys.stderr, flush=True)
            py = sys.executable
            pandas_run = _measure([py, "-m", "benchmarks.spark_features", "--pandas-job", str(csv), str(work / "pandas")])
            spark_run = _measure([py, "-m", "spark_jobs.build_penguins_features", "--master", args.master,
                                  "--input", str(csv), "--output", str(work / "spark")])
            rows = _same_table(work / "spark", work / "pandas")
            summary = json.loads((work / "spark" / "_summary.json").read_text())
            row = {
                "raw_rows": n, "raw_mib": round(csv.stat().st_size / 2**20, 1), "rows_out": rows,
                "duplicates_dropped": summary["duplicates_dropped"], "dates": summary["dates"],
                "pandas": {k: pandas_run[k] for k in ("wall_s", "peak_rss_mib")},
                "spark": {k: spark_run[k] for k in ("wall_s", "peak_rss_mib")},
                "spark_over_pandas": {
                    "wall": round(spark_run["wall_s"] / pandas_run["wall_s"], 2),
                    "peak_rss": round(spark_run["peak_rss_mib"] / pandas_run["peak_rss_mib"], 2),
                },
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    meta = {"master": args.master, "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "pandas": pd.__version__, "pyspark": _pyspark_version()}
    write_results(args.output, {"meta": meta, "results": results})
    print(f"\n{'raw rows':>10} {'pandas s':>9} {'spark s':>8} {'wall x':>7} {'pandas MiB':>11} {'spark MiB':>10} {'mem x':>6}")
    for r in results:
        print(f"{r['raw_rows']:>10} {r['pandas']['wall_s']:>9} {r['spark']['wall_s']:>8} {r['spark_over_pandas']['wall']:>7} "
              f"{r['pandas']['peak_rss_mib']:>11} {r['spark']['peak_rss_mib']:>10} {r['spark_over_pandas']['peak_rss']:>6}")
    return 0


def _pyspark_version() -> str:
    import pyspark

    return pyspark.__version__


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pandas-job"]:
        print(json.dumps(pandas_job(sys.argv[2], sys.argv[3])))
        sys.exit(0)
    sys.exit(main())
