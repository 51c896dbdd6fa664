"""Reading baseline and current tables for drift: CSV, Parquet, JSONL, or a folder/prefix of them.

Pure pandas plus ``components/common/storage`` (local paths, ``s3://``, ``gs://``,
``package://``). JSONL files written by the serving prediction log are flattened to one row per
instance (features, ``predicted_class``, ``model_version``, ``timestamp``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Iterable

import pandas as pd

from components.common import storage
from components.drift.logic import TIME_COLUMN, DriftInputError, NoDataError, flatten_prediction_records

from components.drift.choices import FORMATS  # noqa: E402 - part of this API
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


def format_of(uri: str, fmt: str | None = None) -> str:
    """The table format from ``fmt`` or the file name suffix."""
    if fmt and fmt != "auto":
        if fmt not in FORMATS:
            raise DriftInputError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    name = uri.rsplit("/", 1)[-1].lower()
    for suffix, kind in _SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    raise DriftInputError(f"{uri}: cannot tell the format from the name; pass --format csv|parquet|jsonl")


def has_known_suffix(uri: str) -> bool:
    """True when the file name tells the format (``.csv``, ``.parquet``, ``.jsonl``, ...)."""
    return any(uri.lower().endswith(s) for s in _SUFFIXES)


def is_folder(uri: str) -> bool:
    """True for a prefix ending in ``/`` or a local directory."""
    if uri.endswith("/"):
        return True
    scheme = storage.split_uri(uri)[0]
    if scheme in ("file", "package"):
        return storage.local_path(uri).is_dir()
    return False


def list_files(uri: str) -> list[str]:
    """Data files under a folder/prefix (sorted by name: log files sort by time), or the file itself."""
    if not is_folder(uri):
        return [uri]
    files = _data_files(storage.list_uris(uri))
    if not files:
        raise NoDataError(f"{uri}: no .csv, .parquet or .jsonl files under it")
    return files


def _data_files(uris: Iterable[str]) -> list[str]:
    # Dot files are in-progress temp files of the prediction logger (written, then renamed).
    return [u for u in uris if has_known_suffix(u) and not u.rsplit("/", 1)[-1].startswith(".")]


def read_one(uri: str, fmt: str | None = None) -> pd.DataFrame:
    kind = format_of(uri, fmt)
    # A StorageError (missing object, throttling, network) is raised as is: it may be transient,
    # while DriftInputError means the content itself is wrong.
    raw = storage.read_bytes(uri)
    try:
        if kind == "csv":
            return pd.read_csv(io.BytesIO(raw), skipinitialspace=True, na_values=["NA", ""], keep_default_na=True)
        if kind == "parquet":
            return pd.read_parquet(io.BytesIO(raw))
        return flatten_prediction_records(_jsonl(raw, uri))
    except DriftInputError:
        raise
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DriftInputError(f"{uri}: cannot read as {kind}: {type(exc).__name__}: {exc}") from exc


def _jsonl(raw: bytes, uri: str) -> Iterable[dict]:
    out = []
    for lineno, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DriftInputError(f"{uri}:{lineno}: not JSON: {exc.msg}") from exc
        if not isinstance(rec, dict):
            raise DriftInputError(f"{uri}:{lineno}: expected a JSON object per line")
        out.append(rec)
    return out


def read_table(uri: str, fmt: str | None = None, max_files: int | None = None) -> pd.DataFrame:
    """One table from a file or every data file under a folder/prefix.

    Args:
        uri: File, folder (local) or prefix ending in ``/`` (s3://, gs://).
        fmt: ``csv``, ``parquet``, ``jsonl`` or None/``auto`` (from each file's suffix).
        max_files: Only the newest (last by name) files of a folder.

    Raises:
        DriftInputError: Nothing to read, or a file is malformed; the message names it.
    """
    files = list_files(uri)
    if max_files:
        files = files[-max_files:]
    frames = [read_one(f, fmt) for f in files]
    frames = [f for f in frames if not f.empty]
    if not frames:
        raise NoDataError(f"{uri}: no rows")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def log_instants(table: pd.DataFrame) -> pd.Series | None:
    """The prediction-log ``timestamp`` column as UTC instants (NaT where unparsable), or None."""
    if TIME_COLUMN not in table.columns:
        return None
    return pd.to_datetime(table[TIME_COLUMN], utc=True, errors="coerce", format="ISO8601")


def read_prediction_log(
    prefix: str, *, window_size: int, lookback_days: int = 7, now: dt.datetime | None = None
) -> pd.DataFrame:
    """The newest served rows under one model's prediction-log prefix, oldest first.

    The serving logger writes ``<prefix>/date=YYYY-MM-DD/<UTC time>-...jsonl``; only the
    ``date=`` folders of the last ``lookback_days`` days are listed, newest first, and files are
    read until ``window_size`` rows are in hand, so an hourly check does not list or read the
    whole history. (Logs copied into a flat folder: use :func:`read_table`.)

    Args:
        prefix: ``<log dir>/<model>/`` (local folder, ``s3://`` or ``gs://`` prefix).
        window_size: Rows wanted (0 = every row in the lookback).
        lookback_days: Days before ``now`` (UTC) to look at besides today.
        now: Current time (tests).

    Raises:
        NoDataError: No served rows in the lookback window.
        DriftInputError: A log file is malformed; the message names it.
    """
    base = prefix if prefix.endswith("/") else prefix + "/"
    now = now or dt.datetime.now(dt.timezone.utc)
    frames: list[pd.DataFrame] = []
    rows = 0
    for back in range(lookback_days + 1):
        day = (now - dt.timedelta(days=back)).date()
        files = _data_files(storage.list_uris(f"{base}date={day:%Y-%m-%d}/"))
        for uri in reversed(files):  # names start with the UTC write time: newest last
            frame = read_one(uri, None)
            if not frame.empty:
                frames.append(frame)
                rows += len(frame)
            if window_size and rows >= window_size:
                break
        if window_size and rows >= window_size:
            break
    if not frames:
        raise NoDataError(f"{base}: no served predictions in the last {lookback_days} day(s)")
    table = pd.concat(frames[::-1], ignore_index=True)
    instant = log_instants(table)
    if instant is not None:
        # Writers may differ in UTC offset notation: order by the instant, not the string.
        table = (
            table.assign(_instant=instant).sort_values("_instant", kind="stable", na_position="first")
            .drop(columns="_instant").reset_index(drop=True)
        )
    return table.tail(window_size).reset_index(drop=True) if window_size else table
