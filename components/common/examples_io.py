"""Read an Examples artifact split (gzipped TFRecords of tf.Example) into a DataFrame."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from components.common import gfile_io


def split_files(examples_uri: str, split: str) -> list[str]:
    """Data files of one split of an Examples artifact (local, or gs:// through tf.io.gfile);
    [] when the split folder does not exist."""
    return gfile_io.glob(gfile_io.join(examples_uri, f"Split-{split}", "*"))


def read_split(examples_uri: str, split: str, limit: int | None = None) -> pd.DataFrame:
    """Parses one split into a DataFrame: one column per feature, scalars per row.

    Bytes become ``str``; a missing feature becomes None.
    """
    import tensorflow as tf

    files = split_files(examples_uri, split)
    if not files:
        raise FileNotFoundError(f"no data files for split {split!r} under {examples_uri}")
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


def numeric_like(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Turns text that parses as a number into floats in the given columns, leaving other text.

    A numeric column written as text because a few values were not numbers then shows exactly
    those values as the offenders, instead of every value.
    """
    out = df.copy()
    for col in columns:
        if col not in out.columns or out[col].dtype != object:
            continue

        def conv(v):
            if isinstance(v, str):
                try:
                    return float(v)
                except ValueError:
                    return v
            return v

        out[col] = out[col].map(conv)
    return out
