"""Version swaps, readiness, load failures and recovery with a fake model source (fast: no TensorFlow).

The real SavedModel path is covered in test_server_http.py and test_recovery.py; here the model
is a function whose timing the test controls, which makes "an in-flight request finishes on the
old version" deterministic, and the manager's clock can be a fake one, which makes the retry
backoff exact.
"""

import contextlib
import socket
import threading
import time

import httpx
import numpy as np
import pytest

from serving.app import create_app
from serving.model import LoadedModel, ModelLoadError, ModelManager
from serving.server import BackgroundServer
from serving.validation import InputSpec
from tests.serving.helpers import metric, metric_samples, wait_for, wait_ready


class FakeSource:
    """Versions appear when the test says so; version v predicts ``x * v``."""

    name = "fake"

    def __init__(self, versions=(), broken=()):
        self.versions: list[int] = list(versions)
        self.broken: set[int] = set(broken)
        self.fail_times: dict[int, int] = {}  # version -> how many more loads fail (a transient failure)
        self.attempts: dict[int, list[float]] = {}  # version -> when each load was tried
        self.gates: dict[int, threading.Event] = {}
        self.entered: dict[int, threading.Event] = {}
        self.load_seconds = 0.0

    def describe(self):
        return "fake://models/fake"

    def latest(self):
        return (max(self.versions), {"version": max(self.versions)}) if self.versions else None

    def complete_versions(self):
        return sorted(self.versions)

    def manifest(self, version):
        return {"version": version}

    def load(self, version, manifest):
        self.attempts.setdefault(version, []).append(time.monotonic())
        time.sleep(self.load_seconds)
        if version in self.broken:
            raise ModelLoadError(f"version {version} is broken", "not_a_saved_model")
        if self.fail_times.get(version, 0) > 0:
            self.fail_times[version] -= 1
            raise OSError(f"version {version}: storage timed out")
        gate, entered = self.gates.get(version), self.entered.setdefault(version, threading.Event())

        def predict_fn(columns):
            entered.set()
            if gate is not None:
                assert gate.wait(30), "test gate never opened"
            x = np.asarray(columns["x"], dtype=np.float32)
            return {"y": x * version, "label": np.array([f"v{version}".encode()] * len(x), dtype=object)}

        return LoadedModel("fake", version, f"fake/{version}", {"x": InputSpec("x", "float", "float32")}, predict_fn, dict(manifest))


@contextlib.contextmanager
def _serving(src: FakeSource, ready: int | None = None, poll_seconds: float = 0.05):
    """``src`` served over HTTP on 127.0.0.1; when ``ready`` is given, once that version serves."""
    with BackgroundServer(create_app(src, poll_seconds=poll_seconds)) as server:
        if ready is not None:
            wait_ready(server.url, ready)
        yield server


def _predict(url, x, **kw):
    return httpx.post(f"{url}/v1/models/fake:predict", json={"instances": [{"x": x}]}, timeout=30, **kw)


def test_not_ready_until_a_version_exists_then_ready():
    src = FakeSource()
    with _serving(src) as server:
        url = server.url
        assert httpx.get(f"{url}/healthz").status_code == 200
        r = httpx.get(f"{url}/readyz")
        assert r.status_code == 503 and "no complete version" in r.json()["detail"]
        r = _predict(url, 1.0)
        assert r.status_code == 503 and "not loaded yet" in r.json()["error"]
        assert httpx.get(f"{url}/v1/models/fake").json()["model_version_status"][0]["state"] == "LOADING"
        src.versions.append(1)
        assert wait_ready(url, 1)["version"] == 1
        r = _predict(url, 2.0)
        assert r.status_code == 200 and r.json() == {"predictions": [{"label": "v1", "y": 2.0}]}
        assert r.headers["X-Model-Version"] == "1"


def test_in_flight_request_finishes_on_the_old_version():
    src = FakeSource([1])
    src.gates[1] = threading.Event()
    src.gates[1].set()  # let the warm-up style first request through
    with _serving(src, ready=1) as server:
        url = server.url
        src.gates[1].clear()
        src.entered[1].clear()
        slow = {}
        t = threading.Thread(target=lambda: slow.setdefault("r", _predict(url, 3.0)))
        t.start()
        assert src.entered[1].wait(10), "the slow request never reached the model"
        src.versions.append(2)  # a new version appears while the request is inside version 1
        wait_ready(url, 2)
        fast = _predict(url, 3.0)
        assert fast.status_code == 200 and fast.headers["X-Model-Version"] == "2"
        assert fast.json()["predictions"][0] == {"label": "v2", "y": 6.0}
        src.gates[1].set()
        t.join(10)
        r = slow["r"]
        assert r.status_code == 200 and r.headers["X-Model-Version"] == "1"
        assert r.json()["predictions"][0] == {"label": "v1", "y": 3.0}


def _metrics(url):
    return metric_samples(httpx.get(f"{url}/metrics").text)


def test_a_failed_load_is_retried_and_served_once_it_loads():
    """A transient load failure heals by itself: the version is retried (not skipped until a newer
    one appears) while the old one keeps serving."""
    src = FakeSource([1])
    with _serving(src, ready=1) as server:
        url = server.url
        src.fail_times[2] = 2  # the first two loads of version 2 fail (storage timeout), the third works
        src.versions.append(2)
        samples = wait_for(lambda: (s := _metrics(url)) and metric(s, "mlops_serving_model_loads_total", result="failure") >= 1
                           and s, 10, what="a failed load")
        assert metric(samples, "mlops_serving_model_version", model="fake") == 1
        assert _predict(url, 1.0).headers["X-Model-Version"] == "1"  # the old one keeps serving meanwhile
        failed = httpx.get(f"{url}/readyz").json()["failed_versions"]
        assert [f["version"] for f in failed] in ([2], [])  # [] only if the retry already succeeded
        assert wait_ready(url, 2, timeout=10)["failed_versions"] == []
        assert len(src.attempts[2]) == 3
        samples = _metrics(url)
        assert metric(samples, "mlops_serving_model_loads_total", result="failure") == 2
        assert metric(samples, "mlops_serving_model_version_load_failures") == 0  # the series is gone
        assert _predict(url, 1.0).headers["X-Model-Version"] == "2"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_retries_back_off_exponentially_up_to_the_cap():
    src = FakeSource([1, 2], broken={2})
    clock = FakeClock()
    manager = ModelManager(src, poll_seconds=1.0, retry_max_seconds=8.0, clock=clock)
    tried_at = []
    for step in range(40):  # 20 s of polls every 0.5 s
        before = len(src.attempts.get(2, []))
        manager.poll_once()
        if len(src.attempts.get(2, [])) > before:
            tried_at.append(clock.now - 1000.0)
        clock.now += 0.5
    assert tried_at == [0.0, 1.0, 3.0, 7.0, 15.0], tried_at  # gaps 1, 2, 4, 8, then 8 (the cap)
    assert manager.current().version == 1 and src.attempts[1] and len(src.attempts[1]) == 1
    (failure,) = manager.failures()
    assert failure["version"] == 2 and failure["attempts"] == 5 and failure["reason"] == "not_a_saved_model"
    assert "broken" in failure["error"] and 0 < failure["retry_in_seconds"] <= 8.0


def test_restart_with_a_broken_newest_version_serves_the_newest_good_one():
    """A pod restart after a bad push: ready on the newest version that loads, within a few polls."""
    src = FakeSource([1, 2, 3, 4], broken={3, 4})
    poll = 0.1
    with _serving(src, poll_seconds=poll) as server:
        url = server.url
        start = time.monotonic()
        ready = wait_ready(url, 2, timeout=10)
        assert time.monotonic() - start < 3 * poll + 1.5, "not ready within a few poll intervals"
        assert ready["newest_version"] == 4
        assert [(f["version"], f["reason"]) for f in ready["failed_versions"]] == [(4, "not_a_saved_model"),
                                                                                 (3, "not_a_saved_model")]
        assert "version 3 is broken" in ready["failed_versions"][1]["error"]
        assert 1 not in src.attempts, "an older version was loaded although 2 loads"
        samples = _metrics(url)
        assert metric(samples, "mlops_serving_model_version", model="fake") == 2
        assert metric(samples, "mlops_serving_model_newest_version", model="fake") == 4
        assert metric(samples, "mlops_serving_model_version_load_failures", version="3", reason="not_a_saved_model") >= 1
        assert metric(samples, "mlops_serving_model_version_load_failures", version="4", reason="not_a_saved_model") >= 1
        status = httpx.get(f"{url}/v1/models/fake").json()["model_version_status"]
        assert [(x["version"], x["state"]) for x in status] == [("2", "AVAILABLE"), ("4", "END"), ("3", "END")]
        # the broken versions are retried, and serving moves up once one of them loads
        wait_for(lambda: len(src.attempts[4]) >= 3, 10, what="retries of version 4")
        src.broken.discard(4)
        assert wait_ready(url, 4, timeout=10)["failed_versions"] == []  # 3 is below the served version now
        assert metric(_metrics(url), "mlops_serving_model_version_load_failures") == 0


def test_not_ready_while_every_version_fails_and_the_reason_is_shown():
    src = FakeSource([1, 2], broken={1, 2})
    with _serving(src) as server:
        url = server.url
        body = wait_for(lambda: (r := httpx.get(f"{url}/readyz")).status_code == 503 and len(r.json()["failed_versions"]) == 2
                        and r.json(), 10, what="both failures")
        assert body["status"] == "not ready" and "version 2 is broken" in body["detail"]
        assert _predict(url, 1.0).status_code == 503
        src.broken.discard(1)  # e.g. the storage came back: the older version is served
        wait_ready(url, 1, timeout=10)


def test_a_deleted_served_version_falls_back_to_the_next_one_that_loads():
    src = FakeSource([1, 2, 3])
    with _serving(src, ready=3) as server:
        url = server.url
        src.broken.add(2)
        src.versions.remove(3)
        wait_ready(url, 1, timeout=10)
        ready = httpx.get(f"{url}/readyz").json()
        assert ready["newest_version"] == 2 and [f["version"] for f in ready["failed_versions"]] == [2]


def test_slow_load_does_not_block_requests():
    src = FakeSource([1])
    with _serving(src, ready=1) as server:
        url = server.url
        src.load_seconds = 1.5
        src.versions.append(2)
        time.sleep(0.2)  # the poller is now inside the slow load of version 2
        start = time.monotonic()
        codes = {_predict(url, 1.0).headers["X-Model-Version"] for _ in range(5)}
        assert time.monotonic() - start < 1.0, "requests waited for the load"
        assert codes == {"1"}
        wait_ready(url, 2)


@pytest.mark.parametrize("path, status", [("/v1/models/other:predict", 404), ("/v1/models/fake/versions/9:predict", 404)])
def test_unknown_model_or_version(path, status):
    with _serving(FakeSource([1]), ready=1) as server:
        r = httpx.post(server.url + path, json={"instances": [{"x": 1.0}]})
        assert r.status_code == status and "error" in r.json()
        ok = httpx.post(server.url + "/v1/models/fake/versions/1:predict", json={"instances": [{"x": 1.0}]})
        assert ok.status_code == 200


def test_a_client_that_disconnects_mid_body_is_not_a_server_error():
    src = FakeSource([1])
    with _serving(src, ready=1) as server:
        url = server.url
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"POST /v1/models/fake:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1000\r\n\r\n" + b'{"instances": [{"x": 1')
                time.sleep(0.2)  # the handler is now waiting for the rest of the body
        samples = wait_for(lambda: (s := _metrics(url)) and metric(s, "mlops_serving_errors_total", kind="client_disconnect") == 3
                           and s, 10, what="three counted disconnects")
        assert metric(samples, "mlops_serving_errors_total", kind="internal") == 0
        five_xx = sum(v for (n, labels), v in samples.items()
                      if n == "mlops_serving_requests_total" and dict(labels)["code"].startswith("5"))
        assert five_xx == 0
        assert metric(samples, "mlops_serving_requests_total", endpoint="predict", code="499") == 3
        assert _predict(url, 1.0).status_code == 200  # the server is fine


@pytest.mark.parametrize("method, path, status, words", [
    ("POST", "/v1/models/fake:classify", 404, [":classify", "not implemented"]),
    ("POST", "/v1/models/fake:regress", 404, [":regress", "not implemented"]),
    ("POST", "/v1/models/fake/versions/1:classify", 404, [":classify", "not implemented"]),
    ("GET", "/v1/models/fake:regress", 404, [":regress", "not implemented"]),
    ("POST", "/v1/models/other:classify", 404, ["'other'"]),
    ("PUT", "/v1/models/fake:predict", 405, ["POST"]),
    ("GET", "/v1/models/fake:predict", 405, ["POST"]),
    ("POST", "/v1/models/fake", 405, ["GET"]),
])
def test_unimplemented_apis_are_404_and_wrong_methods_405(method, path, status, words):
    with _serving(FakeSource([1]), ready=1) as server:
        r = httpx.request(method, server.url + path, json={"instances": [{"x": 1.0}]})
        assert r.status_code == status, r.text
        for word in words:
            assert word in r.json()["error"]
        if status == 405:
            assert r.headers["Allow"]
        kind = {404: "not_found", 405: "method_not_allowed"}[status]
        assert metric(_metrics(server.url), "mlops_serving_errors_total", kind=kind) == 1
