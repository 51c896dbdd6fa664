"""The gate's paragraph: one problem once, whatever number of validators and splits saw it."""

from components.common.errors import CheckFailure, DataValidationError


def _island(source: str, check: str, split: str) -> CheckFailure:
    return CheckFailure("island", check, source, f"[{split}] values not in the set", ["Atlantis"])


def test_one_bad_column_seen_by_two_validators_in_two_splits_is_one_problem():
    failures = [
        _island("great_expectations", "expect_column_values_to_be_in_set", "train"),
        _island("great_expectations", "expect_column_values_to_be_in_set", "eval"),
        _island("tfdv", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "train"),
        _island("tfdv", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "eval"),
    ]
    text = DataValidationError(failures, "penguins").paragraph()
    assert text.startswith("Data validation stopped the pipeline for penguins: 1 critical problem(s): column 'island'")
    assert text.count("island") == 1 and text.count("Atlantis") == 1
    assert "expect_column_values_to_be_in_set (great_expectations in train, eval)" in text
    assert "ENUM_TYPE_UNEXPECTED_STRING_VALUES (tfdv in train, eval)" in text


def test_columns_are_separate_problems_and_table_checks_come_last():
    failures = [
        CheckFailure(None, "has_rows", "ingest", "no complete rows left"),
        CheckFailure("sex", "expect_column_to_exist", "great_expectations", "[train] missing"),
        CheckFailure("body_mass_g", "expect_column_values_to_be_between", "great_expectations", "[eval] 6 out of range", [99999.0]),
    ]
    text = DataValidationError(failures, "penguins").paragraph()
    assert "3 critical problem(s)" in text
    assert text.index("'body_mass_g'") < text.index("'sex'") < text.index("table failed has_rows (ingest): no complete rows left")
