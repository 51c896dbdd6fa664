"""components.drift.data: reading the serving prediction log window and plain tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from components.drift import data
from components.drift.logic import DriftInputError, NoDataError

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)


def _log(prefix: Path, day: dt.date, stamp: str, masses: list[float]) -> Path:
    """One prediction-log batch as the serving logger writes it."""
    folder = prefix / f"date={day:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp}-host-1-000001.jsonl"
    lines = [
        json.dumps({
            "timestamp": f"{day:%Y-%m-%d}T{stamp[9:11]}:00:{i:02d}+00:00", "model": "penguins", "version": 2,
            "inputs": {"body_mass_g": m, "island": "Dream"}, "outputs": {"predicted_class": "Gentoo"},
        })
        for i, m in enumerate(masses)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_newest_window_is_read_oldest_first_and_older_days_are_not_opened(tmp_path):
    today, yesterday = NOW.date(), NOW.date() - dt.timedelta(days=1)
    _log(tmp_path, yesterday, "20260309T100000000000Z", [1.0, 2.0, 3.0])
    _log(tmp_path, today, "20260310T090000000000Z", [4.0, 5.0])
    _log(tmp_path, today, "20260310T110000000000Z", [6.0, 7.0])
    # A file the window does not need is never parsed: a corrupt one there must not matter.
    (tmp_path / "date=2026-03-01").mkdir()
    (tmp_path / "date=2026-03-01" / "20260301T000000000000Z-x-1.jsonl").write_text("{not json\n")

    table = data.read_prediction_log(str(tmp_path), window_size=4, lookback_days=30, now=NOW)
    assert table["body_mass_g"].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert table["predicted_class"].unique().tolist() == ["Gentoo"] and set(table["model_version"]) == {2}

    table = data.read_prediction_log(str(tmp_path), window_size=5, lookback_days=1, now=NOW)
    assert table["body_mass_g"].tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]


def test_lookback_bounds_the_days_read(tmp_path):
    _log(tmp_path, NOW.date() - dt.timedelta(days=3), "20260307T100000000000Z", [1.0])
    with pytest.raises(NoDataError, match="no served predictions in the last 2 day"):
        data.read_prediction_log(str(tmp_path), window_size=10, lookback_days=2, now=NOW)
    assert data.read_prediction_log(str(tmp_path), window_size=10, lookback_days=3, now=NOW)["body_mass_g"].tolist() == [1.0]


def test_empty_or_missing_prefix_is_no_data_but_a_malformed_file_is_an_input_error(tmp_path):
    with pytest.raises(NoDataError):
        data.read_prediction_log(str(tmp_path / "never-written"), window_size=10, now=NOW)
    bad = tmp_path / f"date={NOW:%Y-%m-%d}"
    bad.mkdir()
    (bad / "20260310T000000000000Z-x-1.jsonl").write_text('{"inputs": {"a": 1}}\n[1, 2]\n')
    with pytest.raises(DriftInputError, match=r"20260310T000000000000Z-x-1.jsonl:2: expected a JSON object") as err:
        data.read_prediction_log(str(tmp_path), window_size=10, now=NOW)
    assert not isinstance(err.value, NoDataError)


def test_flat_logs_are_not_scanned_and_rows_order_by_instant_not_by_string(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"inputs": {"x": 1}}) + "\n")
    with pytest.raises(NoDataError):  # only date= folders are listed; flat copies go through read_table
        data.read_prediction_log(str(tmp_path), window_size=1, now=NOW)
    day = tmp_path / f"date={NOW:%Y-%m-%d}"
    day.mkdir()
    recs = [  # 10:30+02:00 is 08:30 UTC: the oldest, although its string sorts last
        {"timestamp": "2026-03-10T09:00:00+00:00", "inputs": {"x": 2}},
        {"timestamp": "2026-03-10T10:30:00+02:00", "inputs": {"x": 1}},
        {"timestamp": "2026-03-10T09:30:00Z", "inputs": {"x": 3}},
    ]
    (day / "20260310T093000000000Z-w-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert data.read_prediction_log(str(tmp_path), window_size=2, now=NOW)["x"].tolist() == [2, 3]


def test_format_helpers(tmp_path):
    assert data.has_known_suffix("s3://b/x/part.PARQUET") and not data.has_known_suffix("s3://b/x/part")
    assert data.is_folder("gs://b/logs/") and data.is_folder(str(tmp_path)) and not data.is_folder(str(tmp_path / "f.csv"))
    with pytest.raises(NoDataError, match="no .csv, .parquet or .jsonl"):
        data.read_table(str(tmp_path))
