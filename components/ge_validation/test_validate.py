"""GE suite from the schema, run for real on DataFrames; the committed suite stays in sync."""

import json

import pandas as pd
import pytest
from tfx.utils import io_utils

from components.common import examples_io
from components.ge_validation import suite as suite_lib
from components.ge_validation import validate
from tests.configs import REPO

SCHEMA = REPO / "pipelines" / "schemas" / "penguins" / "schema.pbtxt"
SUITE = REPO / "pipelines" / "schemas" / "penguins" / "expectation_suite.json"


@pytest.fixture(scope="module")
def suite():
    return suite_lib.suite_from_schema(io_utils.SchemaReader().read(str(SCHEMA)), "penguins-suite")


def test_committed_suite_matches_schema(suite):
    """The Airflow DAGs read the committed JSON; it must be what the schema derives (`mlops suite`)."""
    assert json.loads(SUITE.read_text()) == json.loads(json.dumps(suite, sort_keys=True))


def test_committed_feature_table_suite_matches_its_schema():
    """penguins_features (the Spark feature table's config): same rule, regenerated with
    `mlops suite --config pipelines/configs/penguins_features.yaml`."""
    folder = REPO / "pipelines" / "schemas" / "penguins_features"
    derived = suite_lib.suite_from_schema(io_utils.SchemaReader().read(str(folder / "schema.pbtxt")), "penguins_features-suite")
    assert json.loads((folder / "expectation_suite.json").read_text()) == json.loads(json.dumps(derived, sort_keys=True))
    columns = {e["kwargs"]["column"] for e in derived["expectations"]}
    assert {"bill_ratio", "mass_flipper_ratio"} <= columns


def test_clean_penguins_pass(suite, penguins_df, tmp_path):
    df = penguins_df.dropna()
    report = validate.validate_dataframe(df, suite, tmp_path / "docs", "penguins")
    assert report.success, report.failures
    assert report.evaluated > 10
    assert (tmp_path / "docs" / "index.html").exists()


def test_bad_values_are_named_with_examples(suite, penguins_df):
    df = penguins_df.dropna().copy()
    df["island"] = df["island"].astype(object)
    df.loc[df.index[:3], "island"] = "Atlantis"
    df.loc[df.index[5], "bill_length_mm"] = 999.0
    df["flipper_length_mm"] = df["flipper_length_mm"].astype(object)
    df.loc[df.index[7], "flipper_length_mm"] = "long"
    df = df.drop(columns=["sex"])
    df = examples_io.numeric_like(df, ["flipper_length_mm"])
    report = validate.validate_dataframe(df, suite, None, "penguins")
    by = {(f.column, f.check): f for f in report.failures}
    assert not report.success
    assert by[("island", "expect_column_values_to_be_in_set")].examples == ["Atlantis"]
    assert by[("bill_length_mm", "expect_column_values_to_be_between")].examples == [999.0]
    assert by[("flipper_length_mm", "expect_column_values_to_be_in_type_list")].examples == ["long"]
    assert ("sex", "expect_column_to_exist") in by
    # the range check cannot compare text: it is folded into the type failure, not reported twice
    assert ("flipper_length_mm", "expect_column_values_to_be_between") not in by


def test_report_round_trips(suite, penguins_df):
    report = validate.validate_dataframe(penguins_df.head(5).dropna(), suite, None, "p")
    again = validate.ValidationReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.success == report.success and again.failures == report.failures
