"""The server's OpenAPI 3.1 document, published at ``GET /openapi.json``.

Written out by hand rather than derived from the FastAPI routes: the predict handlers read the
body themselves (to bound its size before parsing it), so FastAPI knows nothing about it. The
document is built per request from the model being served, so the request schema is the
served signature: one property per input, ``number`` with the dtype's range for float inputs,
``integer`` with its range for int inputs, ``string`` for string inputs, every input required
and nothing else allowed. What JSON Schema cannot say is in the descriptions: the columnar
lists must all have the same length, and the body must stay under ``--max-body-bytes``.

Every status the server answers with is documented per operation, with the ``{"error": ...}``
body for 4xx/503; a 5xx other than 503 is a server bug and is deliberately not documented
(a fuzzer checking the document against the server flags it).
"""

from __future__ import annotations

from typing import Any, Mapping

from serving.validation import DEFAULT_SIGNATURE, FLOAT32_MAX, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, InputSpec

OPENAPI_VERSION = "3.1.0"
FLOAT64_MAX = 1.7976931348623157e308
_SMALL_FLOATS = ("float32", "half", "float16", "bfloat16")


def value_schema(spec: InputSpec) -> dict[str, Any]:
    """JSON Schema of one instance's value of this input (an optional input may also be null)."""
    schema = _value_schema(spec)
    if spec.optional:
        # OpenAPI 3.1 is JSON Schema: null is a type of its own (3.0's `nullable` is gone).
        schema = {**schema, "type": [schema["type"], "null"],
                  "description": schema["description"] + ", optional: null or left out = missing"}
    return schema


def _value_schema(spec: InputSpec) -> dict[str, Any]:
    if spec.kind == "string":
        return {"type": "string", "description": f"{spec.name} ({spec.dtype})"}
    if spec.kind == "int":
        lo, hi = (INT32_MIN, INT32_MAX) if spec.dtype == "int32" else (INT64_MIN, INT64_MAX)
        return {"type": "integer", "minimum": lo, "maximum": hi, "description": f"{spec.name} ({spec.dtype})"}
    limit = FLOAT32_MAX if spec.dtype in _SMALL_FLOATS else FLOAT64_MAX
    return {"type": "number", "minimum": -limit, "maximum": limit, "description": f"{spec.name} ({spec.dtype})"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, ref: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
    if headers:
        out["headers"] = dict(headers)
    return out


def _post_op(op_id: str, summary: str, parameters: list, request_schema: str, responses: Mapping[str, Any]) -> dict[str, Any]:
    """A POST operation whose JSON body is ``#/components/schemas/<request_schema>``."""
    return {
        "operationId": op_id,
        "summary": summary,
        "parameters": parameters,
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request_schema}"}}}},
        "responses": dict(responses),
    }


def build_openapi(
    name: str,
    inputs: Mapping[str, InputSpec] | None,
    *,
    served_version: int | None,
    max_instances: int,
    max_body_bytes: int,
    explain_max_instances: int = 10,
    explain_timeout_seconds: float = 30.0,
) -> dict[str, Any]:
    """The OpenAPI document for a server of model ``name`` (``inputs``: the served signature, or None)."""
    if inputs:
        instance = {
            "type": "object",
            "properties": {k: value_schema(s) for k, s in sorted(inputs.items())},
            "required": sorted(k for k, s in inputs.items() if not s.optional),
            "additionalProperties": False,
            "description": "One instance: every input of the signature, one scalar each (optional ones may be left out).",
        }
        columns = {
            "type": "object",
            "properties": {k: {"type": "array", "items": value_schema(s), "minItems": 1, "maxItems": max_instances}
                           for k, s in sorted(inputs.items())},
            "required": sorted(k for k, s in inputs.items() if not s.optional),
            "additionalProperties": False,
            "description": "One list per input; every list has the same length (one value per instance).",
        }
    else:  # nothing loaded yet: every predict answers 503
        instance = {"type": "object", "description": "One instance (the signature is known once a model is loaded)."}
        columns = {"type": "object", "description": "One list per input (the signature is known once a model is loaded)."}

    signature = {"type": "string", "enum": [DEFAULT_SIGNATURE], "description": "Only serving_default is served."}
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string", "description": "What is wrong, naming the field."}},
            "additionalProperties": False,
        },
        "Instance": instance,
        "RowRequest": {
            "type": "object",
            "required": ["instances"],
            "properties": {
                "instances": {"type": "array", "items": {"$ref": "#/components/schemas/Instance"},
                              "minItems": 1, "maxItems": max_instances},
                "signature_name": signature,
            },
            "additionalProperties": False,
        },
        "ColumnarRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {"inputs": columns, "signature_name": signature},
            "additionalProperties": False,
        },
        "PredictRequest": {
            "oneOf": [{"$ref": "#/components/schemas/RowRequest"}, {"$ref": "#/components/schemas/ColumnarRequest"}],
            "description": ("TF Serving's row format (instances) or columnar format (inputs); "
                            f"at most {max_instances} instances and {max_body_bytes} bytes."),
        },
        "PredictResponse": {
            "oneOf": [
                {"type": "object", "required": ["predictions"], "additionalProperties": False,
                 "properties": {"predictions": {"type": "array", "items": {"type": "object"},
                                                "description": "One object of outputs per instance, in order."}}},
                {"type": "object", "required": ["outputs"], "additionalProperties": False,
                 "properties": {"outputs": {"type": "object", "description": "One list per output (columnar request)."}}},
            ],
        },
        "ExplainRequest": {
            "type": "object",
            "required": ["instances"],
            "properties": {
                "instances": {"type": "array", "items": {"$ref": "#/components/schemas/Instance"},
                              "minItems": 1, "maxItems": explain_max_instances},
                "method": {"type": "string", "enum": ["shap", "lime"],
                           "description": "Attribution method (default shap; the query parameter does the same)."},
                "signature_name": signature,
            },
            "additionalProperties": False,
            "description": (f"The :predict row format; at most {explain_max_instances} instances, every feature given "
                            f"(--explain-max-instances), answered within {explain_timeout_seconds:g} s "
                            "(--explain-timeout-seconds)."),
        },
        "ExplainResponse": {
            "type": "object",
            "required": ["explanations"],
            "additionalProperties": False,
            "properties": {"explanations": {"type": "array", "description": "One per instance, in order.", "items": {
                "type": "object",
                "required": ["method", "prediction", "attributions", "base_value"],
                "properties": {
                    "method": {"type": "string", "description": "How the attributions were computed."},
                    "prediction": {"type": ["object", "null"],
                                   "description": "predicted_class and its probability, or predicted_value."},
                    "attributions": {"type": ["object", "null"], "additionalProperties": {"type": "number"},
                                     "description": "Feature -> contribution to the predicted class's probability "
                                                    "(regression: to the predicted value); null when the model's "
                                                    "output for the instance is not a finite number (see note)."},
                    "note": {"type": "string"},
                    "base_value": {"type": ["number", "null"],
                                   "description": "SHAP: the background's mean prediction; LIME: the local model's intercept."},
                },
            }}},
        },
        "ModelVersionStatus": {
            "type": "object",
            "required": ["version", "state", "status"],
            "properties": {
                "version": {"type": "string"},
                "state": {"type": "string", "enum": ["AVAILABLE", "LOADING", "END"]},
                "status": {"type": "object", "required": ["error_code", "error_message"],
                           "properties": {"error_code": {"type": "string"}, "error_message": {"type": "string"}}},
            },
        },
        "ModelStatus": {
            "type": "object",
            "required": ["model_version_status"],
            "properties": {"model_version_status": {"type": "array", "minItems": 1,
                                                    "items": {"$ref": "#/components/schemas/ModelVersionStatus"}}},
        },
        "Metadata": {
            "type": "object",
            "required": ["model_spec", "metadata", "manifest", "source"],
            "properties": {
                "model_spec": {"type": "object", "required": ["name", "version", "signature_name"],
                               "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                                              "signature_name": {"type": "string"}}},
                "metadata": {"type": "object"},
                "manifest": {"type": "object"},
                "source": {"type": "string"},
            },
        },
        "FailedVersion": {
            "type": "object",
            "required": ["version", "error", "reason", "attempts", "retry_in_seconds"],
            "properties": {
                "version": {"type": "integer"},
                "error": {"type": "string"},
                "reason": {"type": "string", "description": "Short label, also the metric's reason label."},
                "attempts": {"type": "integer", "minimum": 1},
                "retry_in_seconds": {"type": "number", "minimum": 0},
            },
        },
        "Readiness": {
            "type": "object",
            "required": ["status", "model", "failed_versions"],
            "properties": {
                "status": {"type": "string", "enum": ["ready", "not ready"]},
                "model": {"type": "string"},
                "version": {"type": "integer", "description": "The version being served (when ready)."},
                "newest_version": {"type": ["integer", "null"], "description": "The newest complete version found."},
                "detail": {"type": "string", "description": "Why not ready."},
                "failed_versions": {"type": "array", "items": {"$ref": "#/components/schemas/FailedVersion"},
                                    "description": "Versions newer than the served one that failed to load; retried with backoff."},
            },
        },
    }
    model_name = {"name": "model_name", "in": "path", "required": True,
                  "schema": {"type": "string", "enum": [name]}, "description": "The model this server serves."}
    request_id = {"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"},
                  "description": "Echoed back and logged with the prediction when it matches [A-Za-z0-9._:-]{1,128}; "
                                 "otherwise a new id is used."}
    answer_headers = {
        "X-Model-Version": {"description": "The version that answered.", "schema": {"type": "string"}},
        "X-Request-Id": {"description": "The request id (the client's or a new one).", "schema": {"type": "string"}},
    }
    predict_responses = {
        "200": _json("Predictions, in the format of the request.", "PredictResponse", answer_headers),
        "400": _error("Malformed JSON or a request the signature rejects; the message names the field."),
        "404": _error("Another model, or a version that is not served."),
        "413": _error("Body larger than --max-body-bytes, or more than --max-instances instances."),
        "503": _error("No model loaded yet."),
    }

    def predict_op(op_id: str, summary: str, extra_params: list) -> dict[str, Any]:
        return _post_op(op_id, summary, [model_name, *extra_params, request_id], "PredictRequest", predict_responses)

    explain_responses = {
        "200": _json("Attributions per instance.", "ExplainResponse", {"X-Model-Version": answer_headers["X-Model-Version"]}),
        "400": _error("Malformed JSON, a request the signature rejects, a missing feature or an unknown method."),
        "404": _error("Another model, a version that is not served, or one pushed without explanation background."),
        "408": _error("The explanation took longer than --explain-timeout-seconds."),
        "413": _error("Body larger than --max-body-bytes, or more than --explain-max-instances instances."),
        "429": _error("Every slot of the explain pool (--explain-workers) is taken."),
        "503": _error("No model loaded yet."),
    }
    method_param = {"name": "method", "in": "query", "required": False, "schema": {"type": "string", "enum": ["shap", "lime"]},
                    "description": "Attribution method (default shap)."}

    def explain_op(op_id: str, summary: str, extra_params: list) -> dict[str, Any]:
        return _post_op(op_id, summary, [model_name, *extra_params, method_param], "ExplainRequest", explain_responses)

    version_param = {"name": "version", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": "^[0-9]+$"},
                     "description": "Must be the version being served (404 otherwise)."}
    paths = {
        "/v1/models/{model_name}:predict": {
            "post": predict_op("predict", "Predict with the version being served", []),
        },
        "/v1/models/{model_name}/versions/{version}:predict": {
            "post": predict_op("predictVersion", "Predict with a given version (404 unless it is the one served)",
                               [version_param]),
        },
        "/v1/models/{model_name}:explain": {
            "post": explain_op("explain", "Explain single predictions of the version being served (SHAP or LIME)", []),
        },
        "/v1/models/{model_name}/versions/{version}:explain": {
            "post": explain_op("explainVersion", "Explain with a given version (404 unless it is the one served)",
                               [version_param]),
        },
        "/v1/models/{model_name}": {
            "get": {"operationId": "modelStatus", "summary": "TF Serving model status", "parameters": [model_name],
                    "responses": {"200": _json("The served version (and the versions that failed to load).", "ModelStatus"),
                                  "404": _error("Another model.")}},
        },
        "/v1/models/{model_name}/metadata": {
            "get": {"operationId": "modelMetadata", "summary": "Signature inputs, push manifest and source",
                    "parameters": [model_name],
                    "responses": {"200": _json("Metadata of the served version.", "Metadata"),
                                  "404": _error("Another model."), "503": _error("No model loaded yet.")}},
        },
        "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness",
                             "responses": {"200": {"description": "The process answers.",
                                                   "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/readyz": {"get": {"operationId": "readyz", "summary": "Readiness: which version serves, which failed and why",
                            "responses": {"200": _json("A model is loaded.", "Readiness"),
                                          "503": _json("No model loaded (yet); detail says why.", "Readiness")}}},
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics",
                             "responses": {"200": {"description": "Prometheus text format.",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                  "responses": {"200": {"description": "OpenAPI 3.1.",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
    served = f"version {served_version}" if served_version is not None else "no version yet"
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"mlops model server: {name}",
            "version": "1",
            "description": (f"TF-Serving-compatible REST API for the newest pushed version of {name!r} "
                            f"(now serving {served}). Client errors are 4xx with {{\"error\": message naming the field}}. "
                            "Not implemented (404): :classify, :regress."),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
