"""Corrupted data stops at validation with a specific error, and nothing is pushed."""

import json

import pytest

from pipelines.config import load_config
from pipelines.local.run import run_local
from tests.configs import fast_config
from tests.integration.bad_inputs import corrupt

pytestmark = pytest.mark.slow


CASES = {
    # kind: (column named, check named, example value named)
    "missing_column": ("flipper_length_mm", "expect_column_to_exist", None),
    "wrong_type": ("bill_depth_mm", "expect_column_values_to_be_in_type_list", "deep"),
    "out_of_range": ("body_mass_g", "expect_column_values_to_be_between", "99999.0"),
    "unseen_category": ("island", "expect_column_values_to_be_in_set", "Atlantis"),
}


def _run(tmp_path, raw_config, data_path):
    cfg = load_config(fast_config(tmp_path, raw_config, data_uri=str(data_path)))
    summary = run_local(cfg, str(tmp_path / "run"))
    return cfg, summary


@pytest.mark.parametrize("kind", sorted(CASES))
def test_corrupted_data_stops_at_the_gate(tmp_path, raw_config, penguins_df, kind):
    data = tmp_path / "data.csv"
    corrupt(penguins_df.dropna(), kind).to_csv(data, index=False)
    cfg, summary = _run(tmp_path, raw_config, data)
    column, check, example = CASES[kind]
    assert summary.status == "gate_failed", summary.reason
    assert column in summary.reason and check in summary.reason
    if example:
        assert example in summary.reason
    failures = summary.gate["failures"]
    assert any(f["column"] == column and f["check"] == check for f in failures), failures
    # both validators are consulted; TFDV sees these too
    assert any(f["source"] == "tfdv" for f in failures)
    # stopped before Transform: nothing trained, nothing pushed
    assert "Transform" not in summary.components or summary.components["Transform"].get("state") != "executed"
    assert not (tmp_path / "models").exists()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "gate_failed"


@pytest.mark.parametrize(
    "content, check",
    [("", "file_not_empty"), ('species,island\nAdelie,"Torgersen\nGentoo,Biscoe,1,2,3\n', "well_formed_csv")],
    ids=["empty_file", "malformed_csv"],
)
def test_unreadable_file_stops_at_ingest(tmp_path, raw_config, content, check):
    data = tmp_path / "data.csv"
    data.write_text(content)
    _, summary = _run(tmp_path, raw_config, data)
    assert summary.status == "gate_failed"
    assert check in summary.reason and "data.csv" in summary.reason
    assert summary.components["DataIngest"]["state"] == "failed"
    assert not (tmp_path / "models").exists()
