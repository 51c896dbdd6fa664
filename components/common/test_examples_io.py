"""The batched Examples reader gives the frame the one-record-at-a-time parse gave."""

import numpy as np
import pandas as pd
import pytest

from components.common import examples_io


def _reference(files: list[str], limit=None) -> pd.DataFrame:
    """The reader as it was: one ``tf.train.Example`` at a time in Python."""
    import tensorflow as tf

    rows = []
    ds = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if limit:
        ds = ds.take(limit)
    for raw in ds.as_numpy_iterator():
        ex = tf.train.Example.FromString(raw)
        row = {}
        for name, feat in ex.features.feature.items():
            kind = feat.WhichOneof("kind")
            values = list(getattr(feat, kind).value) if kind else []
            if kind == "bytes_list":
                values = [v.decode("utf-8", "replace") for v in values]
            row[name] = values[0] if len(values) == 1 else (values or None)
        rows.append(row)
    return pd.DataFrame(rows)


def _write(path, examples) -> None:
    import tensorflow as tf

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options="GZIP") as w:
        for ex in examples:
            w.write(ex.SerializeToString())


def _example(**features):
    import tensorflow as tf

    feats = {}
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        if all(isinstance(v, bytes) for v in values) and values:
            feats[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        elif all(isinstance(v, int) for v in values) and values:
            feats[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        elif values:
            feats[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feats[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[]))
    return tf.train.Example(features=tf.train.Features(feature=feats))


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert sorted(new.columns) == sorted(old.columns)
    new = new[sorted(new.columns)]
    old = old[sorted(old.columns)]
    assert list(new.dtypes) == list(old.dtypes), (new.dtypes, old.dtypes)
    for col in new.columns:
        for a, b in zip(new[col], old[col]):
            if isinstance(b, list):
                assert list(a) == b, col
            elif b is None or (isinstance(b, float) and np.isnan(b)):
                assert a is None or (isinstance(a, float) and np.isnan(a)), (col, a, b)
            else:
                assert a == b and type(a) is type(b), (col, a, b)


def test_same_frame_as_record_by_record_on_messy_examples(tmp_path):
    uri = tmp_path / "examples"
    examples = [
        _example(x=1.5, n=3, s=b"Biscoe", multi=[1.0, 2.0]),
        _example(x=2.25, n=4, s="Dr\u00e9am".encode(), multi=[3.0]),
        _example(x=-0.5, n=5, s=b"\xff\xfebad", multi=[]),  # invalid UTF-8 is replaced, not fatal
        _example(x=0.0, n=7, multi=[4.0]),  # a string feature missing in one record
    ]
    _write(uri / "Split-eval" / "data_tfrecord-00000-of-00002.gz", examples[:2])
    _write(uri / "Split-eval" / "data_tfrecord-00001-of-00002.gz", examples[2:])
    files = examples_io.split_files(str(uri), "eval")
    new = examples_io.read_split(str(uri), "eval")
    _same(new, _reference(files))
    assert new["s"].tolist()[:2] == ["Biscoe", "Dr\u00e9am"] and new["s"].tolist()[3] is None
    assert new["multi"].tolist()[0] == [1.0, 2.0] and new["multi"].tolist()[2] is None
    assert new["n"].dtype == np.int64 and new["x"].dtype == np.float64


def test_limit_reads_only_the_first_records(tmp_path):
    uri = tmp_path / "examples"
    _write(uri / "Split-train" / "data.gz", [_example(i=i, f=float(i) / 3) for i in range(20_000)])
    new = examples_io.read_split(str(uri), "train", limit=9000)
    assert len(new) == 9000 and new["i"].tolist() == list(range(9000))
    _same(new, _reference(examples_io.split_files(str(uri), "train"), limit=9000))


def test_penguins_examples_read_the_same(trained_pipeline):
    uri = trained_pipeline["artifacts"][("DataIngest", "examples")]
    for split in ("train", "eval"):
        _same(examples_io.read_split(uri, split), _reference(examples_io.split_files(uri, split)))


def test_a_missing_split_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="'eval'"):
        examples_io.read_split(str(tmp_path), "eval")
