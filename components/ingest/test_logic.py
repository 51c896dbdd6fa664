"""Ingest logic on small data: reading, tidying, deterministic splits, precise errors."""

import numpy as np
import pandas as pd
import pytest

from components.common.errors import DataValidationError
from components.ingest import logic

TYPES = {"x": "float", "colour": "categorical"}


def _csv(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_reads_csv_and_parquet(tmp_path):
    df = pd.DataFrame({"x": [1.0, 2.5], "colour": ["red", "blue"], "y": ["a", "b"]})
    df.to_parquet(tmp_path / "d.parquet")
    assert logic.read_table(str(tmp_path / "d.parquet"), "parquet").equals(df)
    got = logic.read_table(_csv(tmp_path, "x,colour,y\n1,red,a\n2.5,blue,b\n"), "csv")
    assert list(got.columns) == ["x", "colour", "y"] and got["x"].tolist() == [1.0, 2.5]


@pytest.mark.parametrize(
    "text, check",
    [
        ("", "file_not_empty"),
        ("   \n", "file_not_empty"),
        ("x,colour,y\n", "has_rows"),
        ('x,colour,y\n1,red,a\n2,"blue,b\n3,green,c,extra,more\n', "well_formed_csv"),
        ("x,colour,y\n1,red,a\n2,blue,b,9,9\n", "well_formed_csv"),
    ],
)
def test_unreadable_files_fail_with_a_named_check(tmp_path, text, check):
    with pytest.raises(DataValidationError) as err:
        logic.read_table(_csv(tmp_path, text), "csv")
    assert err.value.failures[0].check == check
    assert "d.csv" in err.value.failures[0].detail


def test_tidy_keeps_bad_text_for_validation():
    df = pd.DataFrame({"x": ["1.5", "oops", "2"], "colour": ["red", "blue", "red"], "y": ["a", "b", "a"]})
    out, dropped = logic.tidy(df, TYPES, "y", True, 0.5)
    assert dropped == 0
    assert out["x"].dtype == object and "oops" in out["x"].tolist()


def test_tidy_drops_incomplete_rows_up_to_the_limit():
    df = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "colour": ["r", "b", None, "r"], "y": ["a", "b", "a", "b"]})
    out, dropped = logic.tidy(df, TYPES, "y", True, 0.5)
    assert dropped == 2 and len(out) == 2
    with pytest.raises(DataValidationError, match=r"2 of 4 rows \(50%\) have missing values"):
        logic.tidy(df, TYPES, "y", True, 0.25)


def test_missing_column_stays_missing():
    df = pd.DataFrame({"colour": ["r"], "y": ["a"]})
    out, _ = logic.tidy(df, TYPES, "y", True, 0.1)
    assert "x" not in out.columns


def test_split_is_deterministic_and_order_independent(penguins_df):
    df, _ = logic.tidy(penguins_df, {"bill_length_mm": "float", "island": "categorical"}, "species", True, 0.1)
    mask = logic.split_mask(df, 0.25, 42)
    shuffled = df.sample(frac=1.0, random_state=0)
    mask2 = logic.split_mask(shuffled, 0.25, 42)
    assert set(df[mask].index) == set(shuffled[mask2].index)
    assert 0.15 < mask.mean() < 0.35
    assert not (logic.split_mask(df, 0.25, 7) == mask).all()


def test_ingest_penguins_counts(penguins_csv):
    types = {"bill_length_mm": "float", "island": "categorical", "sex": "categorical"}
    train, evaluation, stats = logic.ingest(str(penguins_csv), "csv", types, "species", 0.25, 42, True, 0.1)
    assert stats.rows_read == 344
    assert stats.rows_dropped == 11  # 2 without measurements + 9 more without sex
    assert stats.train_rows + stats.eval_rows == 333 == len(train) + len(evaluation)
    again = logic.ingest(str(penguins_csv), "csv", types, "species", 0.25, 42, True, 0.1)[2]
    assert again.fingerprint == stats.fingerprint


def test_semicolon_file_names_the_columns_the_header_and_the_delimiter(tmp_path):
    uri = _csv(tmp_path, "x;colour;y\n1;red;a\n2.5;blue;b\n")
    with pytest.raises(DataValidationError) as err:
        logic.ingest(uri, "csv", TYPES, "y", 0.5, 1, True, 0.1)
    (failure,) = err.value.failures
    assert failure.check == "expected_columns" and failure.column == "y"
    assert "none of the configured columns (x, colour, y)" in failure.detail
    assert "'x;colour;y'" in failure.detail and "semicolons" in failure.detail


def test_no_complete_rows_names_the_emptiest_columns(tmp_path):
    df = pd.DataFrame({"x": [1.0, None, 3.0], "colour": [None, "b", None], "y": ["a", "b", "c"]})
    with pytest.raises(DataValidationError) as err:
        logic.tidy(df, TYPES, "y", True, 1.0)
    (failure,) = err.value.failures
    assert failure.column == "colour" and "colour (2 of 3 missing)" in failure.detail and "x (1 of 3 missing)" in failure.detail


def _spark_like_folder(root, df, by):
    """A Hive-partitioned Parquet folder with the files Spark leaves next to the data."""
    df.to_parquet(root, partition_cols=[by], index=False)
    (root / "_SUCCESS").write_text("")
    (root / "_summary.json").write_text('{"rows_out": 0}')
    first = sorted(root.glob(f"{by}=*"))[0]
    (first / ".part-00000.snappy.parquet.crc").write_bytes(b"\x00crc")
    return root


def test_reads_a_partitioned_parquet_folder_as_spark_writes_it(tmp_path, penguins_df):
    from components.common import storage

    folder = _spark_like_folder(tmp_path / "table", penguins_df, "island")
    got = logic.read_table(str(folder), "parquet")
    assert len(got) == len(penguins_df)
    # The partition folders come back as a column; the marker, summary and checksums are skipped.
    assert sorted(got["island"].unique()) == ["Biscoe", "Dream", "Torgersen"]
    key = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
    a, b = (f[key].fillna({"sex": "NA"}).sort_values(key).reset_index(drop=True) for f in (got, penguins_df))
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    types = {"bill_length_mm": "float", "island": "categorical", "sex": "categorical"}
    _, _, stats = logic.ingest(str(folder), "parquet", types, "species", 0.25, 42, True, 0.1)
    assert stats.rows_read == 344 and stats.rows_dropped == 11

    # The folder's version follows its files (the pipeline's cache key and the DAG's new-data check).
    before = storage.stat(str(folder))
    assert before.size == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert storage.stat(str(folder)).version == before.version
    (folder / "_SUCCESS").write_text("rewritten")
    assert storage.stat(str(folder)).version != before.version


def test_folder_problems_name_the_folder(tmp_path):
    folder = tmp_path / "table"
    folder.mkdir()
    (folder / "_SUCCESS").write_text("")
    with pytest.raises(DataValidationError) as err:
        logic.read_table(str(folder), "parquet")
    assert err.value.failures[0].check == "has_rows" and str(folder) in err.value.failures[0].detail
    with pytest.raises(DataValidationError) as err:
        logic.read_table(str(folder), "csv")
    assert err.value.failures[0].check == "readable_csv" and "data.format: parquet" in err.value.failures[0].detail
    (folder / "part-0.parquet").write_text("not parquet")
    with pytest.raises(DataValidationError) as err:
        logic.read_table(str(folder), "parquet")
    assert err.value.failures[0].check == "readable_parquet" and str(folder) in err.value.failures[0].detail


def _python_examples(df: pd.DataFrame) -> list[bytes]:
    """Reference: each row built as a tf.train.Example in Python, a missing value left out."""
    import tensorflow as tf

    out = []
    for row in df.itertuples(index=False, name=None):
        feats = {}
        for col, v in zip(df.columns, row):
            if pd.isna(v):
                continue
            kind = logic.tf_kind(df[col])
            if kind == "FLOAT":
                feats[col] = tf.train.Feature(float_list=tf.train.FloatList(value=[v]))
            elif kind == "INT":
                feats[col] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))
            else:
                feats[col] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(v).encode()]))
        out.append(tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString())
    return out


def test_examples_equal_python_built_protos_with_missing_values_in_several_columns():
    import tensorflow as tf

    df = pd.DataFrame({
        "x": [1.5, np.nan, 0.1, 2e9, -3.25, np.nan],
        "n": pd.array([1, 2, None, 4, 5, None], dtype="Int64"),
        "flag": [True, False, True, True, False, True],
        "s": ["a", None, "ü", "c d", None, "f"],
        "when": pd.to_datetime(["2008-01-01", "2009-02-03", None, "2010-01-01", "2011-01-01", None]),
        "mixed": ["1", 2, 3.5, None, "x", "y"],
    })
    ours = logic.to_tf_examples(df)
    reference = _python_examples(df)
    assert len(ours) == len(reference) == len(df)
    for i, (a, b) in enumerate(zip(ours, reference)):
        assert tf.train.Example.FromString(a) == tf.train.Example.FromString(b), f"row {i}"
    # A missing value is not written at all (not as an empty feature).
    assert "x" not in tf.train.Example.FromString(ours[1]).features.feature


def test_examples_of_a_complete_table_and_of_an_empty_one(penguins_df):
    import tensorflow as tf

    complete = penguins_df.dropna().head(50).reset_index(drop=True)
    assert [tf.train.Example.FromString(r) for r in logic.to_tf_examples(complete)] == [
        tf.train.Example.FromString(r) for r in _python_examples(complete)
    ]
    assert logic.to_tf_examples(complete.head(0)) == []


def test_split_keys_are_the_row_wise_string_join(penguins_df):
    """Which rows are eval must not move when the key is built faster: the reference is the
    row-wise ``astype(str)`` join the split has always hashed."""
    import hashlib

    df = penguins_df.copy()
    df["when"] = pd.to_datetime("2008-01-01") + pd.to_timedelta(np.arange(len(df)), unit="D")
    keys = df.astype(str).agg("\x1f".join, axis=1)
    buckets = np.array(
        [int.from_bytes(hashlib.blake2b(f"42\x1e{k}".encode(), digest_size=8).digest(), "big") % 10_000 for k in keys]
    )
    assert (logic.split_mask(df, 0.25, 42) == (buckets < 2500)).all()
