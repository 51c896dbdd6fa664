"""The acceptance case with the real model: a pod restarts after a bad push.

The push destination holds good versions 1 and 2, a complete version 3 whose SavedModel is
corrupt, and a version 4 whose manifest is not JSON. The server must be ready on version 2 within
a few poll intervals (it used to stay not-ready forever: only the newest version was ever tried,
and never again after one failure), say in /readyz and /metrics which version serves and which
failed and why, and keep retrying the broken ones without disturbing the traffic.
"""

import shutil
import time

import httpx

from serving.app import create_app
from serving.model import PushDestinationSource
from serving.server import BackgroundServer
from tests.serving.helpers import copy_version, instances_from_df, metric, metric_samples, wait_for, wait_ready

POLL = 0.25


def test_restart_with_corrupt_newest_versions_serves_the_newest_good_one(pushed_model, penguins_df, tmp_path):
    dest = tmp_path / "models"
    copy_version(pushed_model["destination"], dest)
    root = dest / "penguins"
    shutil.copytree(root / "1", root / "2")
    shutil.copytree(root / "1", root / "3")
    (root / "3" / "saved_model" / "saved_model.pb").write_bytes(b"not a protobuf")
    shutil.copytree(root / "1", root / "4")
    (root / "4" / "manifest.json").write_text("{truncated")
    instances = instances_from_df(penguins_df, 3)

    with BackgroundServer(create_app(PushDestinationSource(str(dest), "penguins"), poll_seconds=POLL)) as server:
        url = server.url
        start = time.monotonic()
        ready = wait_ready(url, 2, timeout=60)
        elapsed = time.monotonic() - start
        # one poll loads 2 (after trying 4 and 3); allow the SavedModel load itself on top of a few polls
        assert elapsed < 4 * POLL + 15, f"ready after {elapsed:.1f}s"
        assert ready["newest_version"] == 4
        failed = {f["version"]: f for f in ready["failed_versions"]}
        assert set(failed) == {3, 4}
        assert failed[3]["reason"] == "not_a_saved_model" and "3/saved_model" in failed[3]["error"]
        assert failed[4]["reason"] == "bad_manifest" and "manifest.json" in failed[4]["error"]
        r = httpx.post(f"{url}/v1/models/penguins:predict", json={"instances": instances}, timeout=30)
        assert r.status_code == 200 and r.headers["X-Model-Version"] == "2" and len(r.json()["predictions"]) == 3

        samples = metric_samples(httpx.get(f"{url}/metrics").text)
        assert metric(samples, "mlops_serving_model_version", model="penguins") == 2
        assert metric(samples, "mlops_serving_model_ready", model="penguins") == 1
        assert metric(samples, "mlops_serving_model_newest_version", model="penguins") == 4
        assert metric(samples, "mlops_serving_model_version_load_failures", version="3", reason="not_a_saved_model") >= 1
        assert metric(samples, "mlops_serving_model_version_load_failures", version="4", reason="bad_manifest") >= 1

        # the broken versions are retried (backoff), the good one keeps answering meanwhile
        def retried():
            s = metric_samples(httpx.get(f"{url}/metrics").text)
            return metric(s, "mlops_serving_model_version_load_failures", version="3") >= 2 and s
        samples = wait_for(retried, 30, what="a retry of version 3")
        assert metric(samples, "mlops_serving_model_loads_total", result="success") == 1
        assert metric(samples, "mlops_serving_errors_total") == 0
        # the manifest of 4 gets fixed (a re-upload): the next retry serves it
        shutil.copy(root / "1" / "manifest.json", root / "4" / "manifest.json")
        ready = wait_ready(url, 4, timeout=60)
        assert ready["failed_versions"] == []  # 3 is below the served version: no longer reported
        assert httpx.post(f"{url}/v1/models/penguins:predict", json={"instances": instances},
                          timeout=30).headers["X-Model-Version"] == "4"
