"""The penguins feature job on real Spark (pyspark's bundled Spark, local[2], Java 17+).

The transformations on small DataFrames built in the test, then the job end to end on the
raw export shipped with palmerpenguins and on generated raw data with duplicates, and its CLI
through its process (exit codes, messages).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO_ROOT

pf = pytest.importorskip("spark_jobs.penguins_features", reason="pyspark is installed by setup-airflow.sh")
from spark_jobs import build_penguins_features as job  # noqa: E402

RAW_HEADER = list(pf.RAW_COLUMNS) + ["Region", "Stage", "Comments"]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[2]").appName("test_spark_features")
    for key, value in {**job.SESSION_CONF, **job.LOCAL_CONF, "spark.sql.shuffle.partitions": "4"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    # dag.test() of feature_engineering (same process) opens its own session afterwards.
    session.stop()


def raw_row(**overrides: str) -> dict[str, str]:
    """One raw export record as text, like a line of penguins-raw.csv."""
    row = {
        "studyName": "PAL0708", "Sample Number": "1", "Species": "Adelie Penguin (Pygoscelis adeliae)",
        "Island": "Torgersen", "Individual ID": "N1A1", "Clutch Completion": "Yes", "Date Egg": "2007-11-11",
        "Culmen Length (mm)": "39.1", "Culmen Depth (mm)": "18.7", "Flipper Length (mm)": "181",
        "Body Mass (g)": "3750", "Sex": "MALE", "Delta 15 N (o/oo)": "NA", "Delta 13 C (o/oo)": "NA",
        "Region": "Anvers", "Stage": "Adult, 1 Egg Stage", "Comments": "Not enough blood for isotopes.",
    }
    row.update(overrides)
    return row


def raw_frame(spark, rows: list[dict[str, str]]):
    return spark.createDataFrame([[r[c] for c in RAW_HEADER] for r in rows], RAW_HEADER)


def by_key(df) -> dict[tuple, dict]:
    return {(r["study_name"], r["species"], r["sample_number"]): r.asDict() for r in df.collect()}


def test_raw_record_becomes_a_clean_typed_row_with_derived_features(spark):
    rows = [
        raw_row(),
        raw_row(**{"Sample Number": "2", "Species": " Gentoo penguin (Pygoscelis papua) ", "Sex": ".",
                   "Clutch Completion": "No", "Culmen Length (mm)": "NA", "Delta 15 N (o/oo)": "8.94956",
                   "Date Egg": "2008-11-09", "Island": "Biscoe "}),
        raw_row(**{"Sample Number": "3", "Species": "Chinstrap penguin (Pygoscelis antarctica)", "Sex": "FEMALE",
                   "Culmen Depth (mm)": "0"}),
    ]
    out = pf.feature_table(raw_frame(spark, rows))
    assert set(out.columns) == {*pf.RAW_COLUMNS.values(), "bill_ratio", "mass_flipper_ratio", "year"}
    types = dict(out.dtypes)
    assert types["bill_length_mm"] == "double" and types["sample_number"] == "int" and types["egg_date"] == "date"
    got = by_key(out)
    adelie = got[("PAL0708", "Adelie", 1)]
    assert adelie["sex"] == "male" and adelie["clutch_completion"] == "yes" and adelie["island"] == "Torgersen"
    assert adelie["bill_ratio"] == pytest.approx(39.1 / 18.7) and adelie["mass_flipper_ratio"] == pytest.approx(3750 / 181)
    assert str(adelie["egg_date"]) == "2007-11-11" and adelie["year"] == 2007
    assert adelie["delta_15n"] is None  # "NA" is missing, not text
    gentoo = got[("PAL0708", "Gentoo", 2)]
    assert gentoo["sex"] is None and gentoo["island"] == "Biscoe" and gentoo["clutch_completion"] == "no"
    assert gentoo["bill_length_mm"] is None and gentoo["bill_ratio"] is None  # a missing input: no ratio
    assert gentoo["delta_15n"] == pytest.approx(8.94956) and gentoo["year"] == 2008
    chinstrap = got[("PAL0708", "Chinstrap", 3)]
    assert chinstrap["sex"] == "female" and chinstrap["bill_ratio"] is None  # depth 0: no ratio, no error


def test_missing_raw_columns_are_named_with_the_header_found(spark):
    df = raw_frame(spark, [raw_row()]).drop("Body Mass (g)", "Sex")
    with pytest.raises(pf.RawSchemaError) as err:
        pf.rename_columns(df)
    msg = str(err.value)
    assert "'Body Mass (g)', 'Sex'" in msg and "'Culmen Length (mm)'" in msg and "15 column(s)" in msg


def test_parse_problems_count_text_that_is_not_a_number_or_date(spark):
    rows = [raw_row(**{"Sample Number": str(i)}) for i in range(1, 6)]
    rows[1]["Body Mass (g)"] = "forty-two"
    rows[2]["Body Mass (g)"] = "3 kg"
    rows[3]["Date Egg"] = "11/11/07"
    rows[4]["Body Mass (g)"] = "NA"  # missing, not a problem
    text = pf.normalize_text(pf.rename_columns(raw_frame(spark, rows)))
    counts = pf.parse_problems(text)
    assert counts["rows"] == 5 and counts["body_mass_g"] == 2 and counts["egg_date"] == 1
    assert counts["bill_length_mm"] == 0 and counts["sample_number"] == 0
    assert pf.unparsable_examples(text, "body_mass_g") == ["3 kg", "forty-two"]
    with pytest.raises(job.FeatureJobError) as err:
        job.check_parsable(text)
    assert err.value.exit_code == 3
    assert "body_mass_g: 2 value(s) not a number, e.g. '3 kg', 'forty-two'" in str(err.value)
    assert "egg_date: 1 value(s) not a date (yyyy-MM-dd), e.g. '11/11/07'" in str(err.value)


def test_deduplicate_keeps_the_most_complete_record_whatever_the_order(spark):
    complete = raw_row()
    older = raw_row(**{"Body Mass (g)": "NA", "Comments": "re-export"})
    other = raw_row(**{"Sample Number": "2", "Individual ID": "N1A2"})
    rows = [older, complete, other, dict(other), older]
    firsts = []
    for order in (rows, rows[::-1]):
        for partitions in (1, 3):
            out = pf.feature_table(raw_frame(spark, order).repartition(partitions))
            got = by_key(out)
            assert len(got) == 2
            firsts.append(got[("PAL0708", "Adelie", 1)])
    assert all(r == firsts[0] for r in firsts)
    assert firsts[0]["body_mass_g"] == 3750.0


def test_profile_counts_rows_nulls_and_dates(spark):
    rows = [raw_row(), raw_row(**{"Sample Number": "2", "Sex": "NA", "Date Egg": "2007-11-12"})]
    prof = pf.profile(pf.feature_table(raw_frame(spark, rows)))
    assert prof["rows"] == 2 and prof["dates"] == 2
    assert prof["null_counts"]["sex"] == 1 and prof["null_counts"]["delta_13c"] == 2 and prof["null_counts"]["island"] == 0


@pytest.fixture(scope="module")
def raw_export() -> Path:
    import palmerpenguins

    return Path(palmerpenguins.__file__).parent / "data" / "penguins-raw.csv"


def test_job_writes_the_partitioned_table_from_the_raw_export(spark, raw_export, tmp_path):
    out = tmp_path / "features"
    summary = job.run(spark, "package://palmerpenguins/data/penguins-raw.csv", str(out))
    assert (out / "_SUCCESS").is_file()
    assert json.loads((out / "_summary.json").read_text()) == summary
    with raw_export.open() as fh:
        raw = list(csv.DictReader(fh))
    assert summary["rows_in"] == summary["rows_out"] == len(raw) == 344 and summary["duplicates_dropped"] == 0
    dates = sorted({r["Date Egg"] for r in raw})
    assert sorted(p.name for p in out.glob("egg_date=*")) == [f"egg_date={d}" for d in dates]
    assert summary["dates"] == len(dates) == 50
    # The nulls are the export's NAs: 11 birds without sex, 2 without measurements.
    nulls = summary["null_counts"]
    assert nulls["sex"] == sum(r["Sex"] in ("NA", ".") for r in raw) == 11
    assert nulls["body_mass_g"] == nulls["bill_ratio"] == 2 and nulls["species"] == nulls["egg_date"] == 0
    table = pd.read_parquet(out)
    assert len(table) == 344 and sorted(table["species"].unique()) == ["Adelie", "Chinstrap", "Gentoo"]
    # Written again: the folder is replaced, not appended to.
    job.run(spark, str(raw_export), str(out))
    assert len(pd.read_parquet(out)) == 344


def test_job_on_generated_raw_data_drops_exactly_the_re_exports(spark, tmp_path):
    from benchmarks.spark_features import generate_raw

    raw = tmp_path / "raw.csv"
    shape = generate_raw(20_000, raw, seed=3)
    assert shape["duplicates"] == 200
    again = tmp_path / "again.csv"
    generate_raw(20_000, again, seed=3)
    assert raw.read_bytes() == again.read_bytes()  # deterministic for a seed
    summary = job.run(spark, str(raw), str(tmp_path / "features"))
    assert summary["rows_in"] == 20_000
    assert summary["rows_out"] == shape["records"] and summary["duplicates_dropped"] == shape["duplicates"]
    # The kept copy of a record whose re-export lost its body mass is the complete one.
    assert summary["null_counts"]["body_mass_g"] == summary["null_counts"]["flipper_length_mm"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spark_jobs.build_penguins_features", "--master", "local[1]", *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_cli_refuses_bad_input_with_exit_codes_and_named_problems(raw_export, tmp_path):
    res = _cli("--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr[-2000:]
    assert f"input {tmp_path / 'nope.csv'} does not exist" in res.stderr and "Traceback" not in res.stderr

    raw = pd.read_csv(raw_export, dtype=str, keep_default_na=False)
    raw.loc[10, "Flipper Length (mm)"] = "one-ninety"
    bad = tmp_path / "bad.csv"
    raw.to_csv(bad, index=False)
    res = _cli("--input", str(bad), "--output", str(tmp_path / "out"))
    assert res.returncode == 3, res.stderr[-2000:]
    assert "flipper_length_mm: 1 value(s) not a number, e.g. 'one-ninety'" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()
