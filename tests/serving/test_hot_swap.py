"""A new version pushed during traffic is picked up with no failed request and no half-written model.

During steady traffic from 8 clients:
  1. a crashed push is simulated: ``penguins/2/`` with a truncated ``saved_model.pb`` and no
     manifest (invisible: the server must not touch it);
  2. a real push (``versioned_pusher.logic.push``) of a copy of the model creates version 3;
     the server loads it fully, then swaps;
  3. a complete but corrupt version 4 is pushed: its load fails, version 3 keeps serving.
Every request must succeed, each client must see version 1 then 3 and nothing else, in that
order, and every prediction must equal the model's own.
"""

import json
import shutil
import threading
import time

import httpx
import numpy as np

from components.versioned_pusher import logic as push_logic
from serving.app import create_app
from serving.model import PushDestinationSource
from serving.server import BackgroundServer
from tests.serving.helpers import copy_version, instances_from_df, metric, metric_samples, wait_for, wait_ready

PREDICT = "/v1/models/penguins:predict"


def _model_copy(saved_model, target, marker: str):
    """A byte-different copy of the SavedModel (an extra file TF ignores), so push() makes a new version."""
    shutil.copytree(saved_model, target)
    (target / "assets.extra").mkdir(exist_ok=True)
    (target / "assets.extra" / "marker.txt").write_text(marker)
    return target


def test_new_version_during_traffic(pushed_model, penguins_df, reference_predict, tmp_path):
    dest = tmp_path / "models"
    copy_version(pushed_model["destination"], dest)
    instances = instances_from_df(penguins_df, 40)
    expected = [reference_predict([inst]) for inst in instances]
    app = create_app(PushDestinationSource(str(dest), "penguins"), poll_seconds=0.1)
    stop = threading.Event()
    results: list[list[tuple]] = [[] for _ in range(8)]

    def client(idx):
        with httpx.Client(base_url=url, timeout=60) as c:
            i = idx
            while not stop.is_set():
                k = i % len(instances)
                r = c.post(PREDICT, json={"instances": [instances[k]]})
                body = r.json()
                results[idx].append((r.status_code, r.headers.get("X-Model-Version"), k,
                                     body.get("predictions", [None])[0] if r.status_code == 200 else body))
                i += 8

    with BackgroundServer(app) as server:
        url = server.url
        wait_ready(url, 1)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            # 1. a crashed push: a version folder without manifest and with a truncated graph
            half = dest / "penguins" / "2" / "saved_model"
            half.mkdir(parents=True)
            (half / "saved_model.pb").write_bytes((pushed_model["saved_model"] / "saved_model.pb").read_bytes()[:100])
            time.sleep(0.5)
            assert httpx.get(f"{url}/readyz").json()["version"] == 1
            # 2. a real push while traffic continues
            result = push_logic.push(_model_copy(pushed_model["saved_model"], tmp_path / "v3", "v3"), str(dest), "penguins",
                                     {"note": "hot swap test"})
            assert result.version == 3 and result.created
            wait_ready(url, 3, timeout=60)
            time.sleep(0.5)
            # 3. a complete version whose model is broken: not served, 3 stays
            broken = _model_copy(pushed_model["saved_model"], tmp_path / "v4", "v4")
            (broken / "saved_model.pb").write_bytes(b"not a protobuf")
            assert push_logic.push(broken, str(dest), "penguins", {}).version == 4
            wait_for(lambda: metric(metric_samples(httpx.get(f"{url}/metrics").text), "mlops_serving_model_loads_total",
                                    result="failure") >= 1, 30, what="the failed load of version 4")
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert httpx.get(f"{url}/readyz").json()["version"] == 3
        samples = metric_samples(httpx.get(f"{url}/metrics").text)

    flat = [r for per_client in results for r in per_client]
    assert len(flat) > 100, "too little traffic to mean anything"
    failures = [r for r in flat if r[0] != 200]
    assert not failures, failures[:5]
    for per_client in results:
        versions = [v for _, v, _, _ in per_client]
        assert set(versions) <= {"1", "3"}
        assert versions == sorted(versions, key=int), "a client went back to an older version"
    seen = {v for _, v, _, _ in flat}
    assert seen == {"1", "3"}, seen
    for _, _, k, pred in flat:
        assert pred["predicted_class"] == expected[k]["predicted_class"][0].decode()
        np.testing.assert_allclose(pred["probabilities"], expected[k]["probabilities"][0], rtol=1e-6, atol=1e-9)
    assert metric(samples, "mlops_serving_model_version") == 3
    assert metric(samples, "mlops_serving_model_loads_total", result="success") == 2
    assert metric(samples, "mlops_serving_errors_total") == 0
    assert json.loads((dest / "penguins" / "3" / "manifest.json").read_text())["note"] == "hot swap test"
