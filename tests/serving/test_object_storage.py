"""Serving from S3, logging to GCS (moto_server and gcp-storage-emulator on 127.0.0.1), online drift.

One server: the model is pushed to ``s3://`` with the real pusher, the prediction log goes to
``gs://``, and the online drift monitor compares the served traffic with a baseline. Traffic
from the 2009 season against a 2007 baseline must raise the flipper-length drift gauge above the
threshold; the log objects must be readable by ``mlops drift``'s reader.
"""


import httpx
import pytest

from components.drift import data as drift_data
from components.drift.logic import DriftSettings
from components.versioned_pusher import logic as push_logic
from serving.app import create_app
from serving.model import PushDestinationSource
from serving.monitor import DriftMonitor
from serving.prediction_log import PredictionLogger
from serving.server import BackgroundServer
from tests.object_stores import bucket
from tests.serving.helpers import instances_from_df, metric, metric_samples, wait_for, wait_ready


@pytest.fixture(scope="module")
def stores(object_stores):
    """The shared emulators (tests/conftest.py), with this module's buckets."""
    bucket("s3://serving-models")
    bucket("gs://serving-logs")
    return object_stores


def test_s3_model_gcs_log_and_online_drift(stores, pushed_model, penguins_df):
    dest = "s3://serving-models/prod"
    assert push_logic.push(pushed_model["saved_model"], dest, "penguins", {"note": "s3"}).version == 1
    log_dir = "gs://serving-logs/predictions"
    logger = PredictionLogger(log_dir, "penguins", batch_size=50, flush_seconds=0.3)
    features = {"bill_length_mm": "float", "bill_depth_mm": "float", "flipper_length_mm": "float",
                "body_mass_g": "float", "island": "categorical", "sex": "categorical"}
    monitor = DriftMonitor(penguins_df[penguins_df.year == 2007], features,
                           DriftSettings(threshold=0.2, window_size=100), label="species")
    app = create_app(PushDestinationSource(dest, "penguins"), poll_seconds=0.5, prediction_logger=logger,
                     drift_monitor=monitor)
    season_2009 = instances_from_df(penguins_df[penguins_df.year == 2009])
    with BackgroundServer(app) as server:
        url = server.url
        assert wait_ready(url, 1)["version"] == 1
        meta = httpx.get(f"{url}/v1/models/penguins/metadata").json()
        assert meta["manifest"]["note"] == "s3"
        for i in range(0, len(season_2009), 10):
            r = httpx.post(f"{url}/v1/models/penguins:predict", json={"instances": season_2009[i:i + 10]})
            assert r.status_code == 200, r.text

        def drift_exported():
            s = metric_samples(httpx.get(f"{url}/metrics").text)
            return s if metric(s, "mlops_serving_drift_window_rows") == 100 else None

        samples = wait_for(drift_exported, 20, what="a drift computation")
        flipper = metric(samples, "mlops_serving_drift_score", feature="flipper_length_mm")
        assert flipper > metric(samples, "mlops_serving_drift_threshold", model="penguins") == 0.2
        assert metric(samples, "mlops_serving_drift_score", feature="sex") < 0.2
    # the server stopped: the log was flushed to GCS, in the layout mlops drift reads
    table = drift_data.read_table(f"{log_dir}/penguins/")
    assert len(table) == len(season_2009)
    assert set(features) | {"predicted_class", "model_version", "timestamp"} <= set(table.columns)
    assert set(table["model_version"]) == {1}
