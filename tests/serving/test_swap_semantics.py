"""Version swaps, readiness and load failures with a fake model source (fast: no TensorFlow).

The real SavedModel path is covered in test_server_http.py; here the model is a function whose
timing the test controls, which makes "an in-flight request finishes on the old version"
deterministic.
"""

import threading
import time

import httpx
import numpy as np
import pytest

from serving.app import create_app
from serving.model import LoadedModel, ModelLoadError
from serving.server import BackgroundServer
from serving.validation import InputSpec
from tests.serving.helpers import metric, metric_samples, wait_for, wait_ready


class FakeSource:
    """Versions appear when the test says so; version v predicts ``x * v``."""

    name = "fake"

    def __init__(self):
        self.versions: list[int] = []
        self.broken: set[int] = set()
        self.gates: dict[int, threading.Event] = {}
        self.entered: dict[int, threading.Event] = {}
        self.load_seconds = 0.0

    def describe(self):
        return "fake://models/fake"

    def latest(self):
        return (max(self.versions), {"version": max(self.versions)}) if self.versions else None

    def load(self, version, manifest):
        time.sleep(self.load_seconds)
        if version in self.broken:
            raise ModelLoadError(f"version {version} is broken")
        gate, entered = self.gates.get(version), self.entered.setdefault(version, threading.Event())

        def predict_fn(columns):
            entered.set()
            if gate is not None:
                assert gate.wait(30), "test gate never opened"
            x = np.asarray(columns["x"], dtype=np.float32)
            return {"y": x * version, "label": np.array([f"v{version}".encode()] * len(x), dtype=object)}

        return LoadedModel("fake", version, f"fake/{version}", {"x": InputSpec("x", "float", "float32")}, predict_fn, dict(manifest))


def _predict(url, x, **kw):
    return httpx.post(f"{url}/v1/models/fake:predict", json={"instances": [{"x": x}]}, timeout=30, **kw)


def test_not_ready_until_a_version_exists_then_ready():
    src = FakeSource()
    with BackgroundServer(create_app(src, poll_seconds=0.05)) as server:
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
    src = FakeSource()
    src.versions.append(1)
    src.gates[1] = threading.Event()
    src.gates[1].set()  # let the warm-up style first request through
    with BackgroundServer(create_app(src, poll_seconds=0.05)) as server:
        url = server.url
        wait_ready(url, 1)
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


def test_a_version_that_fails_to_load_is_skipped_and_the_old_one_keeps_serving():
    src = FakeSource()
    src.versions.append(1)
    with BackgroundServer(create_app(src, poll_seconds=0.05)) as server:
        url = server.url
        wait_ready(url, 1)
        src.broken.add(2)
        src.versions.append(2)
        samples = wait_for(
            lambda: (s := metric_samples(httpx.get(f"{url}/metrics").text))
            and metric(s, "mlops_serving_model_loads_total", result="failure") >= 1 and s,
            10, what="a failed load",
        )
        assert metric(samples, "mlops_serving_model_version", model="fake") == 1
        assert httpx.get(f"{url}/readyz").json()["version"] == 1
        assert _predict(url, 1.0).headers["X-Model-Version"] == "1"
        src.versions.append(3)  # the next good version is picked up
        wait_ready(url, 3)


def test_slow_load_does_not_block_requests():
    src = FakeSource()
    src.versions.append(1)
    with BackgroundServer(create_app(src, poll_seconds=0.05)) as server:
        url = server.url
        wait_ready(url, 1)
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
    src = FakeSource()
    src.versions.append(1)
    with BackgroundServer(create_app(src, poll_seconds=0.05)) as server:
        wait_ready(server.url, 1)
        r = httpx.post(server.url + path, json={"instances": [{"x": 1.0}]})
        assert r.status_code == status and "error" in r.json()
        ok = httpx.post(server.url + "/v1/models/fake/versions/1:predict", json={"instances": [{"x": 1.0}]})
        assert ok.status_code == 200
