"""Request parsing and validation against the model's signature (pure Python + numpy, no TF).

Every client mistake becomes a :class:`RequestError` with an HTTP status (4xx), a machine
``kind`` (the ``kind`` label of the errors metric) and a message that names the field, e.g.
``instances[2]: feature 'bill_length_mm' expects a number (float32), got string "abc"``.

Accepted bodies (the TF Serving REST API):

* row format ``{"instances": [{"feature": value, ...}, ...]}`` -> ``{"predictions": [...]}``
* columnar format ``{"inputs": {"feature": [v1, v2, ...], ...}}`` -> ``{"outputs": {...}}``
* optional ``"signature_name"``: only ``serving_default`` is served.

Each feature is a scalar per instance (the signature's tensors have shape ``[None]``): a JSON
number for float/int features (booleans, strings, null, lists are refused), a JSON string for
string features. An **optional** feature (the model's input contract, written by the Trainer
beside the SavedModel: the schema lets rows miss it and the model imputes it) may also be
``null`` or left out; it reaches the model as NaN (numeric) or ``""`` (string), as in training.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from components.common.model_contract import MISSING_STRING

DEFAULT_SIGNATURE = "serving_default"
FLOAT32_MAX = float(np.finfo(np.float32).max)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class RequestError(Exception):
    """A client error: HTTP ``status`` (4xx), metric ``kind``, message naming the field."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class InputSpec:
    """One input of the signature.

    Attributes:
        name: Feature name (the signature's input key).
        kind: ``float``, ``int`` or ``string``.
        dtype: The tensor dtype name (``float32``, ``int64``, ``string``, ...).
    """

    name: str
    kind: str
    dtype: str
    optional: bool = False

    @property
    def numpy_dtype(self):
        if self.kind == "string":
            return object
        return np.dtype(self.dtype)

    def describe(self) -> str:
        what = {"float": f"a number ({self.dtype})", "int": f"an integer ({self.dtype})", "string": "a string"}[self.kind]
        return f"{what} or null" if self.optional else what

    @property
    def missing_value(self) -> Any:
        """What a missing value of an optional feature is in the tensor (the model imputes it)."""
        return MISSING_STRING.encode() if self.kind == "string" else math.nan


def kind_of_dtype(dtype_name: str) -> str:
    """``float32`` -> ``float``; ``int64`` -> ``int``; ``string`` -> ``string``."""
    if dtype_name.startswith(("float", "half", "bfloat")):
        return "float"
    if dtype_name.startswith(("int", "uint")):
        return "int"
    if dtype_name == "string":
        return "string"
    raise ValueError(f"unsupported input dtype {dtype_name!r} (float, int and string inputs are served)")


@dataclass
class ParsedRequest:
    """A validated request.

    Attributes:
        columns: One numpy array per input, length ``n``.
        rows: The instances as plain dicts (for the prediction log).
        n: Number of instances.
        columnar: True for the ``inputs`` format (the response uses ``outputs``).
    """

    columns: dict[str, np.ndarray]
    rows: list[dict[str, Any]]
    n: int
    columnar: bool = False


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Parses a request body; NaN/Infinity literals and bad UTF-8 are malformed JSON."""
    if not raw.strip():
        raise RequestError(400, "malformed_json", "empty request body: send a JSON object like {\"instances\": [...]}")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise RequestError(400, "malformed_json", f"request body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise RequestError(
            400, "malformed_json", f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, "malformed_json", f"malformed JSON: {exc}") from exc


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {json.dumps(shown)}"
    if isinstance(value, (int, float)):
        shown = repr(value)
        return f"number {shown if len(shown) <= 40 else shown[:20] + '...' + shown[-5:] + f' ({len(shown.lstrip("-"))} digits)'}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def convert_value(spec: InputSpec, value: Any, where: str) -> Any:
    """Checks one scalar against its spec and returns the Python value to put in the tensor."""
    def wrong(extra: str = "") -> RequestError:
        return RequestError(
            400, "wrong_type", f"{where}: feature {spec.name!r} expects {spec.describe()}, got {_describe_value(value)}{extra}"
        )

    if value is None and spec.optional:
        return spec.missing_value
    if spec.kind == "string":
        if not isinstance(value, str):
            raise wrong()
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800": JSON allows it, UTF-8 does not
            bad = value[exc.start]
            raise RequestError(
                400, "wrong_type",
                f"{where}: feature {spec.name!r} expects a string of Unicode characters, got a lone surrogate "
                f"\\u{ord(bad):04x} at position {exc.start} (not encodable as UTF-8)",
            ) from exc
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise wrong()
    if spec.kind == "float":
        try:
            number = float(value)
        except OverflowError:  # an integer literal beyond float64 (about 1.8e308)
            number = math.inf
        limit = FLOAT32_MAX if spec.dtype in ("float32", "half", "float16", "bfloat16") else float("inf")
        if not math.isfinite(number) or abs(number) > limit:
            raise RequestError(
                400, "wrong_type", f"{where}: feature {spec.name!r}: {_describe_value(value)} is out of range for {spec.dtype}"
            )
        return number
    # int
    if isinstance(value, float):
        if not value.is_integer():
            raise wrong(" (not a whole number)")
        value = int(value)
    lo, hi = (INT32_MIN, INT32_MAX) if spec.dtype == "int32" else (INT64_MIN, INT64_MAX)
    if not lo <= value <= hi:
        raise RequestError(
            400, "wrong_type", f"{where}: feature {spec.name!r}: {_describe_value(value)} is out of range for {spec.dtype}"
        )
    return value


def _check_names(present: Sequence[str], specs: Mapping[str, InputSpec], where: str) -> None:
    unknown = [k for k in present if k not in specs]
    if unknown:
        raise RequestError(
            400, "unknown_feature",
            f"{where}: unknown feature {unknown[0]!r}; the model takes: {', '.join(sorted(specs))}",
        )
    missing = [k for k, spec in specs.items() if k not in present and not spec.optional]
    if missing:
        raise RequestError(
            400, "missing_feature",
            f"{where}: missing feature {missing[0]!r}; the model needs: {', '.join(sorted(specs))}",
        )


def parse_request(body: Any, specs: Mapping[str, InputSpec], max_instances: int = 10_000) -> ParsedRequest:
    """Validates a parsed JSON body against the signature's inputs and builds the input columns.

    Raises:
        RequestError: Anything a client can fix; the message names the instance and feature.
    """
    if not isinstance(body, dict):
        raise RequestError(
            400, "bad_request", f"the request body must be a JSON object like {{\"instances\": [...]}}, got {_describe_value(body)}"
        )
    signature = body.get("signature_name", DEFAULT_SIGNATURE)
    if signature != DEFAULT_SIGNATURE:
        raise RequestError(400, "unknown_signature", f"signature_name {signature!r} is not served; use {DEFAULT_SIGNATURE!r}")
    extra = sorted(set(body) - {"instances", "inputs", "signature_name"})
    if extra:
        raise RequestError(400, "bad_request", f"unknown top-level key {extra[0]!r}; send \"instances\" (rows) or \"inputs\" (columns)")
    if ("instances" in body) == ("inputs" in body):
        raise RequestError(400, "bad_request", "send exactly one of \"instances\" (a list of objects) or \"inputs\" (an object of lists)")
    if "instances" in body:
        return _parse_rows(body["instances"], specs, max_instances)
    return _parse_columns(body["inputs"], specs, max_instances)


def _parse_rows(instances: Any, specs: Mapping[str, InputSpec], max_instances: int) -> ParsedRequest:
    if not isinstance(instances, list):
        raise RequestError(400, "bad_request", f"\"instances\" must be a list of objects, got {_describe_value(instances)}")
    if not instances:
        raise RequestError(400, "empty_instances", "\"instances\" is empty: send at least one instance")
    if len(instances) > max_instances:
        raise RequestError(
            413, "too_many_instances", f"\"instances\" has {len(instances)} items; at most {max_instances} per request"
        )
    values: dict[str, list] = {name: [] for name in specs}
    rows = []
    for i, inst in enumerate(instances):
        where = f"instances[{i}]"
        if not isinstance(inst, dict):
            raise RequestError(
                400, "bad_request", f"{where} must be an object mapping feature names to values, got {_describe_value(inst)}"
            )
        _check_names(list(inst), specs, where)
        for name, spec in specs.items():
            values[name].append(convert_value(spec, inst.get(name), where))
        rows.append(inst)
    return ParsedRequest(_arrays(values, specs), rows, len(instances))


def _parse_columns(inputs: Any, specs: Mapping[str, InputSpec], max_instances: int) -> ParsedRequest:
    if not isinstance(inputs, dict):
        raise RequestError(400, "bad_request", f"\"inputs\" must be an object of lists, got {_describe_value(inputs)}")
    _check_names(list(inputs), specs, "inputs")
    lengths = set()
    for name in specs:
        if name not in inputs:
            continue  # an optional feature left out: missing in every instance
        col = inputs[name]
        if not isinstance(col, list):
            raise RequestError(400, "wrong_type", f"inputs: feature {name!r} must be a list of values, got {_describe_value(col)}")
        lengths.add(len(col))
    if len(lengths) != 1:
        sizes = ", ".join(f"{name}={len(inputs[name])}" for name in specs if name in inputs)
        raise RequestError(400, "bad_request", f"inputs: every feature needs the same number of values ({sizes})")
    if not lengths:
        raise RequestError(400, "empty_instances", "inputs: no feature given: send at least one feature's values")
    n = lengths.pop()
    if n == 0:
        raise RequestError(400, "empty_instances", "inputs: the lists are empty: send at least one instance")
    if n > max_instances:
        raise RequestError(413, "too_many_instances", f"inputs: {n} instances; at most {max_instances} per request")
    values = {
        name: [convert_value(spec, v, f"inputs[{name!r}][{i}]") for i, v in enumerate(inputs.get(name, [None] * n))]
        for name, spec in specs.items()
    }
    rows = [{name: inputs[name][i] for name in specs if name in inputs} for i in range(n)]
    return ParsedRequest(_arrays(values, specs), rows, n, columnar=True)


def _arrays(values: Mapping[str, list], specs: Mapping[str, InputSpec]) -> dict[str, np.ndarray]:
    return {name: np.array(values[name], dtype=specs[name].numpy_dtype) for name in specs}
