"""The published OpenAPI document (GET /openapi.json) and a fuzz run over it with the real model.

The document is checked with openapi-spec-validator (in the image's lock file) and against the
served signature. The fuzz run needs nothing outside the lock file: requests are generated from
the document's own schemas, valid ones (which must get 200 and a body matching the documented
response schema) and mutated ones (nasty values at random places in the body, dropped and added
keys, broken JSON bytes, other model names, versions and API verbs, other methods, odd headers),
with a fixed seed so that a failure replays. Every answer must have a documented status (or
404/405 off the documented paths), no answer may be a 5xx, and 4xx bodies are ``{"error": ...}``.
The same document is also fuzzed by schemathesis in test_openapi_schemathesis.py.
"""

import json
import random
import socket
import urllib.parse

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from tests.serving.helpers import MAX_INSTANCES, instances_from_df, metric, metric_samples

SEED = 20260131
N_VALID = 300
N_MUTATED = 2500
NASTY = [
    None, True, False, [], {}, "", " ", "x" * 5000, 0, -1, 1.5, 10**400, -(10**400), 2**63, -(2**63) - 1, 2**64,
    1e308, -1e308, 3.5e38, -3.5e38, 1e-320, "\ud800", "\udfff", "a\udc80b", "\x00", "😀", "Torgersen\n",
    "NaN", "Infinity", "1e400", [1, 2], [[[[[[]]]]]], {"b64": "AAAA"}, {"a": {"b": {"c": None}}},
]
RAW_BODIES = [
    b"", b" ", b"{", b"}", b"[", b"null", b"true", b"1", b'"instances"', b"\xff\xfe\xfd", b"\xed\xa0\x80",
    b'{"instances": [{"bill_length_mm": NaN}]}', b'{"instances": [{"bill_length_mm": Infinity}]}',
    b'{"instances": [{"bill_length_mm": -Infinity}]}', b"[" * 100_000 + b"]" * 100_000,
    b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"instances": [1e999]}', b'{"instances": [{"a": 1e999}]}',
    b'{"instances": [], "instances": [1]}', b'{"inputs": {}}', b'{"instances": [{}]}',
    b'{"instances": [{"island": "\\ud800"}]}', b"1" * 5000, b"-" + b"9" * 4400,
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
API_SUFFIXES = [":classify", ":regress", ":explain", ":predict", ":", "::predict", ":PREDICT", ":predict/"]


@pytest.fixture(scope="module")
def document(limited_server):
    r = httpx.get(limited_server + "/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json()


def test_the_document_is_valid_openapi_and_matches_the_served_signature(limited_server, document):
    validate_openapi(document)  # raises on an invalid OpenAPI 3.1 document
    assert document["openapi"] == "3.1.0"
    inputs = httpx.get(limited_server + "/v1/models/penguins/metadata").json()["metadata"]["signature_def"]["serving_default"]["inputs"]
    instance = document["components"]["schemas"]["Instance"]
    assert set(instance["properties"]) == set(instance["required"]) == set(inputs)
    assert instance["additionalProperties"] is False
    for feature, spec in inputs.items():
        expected = "string" if spec["dtype"] == "string" else "number"
        assert instance["properties"][feature]["type"] == expected, feature
    assert instance["properties"]["body_mass_g"]["maximum"] == pytest.approx(3.4028234663852886e38)
    rows = document["components"]["schemas"]["RowRequest"]["properties"]["instances"]
    assert rows["maxItems"] == MAX_INSTANCES
    ops = {(path, method) for path, item in document["paths"].items() for method in item}
    assert ("/v1/models/{model_name}:predict", "post") in ops and ("/readyz", "get") in ops
    assert ("/v1/models/{model_name}:explain", "post") in ops
    assert len(ops) == 10


class Generator:
    """Instances of the document's JSON Schemas (the subset it uses), valid by construction."""

    def __init__(self, document, rng: random.Random):
        self.doc = document
        self.rng = rng

    def resolve(self, schema):
        while "$ref" in schema:
            node = self.doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def value(self, schema, depth=0):
        rng = self.rng
        schema = self.resolve(schema)
        if "enum" in schema:
            return rng.choice(schema["enum"])
        if "oneOf" in schema:
            return self.value(rng.choice(schema["oneOf"]), depth + 1)
        kind = schema.get("type", "object")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if kind == "string":
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.éß中😀\x00\n"
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        if kind == "integer":
            lo, hi = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
            return rng.choice([lo, hi, 0, rng.randint(lo, hi)])
        if kind == "number":
            lo, hi = schema.get("minimum", -1e9), schema.get("maximum", 1e9)
            return rng.choice([lo, hi, 0.0, 0, rng.uniform(-1e4, 1e4), rng.uniform(lo, hi), 5e-324])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        if kind == "array":
            lo, hi = schema.get("minItems", 0), min(schema.get("maxItems", 5), 8)
            return [self.value(schema["items"], depth + 1) for _ in range(rng.randint(lo, hi))]
        props = schema.get("properties", {})
        out = {}
        for key, sub in props.items():
            if key in schema.get("required", []) or rng.random() < 0.5:
                out[key] = self.value(sub, depth + 1)
        if "inputs" in out and isinstance(out["inputs"], dict) and out["inputs"]:
            n = min(len(v) for v in out["inputs"].values())  # JSON Schema cannot say "equal lengths"
            out["inputs"] = {k: v[:n] for k, v in out["inputs"].items()}
        return out


def _mutate(rng: random.Random, body):
    """A copy of body with one nasty change at a random place."""
    body = json.loads(json.dumps(body))
    nodes = [(None, None, body)]
    stack = [body]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in items:
            nodes.append((node, key, child))
            stack.append(child)
    parent, key, node = rng.choice(nodes)
    action = rng.choice(["replace", "replace", "replace", "drop", "add"])
    nasty = rng.choice(NASTY)
    if parent is None:
        return nasty if action == "replace" else {**body, "extra": nasty} if isinstance(body, dict) else nasty
    if action == "replace":
        parent[key] = nasty
    elif action == "drop":
        del parent[key]
    elif isinstance(node, dict):
        node[rng.choice(["extra", "species", "", "\ud800", "instances", "inputs", "signature_name"])] = nasty
    elif isinstance(node, list):
        node.append(nasty)
    else:
        parent[key] = [node, nasty]
    return body


def _path_for(rng: random.Random, template: str, valid: bool) -> str:
    def param(name):
        if valid:
            return {"model_name": "penguins", "version": "1"}[name]
        choice = rng.choice(["other", "", "penguins2", "PENGUINS", "penguins%2F1", "peng uins", "ü", "..", "%00",
                             "\ud800", "9" * 50, "-1", "0", "1.0", "penguins:predict", "a/b"])
        return urllib.parse.quote(choice, safe="/", errors="surrogatepass")
    path = template.replace("{model_name}", param("model_name")).replace("{version}", param("version"))
    if not valid and ":predict" in path and rng.random() < 0.3:
        path = path.replace(":predict", rng.choice(API_SUFFIXES))
    return path


def _check(r: httpx.Response, method: str, documented: dict | None, where: str) -> None:
    assert r.status_code < 500, (where, r.status_code, r.text[:500])
    if documented is not None:
        assert str(r.status_code) in documented, (where, r.status_code, sorted(documented), r.text[:300])
    else:
        # off the documented paths: 404/405, or Starlette's redirect of a trailing slash
        assert r.status_code in (404, 405, 307) or r.status_code < 300, (where, r.status_code, r.text[:300])
    if r.status_code >= 400 and method != "HEAD":  # every error is {"error": message}
        assert r.headers["content-type"].startswith("application/json"), where
        error = r.json()["error"]
        assert isinstance(error, str) and error, where


def test_fuzz_over_the_published_document_has_zero_5xx(limited_server, document, penguins_df):
    rng = random.Random(SEED)
    gen = Generator(document, rng)
    operations = [(path, method.upper(), op) for path, item in document["paths"].items() for method, op in item.items()]
    predict_ops = [o for o in operations if "requestBody" in o[2]]
    real = instances_from_df(penguins_df)
    counts = {}
    response_schemas = document["components"]
    before = metric_samples(httpx.get(limited_server + "/metrics").text)  # (the startup's 503s from /readyz are not ours)
    with httpx.Client(base_url=limited_server, timeout=60) as client:
        # 1. valid requests, generated from the document: documented 2xx, bodies as documented
        for i in range(N_VALID):
            path, method, op = operations[i % len(operations)]
            kwargs = {}
            if "requestBody" in op:
                body = gen.value(op["requestBody"]["content"]["application/json"]["schema"])
                if rng.random() < 0.3:  # real penguins among the generated ones
                    body = {"instances": rng.sample(real, rng.randint(1, 5))}
                kwargs["content"] = json.dumps(body).encode()
                kwargs["headers"] = {"content-type": "application/json"}
            r = client.request(method, _path_for(rng, path, True), **kwargs)
            _check(r, method, op["responses"], f"valid {method} {path}")
            assert r.status_code == 200, (method, path, r.text[:500], kwargs.get("content", b"")[:300])
            content = op["responses"]["200"]["content"]
            if "application/json" in content:
                schema = {**content["application/json"]["schema"], "components": response_schemas}
                jsonschema.validate(r.json(), schema)
            counts["valid"] = counts.get("valid", 0) + 1
        # 2. mutated requests
        for i in range(N_MUTATED):
            path, method, op = rng.choice(operations)
            kind = rng.choice(["body", "body", "body", "raw", "path", "method", "headers"])
            if kind in ("body", "raw", "headers") and "requestBody" not in op:
                path, method, op = rng.choice(predict_ops)
            url = _path_for(rng, path, kind != "path")
            headers = {"content-type": "application/json"}
            content = None
            if "requestBody" in op:
                body = gen.value(op["requestBody"]["content"]["application/json"]["schema"])
                content = json.dumps(_mutate(rng, body) if kind == "body" else body).encode()
            if kind == "raw":
                content = rng.choice(RAW_BODIES)
            if kind == "headers":
                headers = rng.choice([{"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"},
                                      {}, {"x-request-id": "é".encode("latin-1") * 10}, {"x-request-id": "a" * 500},
                                      {"x-request-id": "ok-1", "accept": "text/html"}, {"accept-encoding": "gzip"}])
            documented = op["responses"] if kind in ("body", "raw", "headers") else None
            if kind == "method":
                method = rng.choice([m for m in METHODS if m.lower() not in document["paths"][path]])
            r = client.request(method, url, content=content, headers=headers)
            _check(r, method, documented, f"{kind} {method} {url} {(content or b'')[:200]!r} {headers}")
            counts[r.status_code] = counts.get(r.status_code, 0) + 1
    # 3. framing httpx will not send: bad Content-Length / Transfer-Encoding, on raw sockets
    port = int(limited_server.rsplit(":", 1)[1])
    head = "POST /v1/models/penguins:predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    for extra, body in [("Content-Length: -1\r\n", b"{}"), ("Content-Length: abc\r\n", b"{}"),
                        ("Content-Length: 99999999999\r\n", b"{}"), ("Content-Length: 2\r\nContent-Length: 3\r\n", b"{}"),
                        ("Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"),
                        ("Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
                        ("Transfer-Encoding: gzip\r\n", b"{}"), ("Content-Length: 2\r\n", b"{}")]:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall((head + extra + "\r\n").encode() + body)
            status = int(sock.recv(65536).split(b" ", 2)[1])
            assert status < 500, (extra, status)
            counts[status] = counts.get(status, 0) + 1
    samples = metric_samples(httpx.get(limited_server + "/metrics").text)
    server_errors = {labels: v - before.get((n, labels), 0) for (n, labels), v in samples.items()
                     if n == "mlops_serving_requests_total" and dict(labels)["code"].startswith("5")}
    assert not any(server_errors.values()), server_errors
    for kind in ("internal", "prediction_failed", "not_ready"):
        assert metric(samples, "mlops_serving_errors_total", kind=kind) == metric(before, "mlops_serving_errors_total", kind=kind)
    print(f"\nfuzz: {counts}")
    assert counts.get(400, 0) > 500 and counts.get(404, 0) > 50 and counts.get(405, 0) > 50 and counts.get(200, 0) > 50
