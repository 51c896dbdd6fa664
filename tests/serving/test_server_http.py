"""The real model behind real HTTP (uvicorn in a thread on 127.0.0.1, a free port).

Predictions match the model's own in-process predictions; every kind of bad request gets the
right 4xx naming the field; a bounded load test finishes without errors; /metrics and the
prediction log record what happened.
"""

import concurrent.futures
import json
import socket
import time

import httpx
import numpy as np
import pytest

from serving.app import create_app
from serving.model import PushDestinationSource
from serving.prediction_log import PredictionLogger
from serving.server import BackgroundServer
from tests.serving.helpers import instances_from_df, metric, metric_samples, wait_for, wait_ready

MAX_BODY = 256 * 1024
MAX_INSTANCES = 500


@pytest.fixture(scope="module")
def server(pushed_model, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("prediction-logs")
    logger = PredictionLogger(str(log_dir), "penguins", batch_size=200, flush_seconds=0.2)
    app = create_app(
        PushDestinationSource(str(pushed_model["destination"]), "penguins"),
        poll_seconds=0.5, max_body_bytes=MAX_BODY, max_instances=MAX_INSTANCES, prediction_logger=logger,
    )
    with BackgroundServer(app) as srv:
        wait_ready(srv.url, 1)
        yield {"url": srv.url, "app": app, "log_dir": log_dir, "logger": logger}


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server["url"], timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def instances(penguins_df):
    return instances_from_df(penguins_df)


PREDICT = "/v1/models/penguins:predict"


def _assert_same(predictions: list[dict], reference: dict[str, np.ndarray]) -> None:
    assert [p["predicted_class"] for p in predictions] == [c.decode() for c in reference["predicted_class"]]
    assert [p["classes"] for p in predictions] == [[c.decode() for c in row] for row in reference["classes"]]
    np.testing.assert_allclose([p["probabilities"] for p in predictions], reference["probabilities"], rtol=1e-6, atol=1e-9)


def test_predictions_equal_in_process_predictions(client, instances, reference_predict):
    r = client.post(PREDICT, json={"instances": instances})
    assert r.status_code == 200, r.text
    assert r.headers["X-Model-Version"] == "1"
    preds = r.json()["predictions"]
    assert len(preds) == len(instances) > 300
    _assert_same(preds, reference_predict(instances))
    # one instance per request, as most clients send them
    for inst in instances[:: len(instances) // 7]:
        one = client.post(PREDICT, json={"instances": [inst]}).json()["predictions"]
        _assert_same(one, reference_predict([inst]))
    # TF Serving's columnar format
    cols = {k: [inst[k] for inst in instances[:20]] for k in instances[0]}
    out = client.post(PREDICT, json={"inputs": cols}).json()["outputs"]
    ref = reference_predict(instances[:20])
    assert out["predicted_class"] == [c.decode() for c in ref["predicted_class"]]
    np.testing.assert_allclose(out["probabilities"], ref["probabilities"], rtol=1e-6, atol=1e-9)
    # integers are fine for float features; an unseen category goes to the OOV bucket
    odd = {**instances[0], "body_mass_g": 3750, "island": "Atlantis"}
    assert client.post(PREDICT, json={"instances": [odd]}).status_code == 200


def test_model_status_and_metadata(client):
    status = client.get("/v1/models/penguins").json()
    assert status == {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                                "status": {"error_code": "OK", "error_message": ""}}]}
    meta = client.get("/v1/models/penguins/metadata").json()
    inputs = meta["metadata"]["signature_def"]["serving_default"]["inputs"]
    assert inputs["island"]["dtype"] == "string" and inputs["body_mass_g"]["dtype"] == "float32"
    assert meta["manifest"]["version"] == 1
    assert client.get("/readyz").json() == {"status": "ready", "model": "penguins", "version": 1, "newest_version": 1,
                                            "failed_versions": []}
    assert client.get("/healthz").status_code == 200


def _bad_requests(inst):
    no_sex = {k: v for k, v in inst.items() if k != "sex"}
    big = json.dumps({"instances": [inst] * 2000}).encode()
    assert len(big) > MAX_BODY
    return [
        # (id, request kwargs, status, error kind, words in the message)
        ("missing feature", dict(json={"instances": [inst, no_sex]}), 400, "missing_feature", ["instances[1]", "'sex'"]),
        ("unknown feature", dict(json={"instances": [{**inst, "species": "Adelie"}]}), 400, "unknown_feature", ["'species'"]),
        ("string for float", dict(json={"instances": [{**inst, "body_mass_g": "heavy"}]}), 400, "wrong_type",
         ["'body_mass_g'", '"heavy"']),
        ("number for string", dict(json={"instances": [{**inst, "island": 7}]}), 400, "wrong_type", ["'island'"]),
        ("null value", dict(json={"instances": [{**inst, "bill_depth_mm": None}]}), 400, "wrong_type", ["'bill_depth_mm'"]),
        ("empty instances", dict(json={"instances": []}), 400, "empty_instances", ["empty"]),
        ("malformed JSON", dict(content=b'{"instances": [', headers={"content-type": "application/json"}), 400,
         "malformed_json", ["malformed JSON"]),
        ("NaN", dict(content=b'{"instances": [{"bill_length_mm": NaN}]}'), 400, "malformed_json", ["NaN"]),
        ("not an object", dict(json=[inst]), 400, "bad_request", ["JSON object"]),
        ("oversized body", dict(content=big), 413, "body_too_large", [str(MAX_BODY)]),
        ("oversized chunked body", dict(content=iter([big[i:i + 65536] for i in range(0, len(big), 65536)])), 413,
         "body_too_large", [str(MAX_BODY)]),
        ("too many instances", dict(json={"instances": [inst] * (MAX_INSTANCES + 1)}), 413, "too_many_instances",
         [str(MAX_INSTANCES)]),
    ]


def test_every_bad_request_gets_the_right_4xx(client, instances):
    before = metric_samples(client.get("/metrics").text)
    seen = {}
    for name, kwargs, status, kind, words in _bad_requests(instances[0]):
        r = client.post(PREDICT, **kwargs)
        assert r.status_code == status, (name, r.status_code, r.text)
        message = r.json()["error"]
        for word in words:
            assert word in message, (name, message)
        seen[kind] = seen.get(kind, 0) + 1
    # wrong model, wrong version, wrong method
    assert client.post("/v1/models/pinguins:predict", json={"instances": [instances[0]]}).status_code == 404
    assert client.post("/v1/models/penguins/versions/7:predict", json={"instances": [instances[0]]}).status_code == 404
    assert client.get(PREDICT).status_code == 405
    after = metric_samples(client.get("/metrics").text)
    for kind, count in seen.items():
        delta = metric(after, "mlops_serving_errors_total", kind=kind) - metric(before, "mlops_serving_errors_total", kind=kind)
        assert delta == count, kind
    assert metric(after, "mlops_serving_requests_total", code="500") == 0
    assert client.get("/readyz").status_code == 200  # still healthy


def _exchange(sock, method: str, path: str, body: bytes) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request on an open socket; returns (status, headers, body). b"" status 0: closed."""
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


def test_huge_integer_and_lone_surrogate_get_400_and_keep_the_connection(server, instances):
    """Both were 500s that dropped the keep-alive connection (OverflowError, UnicodeEncodeError)."""
    port = int(server["url"].rsplit(":", 1)[1])
    good = json.dumps({"instances": [instances[0]]}).encode()
    bad = [
        (json.dumps({"instances": [{**instances[0], "body_mass_g": 10**400}]}).encode(), ["'body_mass_g'", "out of range"]),
        (json.dumps({"inputs": {**{k: [v] for k, v in instances[0].items()}, "flipper_length_mm": [-(10**400)]}}).encode(),
         ["'flipper_length_mm'", "out of range"]),
        (json.dumps({"instances": [{**instances[0], "island": "Torg\ud800ersen"}]}).encode(), ["'island'", "surrogate"]),
        (json.dumps({"instances": [{**instances[0], "sex": "\udfff"}]}).encode(), ["'sex'", "surrogate"]),
    ]
    assert b"\\ud800" in bad[2][0]  # sent as the JSON escape, as a client would
    before = metric_samples(httpx.get(server["url"] + "/metrics").text)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for body, words in bad:
            status, headers, payload = _exchange(sock, "POST", PREDICT, body)
            assert status == 400, (status, payload)
            message = json.loads(payload)["error"]
            for word in words:
                assert word in message, message
            assert headers.get("connection") != "close"
            status, _, payload = _exchange(sock, "POST", PREDICT, good)  # the same connection still answers
            assert status == 200, (status, payload)
    after = metric_samples(httpx.get(server["url"] + "/metrics").text)
    assert metric(after, "mlops_serving_errors_total", kind="wrong_type") - metric(
        before, "mlops_serving_errors_total", kind="wrong_type") == 4
    assert metric(after, "mlops_serving_errors_total", kind="internal") == 0


def test_load_2000_requests_16_concurrent_without_errors(server, instances):
    n, workers = 2000, 16
    payloads = [json.dumps({"instances": [instances[i % len(instances)]]}).encode() for i in range(n)]
    before = metric_samples(httpx.get(server["url"] + "/metrics").text)

    def worker(idx):
        out = []
        with httpx.Client(base_url=server["url"], timeout=60) as c:
            for i in range(idx, n, workers):
                r = c.post(PREDICT, content=payloads[i], headers={"content-type": "application/json"})
                out.append((r.status_code, r.json()["predictions"][0]["predicted_class"] if r.status_code == 200 else r.text))
        return out

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = [x for chunk in pool.map(worker, range(workers)) for x in chunk]
    elapsed = time.monotonic() - start
    codes = [c for c, _ in results]
    assert len(codes) == n and set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
    after = metric_samples(httpx.get(server["url"] + "/metrics").text)
    ok = metric(after, "mlops_serving_requests_total", endpoint="predict", code="200") - metric(
        before, "mlops_serving_requests_total", endpoint="predict", code="200")
    assert ok == n
    assert metric(after, "mlops_serving_request_latency_seconds_count", endpoint="predict") >= n
    print(f"\n{n} requests, {workers} concurrent: {elapsed:.1f}s, {n / elapsed:.0f} req/s")


def test_metrics_show_counters_and_version(client, instances):
    client.post(PREDICT, json={"instances": instances[:3]})
    text = client.get("/metrics").text
    s = metric_samples(text)
    assert metric(s, "mlops_serving_model_version", model="penguins") == 1
    assert metric(s, "mlops_serving_model_ready", model="penguins") == 1
    assert metric(s, "mlops_serving_model_loads_total", result="success") == 1
    assert metric(s, "mlops_serving_requests_total", endpoint="predict", code="200") >= 1
    assert metric(s, "mlops_serving_instances_total") >= 3
    assert sum(v for (n, labels), v in s.items() if n == "mlops_serving_predictions_total") >= 3
    assert 'mlops_serving_request_latency_seconds_bucket{endpoint="predict",le="0.05",model="penguins"}' in text


def test_prediction_log_records_inputs_outputs_version(server, client, instances):
    r = client.post(PREDICT, json={"instances": instances[:2]}, headers={"X-Request-Id": "label-join-42"})
    assert r.headers["X-Request-Id"] == "label-join-42"

    def records():
        recs = []
        for path in sorted(server["log_dir"].rglob("*.jsonl")):
            recs += [json.loads(line) for line in path.read_text().splitlines()]
        found = [x for x in recs if x["request_id"] == "label-join-42"]
        return found if len(found) == 2 else None

    found = wait_for(records, 10, what="the logged records")
    rec = found[0]
    assert rec["model"] == "penguins" and rec["version"] == 1 and rec["timestamp"].endswith("+00:00")
    assert rec["inputs"] == instances[0]
    assert rec["outputs"] == r.json()["predictions"][0]
    paths = list(server["log_dir"].rglob("*.jsonl"))
    assert all(p.parent.name.startswith("date=") and p.parent.parent.name == "penguins" for p in paths)
    assert metric(metric_samples(client.get("/metrics").text), "mlops_serving_prediction_log_records_total",
                  result="written") >= 2
