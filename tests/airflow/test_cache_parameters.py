"""The cache parameters the remote runners send (dags/mlops_airflow/runners/cache.py), on the S3
and GCS emulators (moto_server, gcp-storage-emulator: tests/object_stores.py) and local files.

``data_fingerprint`` must change whenever the data's content changes and only then for local
files (a copy with a new mtime is the same data); ``serving_version`` must be the number the
image side's rule gives (pipelines/push_layout.py), on every kind of destination.
"""

from __future__ import annotations

import pytest

from support import golden_spec_path, load_spec, push_version, sha256_file


def test_data_fingerprint_of_gs_s3_local_and_folder_data_follows_the_content(tmp_path, object_stores):
    from components.common import storage
    from tests.object_stores import bucket

    from mlops_airflow.runners.cache import data_fingerprint

    gs, s3 = bucket("gs://fp-data/a.csv"), bucket("s3://fp-data/a.csv")
    for uri in (gs, s3):
        storage.write_bytes(uri, b"x,y\n1,2\n")
    blob = storage._gcs().bucket("fp-data").get_blob("a.csv")  # noqa: SLF001
    assert data_fingerprint(gs) == f"gs-generation:{blob.generation} md5:{blob.md5_hash}"
    head = storage._s3().head_object(Bucket="fp-data", Key="a.csv")  # noqa: SLF001
    assert data_fingerprint(s3) == f"s3-etag:{head['ETag'].strip(chr(34))} size:8"

    before = {uri: data_fingerprint(uri) for uri in (gs, s3)}
    for uri in (gs, s3):
        storage.write_bytes(uri, b"x,y\n1,3\n")  # same size, new content
    assert all(data_fingerprint(uri) != before[uri] for uri in (gs, s3))

    local = tmp_path / "a.csv"
    local.write_bytes(b"x,y\n1,2\n")
    first = data_fingerprint(str(local))
    assert first == f"sha256:{sha256_file(local)}"
    local.write_bytes(b"x,y\n1,2\n")  # rewritten: new mtime, same content
    assert data_fingerprint(str(local)) == first

    # A folder (a Spark table): any part's change changes it.
    for uri in ("gs://fp-data/table/part-0.parquet", "gs://fp-data/table/part-1.parquet"):
        storage.write_bytes(uri, b"rows")
    table = data_fingerprint("gs://fp-data/table/")
    assert table.startswith("folder-sha256:")
    storage.write_bytes("gs://fp-data/table/part-1.parquet", b"other rows")
    assert data_fingerprint("gs://fp-data/table/") != table


def test_unreadable_data_is_an_error_not_an_empty_fingerprint(tmp_path, object_stores):
    """An empty fingerprint could be served a stale cached run: the submit fails instead."""
    from tests.object_stores import bucket

    from mlops_airflow.runners import RunnerError
    from mlops_airflow.runners.cache import data_fingerprint

    bucket("s3://fp-missing/x")
    for uri in (str(tmp_path / "missing.csv"), "s3://fp-missing/none.csv", "gs://fp-missing-bucket/none.csv"):
        with pytest.raises(RunnerError, match="cannot fingerprint the data"):
            data_fingerprint(uri)


@pytest.mark.parametrize("scheme", ["s3", "gs", "local"])
def test_serving_version_is_the_image_sides_rule_on_every_destination(tmp_path, object_stores, scheme):
    from pipelines import push_layout
    from tests.object_stores import bucket

    from mlops_airflow.runners.cache import serving_version

    dest = str(tmp_path / "models") if scheme == "local" else bucket(f"{scheme}://sv-{scheme}/push")
    assert serving_version(dest, "m") == 0
    push_version(dest, "m", 1)
    push_version(dest, "m", 2, fairness={"passed": False})
    push_version(dest, "m", 3, complete=False)
    assert serving_version(dest, "m") == 1 == push_layout.serving_version(dest, "m")
    push_version(dest, "m", 4)
    assert serving_version(dest, "m") == 4


def test_serving_version_is_read_where_the_specs_tasks_read_it():
    """A compile may override push.destination: the spec's URI wins; a local compile's container
    path (/src/runs/models) does not exist on a worker, so the config's destination is used."""
    from types import SimpleNamespace

    from mlops_airflow.runners.cache import push_target

    cfg = SimpleNamespace(push=SimpleNamespace(destination="runs/models", model_name="penguins"))
    assert push_target(load_spec(golden_spec_path()), cfg) == ("runs/models", "penguins")
    vertex = load_spec(golden_spec_path().with_name("penguins_gpu_vertex.yaml"))
    assert push_target(vertex, cfg) == ("gs://example-bucket/models", "penguins")
