"""Gate logic: TFDV anomalies and GE failures become one precise, actionable verdict."""

import json

import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.common.errors import CheckFailure, DataValidationError
from components.data_gate import logic


def _anomalies():
    a = anomalies_pb2.Anomalies()
    info = a.anomaly_info["island"]
    info.severity = anomalies_pb2.AnomalyInfo.ERROR
    info.description = "Examples contain values missing from the schema: Atlantis (~3%). "
    r = info.reason.add()
    r.type = anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES
    warn = a.anomaly_info["sex"]
    warn.severity = anomalies_pb2.AnomalyInfo.WARNING
    warn.description = "minor"
    return a


def test_only_errors_are_critical_and_examples_are_extracted():
    failures = logic.failures_from_anomalies(_anomalies(), "train")
    assert len(failures) == 1
    f = failures[0]
    assert (f.column, f.check, f.source) == ("island", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "tfdv")
    assert f.examples == ["Atlantis"]


def test_enforce_raises_with_one_paragraph_and_writes_report(tmp_path):
    ge = [CheckFailure("bill_length_mm", "expect_column_values_to_be_between", "great_expectations", "3 unexpected", [999.0])]
    failures = logic.decide(logic.failures_from_anomalies(_anomalies(), "eval"), ge)
    path = tmp_path / "gate.json"
    with pytest.raises(DataValidationError) as err:
        logic.enforce(failures, "penguins", [str(path)])
    text = str(err.value)
    assert "bill_length_mm" in text and "expect_column_values_to_be_between" in text and "999.0" in text
    assert "island" in text and "Atlantis" in text and "Nothing was trained or pushed" in text
    assert "\n" not in text
    report = json.loads(path.read_text())
    assert report["passed"] is False and len(report["failures"]) == 2


def test_clean_data_passes(tmp_path):
    report = logic.enforce([], "penguins", [str(tmp_path / "gate.json")])
    assert report["passed"] is True
