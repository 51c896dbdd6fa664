"""``mlops drift`` end to end: files in, report files out, exit codes 0 / 5 / 2."""

import json

import pandas as pd
import pytest

from pipelines.cli import main as _mlops_main
from tests.configs import PENGUINS_CONFIG


def mlops(argv):
    return _mlops_main(argv, hard_exit=False)


@pytest.fixture
def seasons(penguins_df, tmp_path):
    paths = {}
    for year in (2007, 2009):
        paths[year] = tmp_path / f"penguins_{year}.csv"
        penguins_df[penguins_df.year == year].to_csv(paths[year], index=False)
    return paths


def test_drift_detected_exits_5_and_writes_reports(seasons, tmp_path, capsys):
    out = tmp_path / "drift"
    code = mlops(["drift", "--config", str(PENGUINS_CONFIG), "--baseline", str(seasons[2007]),
                  "--current", str(seasons[2009]), "--output-dir", str(out)])
    assert code == 5
    report = json.loads((out / "drift.json").read_text())
    assert report["drifted"] and "flipper_length_mm" in report["drifted_features"]
    assert "data:image/png;base64," in (out / "drift.html").read_text()
    captured = capsys.readouterr()
    assert "flipper_length_mm" in captured.out and "Drift detected" in captured.err


def test_no_drift_exits_0(penguins_df, tmp_path, capsys):
    cur = tmp_path / "cur.parquet"
    penguins_df.sample(n=200, random_state=3).to_parquet(cur)
    out = tmp_path / "drift"
    # baseline defaults to the config's data.uri (the whole penguins CSV)
    code = mlops(["drift", "--config", str(PENGUINS_CONFIG), "--current", str(cur), "--output-dir", str(out)])
    assert code == 0, capsys.readouterr()
    assert json.loads((out / "drift.json").read_text())["drifted"] is False
    assert "No drift" in capsys.readouterr().out


def test_prediction_log_folder_as_current(penguins_df, tmp_path):
    """The serving prediction log layout: <log-dir>/<model>/date=.../*.jsonl, flattened per instance."""
    folder = tmp_path / "logs" / "penguins" / "date=2026-01-31"
    folder.mkdir(parents=True)
    rows = penguins_df.dropna().sample(n=150, random_state=4)
    for part, chunk in enumerate((rows.iloc[:70], rows.iloc[70:])):
        with open(folder / f"20260131T00000{part}Z-host-{part:06d}.jsonl", "w") as fh:
            for i, (_, r) in enumerate(chunk.iterrows()):
                inputs = {c: (r[c] if isinstance(r[c], str) else float(r[c])) for c in
                          ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island", "sex"]}
                fh.write(json.dumps({"timestamp": f"2026-01-31T00:0{part}:{i:02d}", "version": 1, "inputs": inputs,
                                     "outputs": {"predicted_class": r["species"]}}) + "\n")
    out = tmp_path / "drift"
    code = mlops(["drift", "--config", str(PENGUINS_CONFIG), "--current", str(tmp_path / "logs" / "penguins"),
                  "--output-dir", str(out), "--no-plots"])
    report = json.loads((out / "drift.json").read_text())
    assert code == 0, report["features"]
    assert report["current_rows"] == 150
    assert "predicted_class" in {f["name"] for f in report["features"]}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--current", "{missing}"], "no such file"),
        (["--current", "{bad_cols}"], "no column"),
        (["--current", "{cur}", "--format", "parquet"], "cannot read as parquet"),
    ],
)
def test_input_errors_exit_2_with_a_paragraph(extra, message, seasons, tmp_path, capsys):
    bad_cols = tmp_path / "bad.csv"
    pd.DataFrame({"x": [1, 2]}).to_csv(bad_cols, index=False)
    fill = {"missing": str(tmp_path / "nope.csv"), "bad_cols": str(bad_cols), "cur": str(seasons[2009])}
    args = [a.format(**fill) for a in extra]
    code = mlops(["drift", "--config", str(PENGUINS_CONFIG), "--output-dir", str(tmp_path / "o"), *args])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())  # the paragraph is wrapped at 100 columns
    assert message in err and "Traceback" not in err


def test_threshold_override_at_the_observed_score_is_not_drift(seasons, tmp_path):
    out = tmp_path / "d1"
    assert mlops(["drift", "--config", str(PENGUINS_CONFIG), "--baseline", str(seasons[2007]), "--current",
                  str(seasons[2009]), "--output-dir", str(out), "--no-plots"]) == 5
    top = json.loads((out / "drift.json").read_text())["max_score"]
    assert mlops(["drift", "--config", str(PENGUINS_CONFIG), "--baseline", str(seasons[2007]), "--current",
                  str(seasons[2009]), "--output-dir", str(tmp_path / "d2"), "--no-plots", "--threshold", repr(top)]) == 0


def test_source_headers_are_mapped_by_data_rename(seasons, penguins_df, tmp_path, capsys):
    """A file with the source headers (data.rename) is compared under the pipeline's names."""
    import yaml

    headers = {"bill_length_mm": "Culmen Length (mm)", "bill_depth_mm": "Culmen Depth (mm)",
               "flipper_length_mm": "Flipper Length (mm)", "body_mass_g": "Body Mass (g)", "island": "Island",
               "sex": "Sex", "species": "Species"}
    raw = yaml.safe_load(PENGUINS_CONFIG.read_text())
    raw["data"]["rename"] = {src: name for name, src in headers.items()}
    config = tmp_path / "renamed.yaml"
    config.write_text(yaml.safe_dump(raw))
    current = tmp_path / "current-raw-headers.csv"
    penguins_df[penguins_df.year == 2009].rename(columns=headers).to_csv(current, index=False)
    out = tmp_path / "drift"
    code = mlops(["drift", "--config", str(config), "--baseline", str(seasons[2007]), "--current", str(current),
                  "--output-dir", str(out)])
    assert code == 5, capsys.readouterr().err
    report = json.loads((out / "drift.json").read_text())
    assert "flipper_length_mm" in report["drifted_features"]
    assert {f["name"] for f in report["features"]} >= {"flipper_length_mm", "island"}
