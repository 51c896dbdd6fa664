"""Derive a Great Expectations suite from a TFDV schema, so both validators share one truth.

The schema (curated in the repo, or inferred by SchemaGen) is the contract; the suite restates
it as expectations that GE can check on a DataFrame and explain with example values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_NUMERIC_TYPES = ["float", "float32", "float64", "int", "int32", "int64", "Int64", "Float64"]


def _exp(etype: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": etype, "kwargs": kwargs, "meta": {"derived_from": "tfdv_schema"}}


def _float32(value: float) -> float:
    """A schema's float bound (stored as float32) as the decimal it was written as: 0.41, not
    0.4099999964237213, so messages quote the curated range."""
    return float(f"{value:.7g}")


def suite_from_schema(schema: Any, name: str, columns: list[str] | None = None) -> dict[str, Any]:
    """Builds a GE 1.x suite (as JSON-ready dict) from a ``tensorflow_metadata`` Schema proto.

    Args:
        schema: ``schema_pb2.Schema``.
        name: Suite name.
        columns: Restrict to these columns (default: every feature in the schema).

    Returns:
        A dict loadable by ``great_expectations.ExpectationSuite(**d)`` and by
        ``validate.validate_dataframe``.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    domains = {d.name: list(d.value) for d in schema.string_domain}
    expectations = []
    for feat in schema.feature:
        if columns is not None and feat.name not in columns:
            continue
        col = feat.name
        expectations.append(_exp("expect_column_to_exist", column=col))
        if feat.HasField("presence") and feat.presence.min_fraction >= 1.0:
            expectations.append(_exp("expect_column_values_to_not_be_null", column=col))
        if feat.type in (schema_pb2.FLOAT, schema_pb2.INT):
            expectations.append(_exp("expect_column_values_to_be_in_type_list", column=col, type_list=_NUMERIC_TYPES))
            lo = hi = None
            if feat.HasField("float_domain"):
                fd = feat.float_domain
                lo = _float32(fd.min) if fd.HasField("min") else None
                hi = _float32(fd.max) if fd.HasField("max") else None
            elif feat.HasField("int_domain"):
                idom = feat.int_domain
                lo = idom.min if idom.HasField("min") else None
                hi = idom.max if idom.HasField("max") else None
            if lo is not None or hi is not None:
                expectations.append(_exp("expect_column_values_to_be_between", column=col, min_value=lo, max_value=hi))
        elif feat.type == schema_pb2.BYTES:
            values = None
            if feat.HasField("string_domain"):
                values = list(feat.string_domain.value)
            elif feat.HasField("domain"):
                values = domains.get(feat.domain)
            if values:
                expectations.append(_exp("expect_column_values_to_be_in_set", column=col, value_set=sorted(values)))
    return {"name": name, "expectations": expectations, "meta": {"generated_by": "components.ge_validation.suite"}}


def suite_json(suite: dict[str, Any]) -> str:
    """The suite as JSON text with stable formatting (it is committed next to the schema)."""
    return json.dumps(suite, indent=2, sort_keys=True) + "\n"


def write_suite(suite: dict[str, Any], path: str | Path) -> None:
    """Writes the suite JSON to a local file (``mlops suite``; the component writes its artifact
    copy through ``gfile_io``)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(suite_json(suite))
