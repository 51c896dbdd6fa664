"""Artifact I/O through ``gfile_io``, on local paths and on a ``gs://`` pipeline root.

The ``gs://`` cases run against gcp-storage-emulator. TensorFlow's own GCS filesystem cannot
talk to an emulator (its endpoint is hard-coded to www.googleapis.com and it ignores
``STORAGE_EMULATOR_HOST``), so for ``gs://`` these tests swap the filesystem under ``gfile_io``
for ``EmulatorGfile`` (components/conftest.py: the same ``tf.io.gfile`` functions over
google-cloud-storage, with GCS semantics: folders are prefixes, marker objects, no folder needed
before a write). What they prove is that the component code reaches every artifact through
``gfile_io`` with a ``gs://`` URI (nothing through ``open``/``os``/``shutil``, which would fail
or leave a local ``gs:`` folder) and that output folders that do not exist yet are fine; what
they cannot prove is TF's C++ GCS client itself, which TFX relies on everywhere anyway.
"""

from __future__ import annotations

import json

import pytest
from tfx.types import standard_artifacts

from components.common import gfile_io, storage
from components.common.artifacts import CompressedModel, DataGateResult, FairnessResult, GreatExpectationsResult, HtmlReport
from components.common.errors import DataValidationError


@pytest.fixture(params=["local", "gs"])
def root(request, tmp_path):
    """An artifact root: a local folder, or a gs:// prefix on the emulator."""
    if request.param == "local":
        return str(tmp_path / "pipeline_root")
    return request.getfixturevalue("gs_root")


def test_write_read_and_missing(root):
    uri = gfile_io.join(root, "Comp", "out", "1", "nested", "result.json")  # no folder exists yet
    gfile_io.write_json(uri, {"a": 1})
    assert gfile_io.read_json(uri) == {"a": 1}
    assert gfile_io.exists(uri) and gfile_io.isdir(gfile_io.join(root, "Comp", "out"))
    assert gfile_io.read_json(gfile_io.join(root, "nope.json"), default={}) == {}
    with pytest.raises(FileNotFoundError, match="nope.json"):
        gfile_io.read_json(gfile_io.join(root, "nope.json"))
    assert gfile_io.read_lines(gfile_io.join(root, "vocab")) == []
    gfile_io.write_text(gfile_io.join(root, "vocab"), "a\nb\n")
    assert gfile_io.read_lines(gfile_io.join(root, "vocab")) == ["a", "b"]
    assert gfile_io.glob(gfile_io.join(root, "missing", "Split-*", "x")) == []
    assert gfile_io.listdir(gfile_io.join(root, "missing")) == [] and gfile_io.list_files(gfile_io.join(root, "missing")) == []
    gfile_io.rmtree(gfile_io.join(root, "missing"))  # no error


def test_copy_dir_between_local_and_root(root, tmp_path):
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "index.html").write_text("<html>")
    (src / "sub" / "deeper" / "blob.bin").write_bytes(bytes(range(256)) * 50)
    art = gfile_io.join(root, "Explain", "explanation", "7")
    gfile_io.write_text(gfile_io.join(art, "stale.txt"), "old")
    written = gfile_io.copy_dir_to(src, art)
    assert sorted(written) == [gfile_io.join(art, "index.html"), gfile_io.join(art, "sub/deeper/blob.bin")]
    assert gfile_io.list_files(art) == ["index.html", "sub/deeper/blob.bin"]  # stale file replaced
    assert gfile_io.dir_size(art) == 6 + 256 * 50
    assert gfile_io.glob(gfile_io.join(art, "sub", "*", "*.bin")) == [gfile_io.join(art, "sub/deeper/blob.bin")]
    out = gfile_io.download_dir(art, tmp_path / "back")
    assert (out / "sub" / "deeper" / "blob.bin").read_bytes() == bytes(range(256)) * 50
    with gfile_io.local_dir(art) as local:
        assert open(f"{local}/index.html").read() == "<html>"
    # artifact -> a local report dir that does not exist yet
    gfile_io.copy_dir(art, str(tmp_path / "reports" / "run" / "explain"))
    assert (tmp_path / "reports" / "run" / "explain" / "index.html").read_text() == "<html>"
    gfile_io.rmtree(art)
    assert not gfile_io.exists(art)


def _artifact(cls, uri: str):
    a = cls()
    a.uri = uri
    return a


def test_data_gate_reads_and_writes_gs_artifacts(gs_root, tmp_path):
    """DataGate's whole executor body on gs:// inputs and a gs:// output folder that does not exist."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    from components.data_gate.component import DataGate

    anomalies = _artifact(standard_artifacts.ExampleAnomalies, f"{gs_root}/ExampleValidator/anomalies/3")
    for split in ("train", "eval"):
        proto = anomalies_pb2.Anomalies()
        if split == "eval":
            info = proto.anomaly_info["island"]
            info.severity = anomalies_pb2.AnomalyInfo.ERROR
            info.description = "Examples contain values missing from the schema: Atlantis (~3%). "
        gfile_io.write_bytes(f"{anomalies.uri}/Split-{split}/SchemaDiff.pb", proto.SerializeToString())
    ge = _artifact(GreatExpectationsResult, f"{gs_root}/GreatExpectationsValidation/result/2")
    gfile_io.write_json(f"{ge.uri}/result.json", {"success": True, "splits": {"train": {"failures": []}}})
    gate = _artifact(DataGateResult, f"{gs_root}/DataGate/gate/4")
    report_dir = tmp_path / "reports" / "not-yet"

    with pytest.raises(DataValidationError, match="Atlantis"):
        DataGate.test_call(anomalies=anomalies, ge_result=ge, gate=gate, dataset="penguins", report_dir=str(report_dir))
    report = gfile_io.read_json(f"{gate.uri}/gate.json")
    assert report["passed"] is False and report["failures"][0]["column"] == "island"
    assert json.loads((report_dir / "gate.json").read_text()) == report

    gfile_io.write_bytes(f"{anomalies.uri}/Split-eval/SchemaDiff.pb", anomalies_pb2.Anomalies().SerializeToString())
    DataGate.test_call(anomalies=anomalies, ge_result=ge, gate=gate, dataset="penguins")  # report_dir empty: fine
    assert gfile_io.read_json(f"{gate.uri}/gate.json")["passed"] is True


def test_pusher_ships_gs_artifacts(gs_root, tmp_path):
    """VersionedPusher's executor body: model, reports and TFLite artifacts on gs://, pushed to a
    gs:// destination (storage layer, same emulator) and to a local one; report_dir not created yet."""
    from components.explain import logic as explain_logic
    from components.fairness import logic as fairness_logic
    from components.versioned_pusher import logic as push_logic
    from components.versioned_pusher.component import VersionedPusher

    model = _artifact(standard_artifacts.Model, f"{gs_root}/Trainer/model/5")
    gfile_io.write_bytes(f"{model.uri}/Format-Serving/saved_model.pb", b"graph")
    gfile_io.write_bytes(f"{model.uri}/Format-Serving/variables/variables.index", b"idx")
    gfile_io.write_text(f"{model.uri}/Format-Serving/assets/label_vocab", "Adelie\nGentoo\n")
    blessing = _artifact(standard_artifacts.ModelBlessing, f"{gs_root}/FairnessGate/blessing/6")
    blessing.set_int_custom_property("blessed", 1)
    evaluation = _artifact(HtmlReport, f"{gs_root}/EvaluationReport/report/7")
    gfile_io.write_json(f"{evaluation.uri}/metrics.json", {"overall": {"accuracy": 0.97}, "slices": {}, "classes": ["Adelie"]})

    explanation = _artifact(HtmlReport, f"{gs_root}/ModelExplanation/explanation/8")
    expl = explain_logic.Explanation(
        feature_names=["bill_length_mm", "island"], class_names=["Adelie", "Gentoo"],
        global_importance={"bill_length_mm": 0.3, "island": 0.1},
        per_class_importance={"Adelie": {"bill_length_mm": 0.3, "island": 0.1}, "Gentoo": {"bill_length_mm": 0.3, "island": 0.1}},
        base_values={"Adelie": 0.5, "Gentoo": 0.5}, background_size=1,
    )
    explain_logic.write_outputs(expl, explanation.uri, "penguins")
    assert gfile_io.read_bytes(f"{explanation.uri}/importance.png")[:4] == b"\x89PNG"
    fairness = _artifact(FairnessResult, f"{gs_root}/FairnessGate/result/6")
    report = fairness_logic.FairnessReport(
        passed=True, reasons=[], columns=[], thresholds=fairness_logic.Thresholds(), classes=["Adelie"], n_examples=3,
        overall_accuracy=1.0,
    )
    fairness_logic.write_outputs(report, fairness.uri, "penguins", extra={"dropped_rows": 2})
    assert gfile_io.read_json(f"{fairness.uri}/result.json")["dropped_rows"] == 2
    compressed = _artifact(CompressedModel, f"{gs_root}/ModelCompression/compressed/9")
    gfile_io.write_bytes(f"{compressed.uri}/best/model.tflite", b"tflite")
    compressed.set_string_custom_property("best_variant", "dynamic_range")

    report_dir = tmp_path / "reports" / "later"
    for destination in (f"{gs_root}/serving-models", str(tmp_path / "models")):
        pushed = _artifact(standard_artifacts.PushedModel, f"{gs_root}/VersionedPusher/pushed_model/10")
        out = VersionedPusher.test_call(
            model=model, model_blessing=blessing, pushed_model=pushed, destination=destination, model_name="penguins",
            evaluation_report=evaluation, explanation=explanation, fairness=fairness, compressed=compressed,
            report_dir=str(report_dir),
        )
        assert out["pushed"] == 1 and out["version"] == 1
        manifest = push_logic.read_manifest(destination, "penguins", 1)
        assert manifest["metrics"]["overall"] == {"accuracy": 0.97}
        assert manifest["fairness"]["passed"] is True and manifest["tflite_variant"] == "dynamic_range"
        assert manifest["explanation"]["top_features"] == ["bill_length_mm", "island"]
        assert manifest["files"] == ["saved_model", "explanation", "fairness", "model_card", "tflite"]
        base = storage.join(destination, "penguins", "1")
        assert storage.read_bytes(storage.join(base, "saved_model", "saved_model.pb")) == b"graph"
        assert storage.read_bytes(storage.join(base, "saved_model", "variables", "variables.index")) == b"idx"
        assert storage.read_bytes(storage.join(base, "tflite", "model.tflite")) == b"tflite"
        assert json.loads(storage.read_bytes(storage.join(base, "fairness", "result.json")))["dropped_rows"] == 2
        assert json.loads((report_dir / "pushed.json").read_text())["version"] == 1
        # the same model again: no new version (the fingerprint of the downloaded copy is stable)
        again = VersionedPusher.test_call(
            model=model, model_blessing=blessing, pushed_model=pushed, destination=destination, model_name="penguins",
        )
        assert again["version"] == 1 and push_logic.complete_versions(destination, "penguins") == [1]



def test_ge_validation_writes_result_suite_and_docs_to_gs(gs_root, tmp_path, penguins_df):
    """GreatExpectationsValidation with its output artifact on gs:// (inputs local: reading
    TFRecords from gs:// would need TF's own GCS client): GE renders Data Docs with plain file I/O
    into a temp dir, the component ships them to the artifact."""
    from tfx.types import artifact_utils

    from components.ge_validation.component import GreatExpectationsValidation
    from components.ingest import logic as ingest_logic
    from tests.configs import REPO

    examples = _artifact(standard_artifacts.Examples, str(tmp_path / "examples"))
    ingest_logic.write_split(penguins_df.dropna().head(40).reset_index(drop=True), str(tmp_path / "examples" / "Split-train"))
    examples.split_names = artifact_utils.encode_split_names(["train"])
    schema = _artifact(standard_artifacts.Schema, str(tmp_path / "schema"))
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "schema.pbtxt").write_text((REPO / "pipelines" / "schemas" / "penguins" / "schema.pbtxt").read_text())
    result = _artifact(GreatExpectationsResult, f"{gs_root}/GreatExpectationsValidation/result/3")

    out = GreatExpectationsValidation.test_call(examples=examples, schema=schema, result=result, dataset="penguins")
    data = gfile_io.read_json(f"{result.uri}/result.json")
    assert out["failures"] == sum(len(s["failures"]) for s in data["splits"].values())
    docs = data["splits"]["train"]["data_docs"]
    assert docs == f"{result.uri}/data_docs/train/index.html" and "<html" in gfile_io.read_text(docs).lower()
    assert gfile_io.read_json(f"{result.uri}/expectation_suite.json")["name"] == "penguins-suite"
