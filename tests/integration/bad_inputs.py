"""Corrupted copies of the penguins data, shared by the bad-data tests (test_bad_data.py drives
the pipeline, test_bad_input_matrix.py the `mlops run` CLI)."""

from __future__ import annotations

import pandas as pd

#: Frame-level corruptions :func:`corrupt` makes; each names the column it breaks.
FRAME_KINDS = ("missing_column", "wrong_type", "out_of_range", "unseen_category", "all_null_column", "missing_labels")


def corrupt(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A corrupted copy of ``df``: ``kind`` is one of :data:`FRAME_KINDS`.

    * ``missing_column``: no ``flipper_length_mm``;
    * ``wrong_type``: ``"deep"`` in 4 rows of ``bill_depth_mm``;
    * ``out_of_range``: ``body_mass_g`` 99999.0 in 6 rows;
    * ``unseen_category``: island ``"Atlantis"`` in 5 rows;
    * ``all_null_column``: ``sex`` empty everywhere;
    * ``missing_labels``: no ``species`` in the first third of the rows.
    """
    if kind not in FRAME_KINDS:
        raise ValueError(f"unknown corruption {kind!r}; one of {FRAME_KINDS}")
    df = df.copy()
    if kind == "missing_column":
        return df.drop(columns=["flipper_length_mm"])
    if kind == "wrong_type":
        df["bill_depth_mm"] = df["bill_depth_mm"].astype(object)
        df.loc[df.index[:4], "bill_depth_mm"] = "deep"
    elif kind == "out_of_range":
        df.loc[df.index[:6], "body_mass_g"] = 99999.0
    elif kind == "unseen_category":
        df["island"] = df["island"].astype(object)
        df.loc[df.index[:5], "island"] = "Atlantis"
    elif kind == "all_null_column":
        df["sex"] = None
    elif kind == "missing_labels":
        df.loc[df.index[: len(df) // 3], "species"] = None
    return df
