"""S3 and GCS ingest and push over real HTTP: moto_server and gcp-storage-emulator on 127.0.0.1."""

import json

import pandas as pd
import pytest

from components.common import storage
from components.ingest import logic as ingest_logic
from components.versioned_pusher import logic as push_logic
from pipelines.config import load_config
from pipelines.local.run import run_local
from tests.configs import fast_config
from tests.object_stores import bucket

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def buckets(object_stores):
    """The shared emulators (tests/conftest.py), with this module's buckets."""
    bucket("s3://mlops-data")
    bucket("gs://mlops-models")


def test_storage_round_trip_and_versions(object_stores, penguins_csv):
    for base in ("s3://mlops-data/t", "gs://mlops-models/t"):
        uri = f"{base}/penguins.csv"
        storage.write_bytes(uri, penguins_csv.read_bytes())
        assert storage.read_bytes(uri) == penguins_csv.read_bytes()
        info = storage.stat(uri)
        assert info.size == penguins_csv.stat().st_size and info.version
        assert uri in storage.list_uris(base)
        assert storage.create_exclusive(f"{base}/claim", b"1") is True
        assert storage.create_exclusive(f"{base}/claim", b"2") is False
        with pytest.raises(storage.StorageError, match="missing.csv"):
            storage.read_bytes(f"{base}/missing.csv")


def test_push_to_object_stores_is_versioned_and_manifest_last(object_stores, tmp_path):
    model = tmp_path / "m"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"graph")
    for dest in ("s3://mlops-data/models", "gs://mlops-models/models"):
        r1 = push_logic.push(model, dest, "toy", {"metrics": {"acc": 1.0}})
        assert r1.version == 1 and r1.created
        (model / "saved_model.pb").write_bytes(b"graph-2")
        r2 = push_logic.push(model, dest, "toy", {})
        (model / "saved_model.pb").write_bytes(b"graph")
        assert r2.version == 2
        assert push_logic.complete_versions(dest, "toy") == [1, 2]
        assert push_logic.read_manifest(dest, "toy", 1)["metrics"] == {"acc": 1.0}
        # a crashed push (claimed, files written, no manifest) stays invisible
        storage.write_bytes(f"{dest}/toy/3/saved_model/saved_model.pb", b"half")
        assert push_logic.complete_versions(dest, "toy") == [1, 2]
        assert push_logic.latest(dest, "toy")[0] == 2


def test_ingest_reads_s3_and_gcs(object_stores, penguins_csv, tmp_path):
    df = pd.read_csv(penguins_csv)
    df.to_parquet(tmp_path / "p.parquet")
    storage.write_bytes("s3://mlops-data/in/penguins.csv", penguins_csv.read_bytes())
    storage.write_bytes("gs://mlops-models/in/penguins.parquet", (tmp_path / "p.parquet").read_bytes())
    types = {"bill_length_mm": "float", "island": "categorical"}
    a = ingest_logic.ingest("s3://mlops-data/in/penguins.csv", "csv", types, "species", 0.25, 42, True, 0.1)
    b = ingest_logic.ingest("gs://mlops-models/in/penguins.parquet", "parquet", types, "species", 0.25, 42, True, 0.1)
    assert a[2].fingerprint == b[2].fingerprint and a[2].rows_read == 344


def test_ingest_reads_a_partitioned_parquet_prefix(object_stores, penguins_csv, tmp_path):
    """A Spark-style table under an s3:// prefix (the feature_engineering DAG's output on S3)."""
    pd.read_csv(penguins_csv).to_parquet(tmp_path / "table", partition_cols=["island"], index=False)
    (tmp_path / "table" / "_SUCCESS").write_text("")
    storage.upload_dir(tmp_path / "table", "s3://mlops-data/features/penguins")
    info = storage.stat("s3://mlops-data/features/penguins/")
    assert info.version.startswith("folder-") and info.size > 0
    df = ingest_logic.read_table("s3://mlops-data/features/penguins/", "parquet")
    assert len(df) == 344 and set(df["island"]) == {"Biscoe", "Dream", "Torgersen"}


@pytest.mark.slow
def test_pipeline_ingests_from_s3_and_pushes_to_gcs(object_stores, penguins_csv, tmp_path, raw_config):
    storage.write_bytes("s3://mlops-data/raw/penguins.csv", penguins_csv.read_bytes())
    cfg = load_config(fast_config(tmp_path, raw_config, data_uri="s3://mlops-data/raw/penguins.csv",
                                  destination="gs://mlops-models/serving"))
    summary = run_local(cfg, str(tmp_path / "run"))
    assert summary.status == "succeeded", summary.reason
    assert summary.pushed["path"] == "gs://mlops-models/serving/penguins/1"
    manifest = json.loads(storage.read_bytes("gs://mlops-models/serving/penguins/1/manifest.json"))
    assert manifest["data_uri"] == "s3://mlops-data/raw/penguins.csv" and manifest["version"] == 1
    assert "gs://mlops-models/serving/penguins/1/saved_model/saved_model.pb" in storage.list_uris(
        "gs://mlops-models/serving/penguins/1/")
