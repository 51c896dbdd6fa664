"""Request validation from the signature (pure: no TensorFlow, no server)."""

import numpy as np
import pytest

from serving.validation import InputSpec, RequestError, parse_json, parse_request

SPECS = {
    "bill_length_mm": InputSpec("bill_length_mm", "float", "float32"),
    "count": InputSpec("count", "int", "int64"),
    "island": InputSpec("island", "string", "string"),
}
GOOD = {"bill_length_mm": 39.1, "count": 3, "island": "Biscoe"}


def test_rows_become_typed_columns():
    parsed = parse_request({"instances": [GOOD, {**GOOD, "count": 4.0, "bill_length_mm": 40}]}, SPECS)
    assert parsed.n == 2 and not parsed.columnar
    assert parsed.columns["bill_length_mm"].dtype == np.float32
    assert parsed.columns["count"].tolist() == [3, 4]
    assert parsed.columns["island"].tolist() == [b"Biscoe", b"Biscoe"]
    assert parsed.rows[0] == GOOD


def test_columnar_inputs():
    parsed = parse_request({"inputs": {k: [v, v] for k, v in GOOD.items()}}, SPECS)
    assert parsed.n == 2 and parsed.columnar


@pytest.mark.parametrize(
    "body, status, kind, words",
    [
        ({"instances": [{k: v for k, v in GOOD.items() if k != "island"}]}, 400, "missing_feature", ["instances[0]", "'island'"]),
        ({"instances": [{**GOOD, "beak": 1}]}, 400, "unknown_feature", ["'beak'"]),
        ({"instances": [GOOD, {**GOOD, "bill_length_mm": "abc"}]}, 400, "wrong_type", ["instances[1]", "'bill_length_mm'", '"abc"']),
        ({"instances": [{**GOOD, "bill_length_mm": True}]}, 400, "wrong_type", ["'bill_length_mm'", "boolean"]),
        ({"instances": [{**GOOD, "bill_length_mm": None}]}, 400, "wrong_type", ["'bill_length_mm'", "null"]),
        ({"instances": [{**GOOD, "bill_length_mm": [1.0]}]}, 400, "wrong_type", ["'bill_length_mm'", "list"]),
        ({"instances": [{**GOOD, "bill_length_mm": 1e39}]}, 400, "wrong_type", ["'bill_length_mm'", "out of range"]),
        ({"instances": [{**GOOD, "count": 1.5}]}, 400, "wrong_type", ["'count'", "whole number"]),
        ({"instances": [{**GOOD, "count": 2**63}]}, 400, "wrong_type", ["'count'", "out of range"]),
        ({"instances": [{**GOOD, "island": 3}]}, 400, "wrong_type", ["'island'", "a string"]),
        # beyond float64: float() raises OverflowError (it was a 500)
        ({"instances": [{**GOOD, "bill_length_mm": 10**400}]}, 400, "wrong_type", ["instances[0]", "'bill_length_mm'", "out of range", "401 digits"]),
        ({"instances": [{**GOOD, "bill_length_mm": -(10**309)}]}, 400, "wrong_type", ["'bill_length_mm'", "out of range"]),
        ({"inputs": {**{k: [v] for k, v in GOOD.items()}, "bill_length_mm": [10**400]}}, 400, "wrong_type",
         ["inputs['bill_length_mm'][0]", "out of range"]),
        ({"instances": [{**GOOD, "count": 10**400}]}, 400, "wrong_type", ["'count'", "out of range"]),
        # a lone surrogate is valid JSON ("\ud800") but not UTF-8: .encode() raised UnicodeEncodeError (a 500)
        ({"instances": [GOOD, {**GOOD, "island": "Bis\ud800coe"}]}, 400, "wrong_type",
         ["instances[1]", "'island'", "surrogate", "\\ud800", "position 3"]),
        ({"inputs": {**{k: [v] for k, v in GOOD.items()}, "island": ["\udfff"]}}, 400, "wrong_type",
         ["inputs['island'][0]", "surrogate"]),
        ({"instances": []}, 400, "empty_instances", ["empty"]),
        ({"instances": {}}, 400, "bad_request", ["\"instances\""]),
        ({"instances": [1]}, 400, "bad_request", ["instances[0]"]),
        ({"instance": [GOOD]}, 400, "bad_request", ["'instance'"]),
        ({}, 400, "bad_request", ["instances"]),
        ([GOOD], 400, "bad_request", ["JSON object"]),
        ({"instances": [GOOD], "signature_name": "other"}, 400, "unknown_signature", ["'other'"]),
        ({"inputs": {**{k: [v] for k, v in GOOD.items()}, "count": [1, 2]}}, 400, "bad_request", ["count=2"]),
        ({"inputs": {k: [] for k in GOOD}}, 400, "empty_instances", ["empty"]),
        ({"inputs": {**{k: [v] for k, v in GOOD.items()}, "island": "Biscoe"}}, 400, "wrong_type", ["'island'"]),
        ({"instances": [GOOD] * 4}, 413, "too_many_instances", ["4", "at most 3"]),
    ],
)
def test_client_errors_name_the_field(body, status, kind, words):
    with pytest.raises(RequestError) as info:
        parse_request(body, SPECS, max_instances=3)
    err = info.value
    assert (err.status, err.kind) == (status, kind), err.message
    for word in words:
        assert word in err.message


@pytest.mark.parametrize("raw", [b"", b"{", b'{"instances": [NaN]}', b"\xff\xfe", b'{"a": Infinity}'])
def test_malformed_json(raw):
    with pytest.raises(RequestError) as info:
        parse_json(raw)
    assert info.value.kind == "malformed_json" and info.value.status == 400


def test_huge_numbers_and_surrogates_from_real_json():
    """The same through parse_json, as the bytes arrive: a 400-digit integer and a "\\ud800" escape."""
    big = b'{"instances": [{"bill_length_mm": 1' + b"0" * 400 + b', "count": 1, "island": "a"}]}'
    lone = b'{"instances": [{"bill_length_mm": 1.0, "count": 1, "island": "\\ud800"}]}'
    for raw, field in ((big, "'bill_length_mm'"), (lone, "'island'")):
        with pytest.raises(RequestError) as info:
            parse_request(parse_json(raw), SPECS)
        assert (info.value.status, info.value.kind) == (400, "wrong_type") and field in info.value.message


# An optional feature (the model's input contract: the schema lets rows miss it, the model imputes
# it): float64 with NaN for a number, an integer feature included, "" for a string.
OPTIONAL = {
    "bill_length_mm": InputSpec("bill_length_mm", "float", "float32"),
    "count": InputSpec("count", "int", "float64", optional=True),
    "island": InputSpec("island", "string", "string", optional=True),
}


def test_an_optional_feature_may_be_null_or_left_out():
    rows = [GOOD, {**GOOD, "count": None, "island": None}, {"bill_length_mm": 40.0}]
    parsed = parse_request({"instances": rows}, OPTIONAL)
    count = parsed.columns["count"]
    assert count.dtype == np.float64 and count[0] == 3 and np.isnan(count[1:]).all()
    assert parsed.columns["island"].tolist() == [b"Biscoe", b"", b""]
    columnar = parse_request({"inputs": {"bill_length_mm": [1.0, 2.0], "count": [None, 5]}}, OPTIONAL)
    assert columnar.n == 2 and np.isnan(columnar.columns["count"][0]) and columnar.columns["island"].tolist() == [b"", b""]


@pytest.mark.parametrize("body, words", [
    ({"instances": [{"count": 3}]}, ["missing feature 'bill_length_mm'"]),  # a required one stays required
    ({"instances": [{**GOOD, "bill_length_mm": None}]}, ["'bill_length_mm'", "null"]),
    ({"instances": [{**GOOD, "count": 1.5}]}, ["'count'", "whole number"]),  # still an integer to clients
    ({"instances": [{**GOOD, "count": "x"}]}, ["'count'", "an integer (float64) or null"]),
])
def test_optional_features_keep_their_type_and_required_ones_stay_required(body, words):
    with pytest.raises(RequestError) as err:
        parse_request(body, OPTIONAL)
    assert err.value.status == 400 and all(w in err.value.message for w in words), err.value.message
