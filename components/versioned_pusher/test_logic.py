"""Versioned push on local disk: monotonic versions, atomic visibility, no duplicate pushes."""

import json
import os

import pytest

from components.common import storage
from components.versioned_pusher import logic


def _model(tmp_path, content="v1"):
    d = tmp_path / f"model-{content}"
    (d / "variables").mkdir(parents=True, exist_ok=True)
    (d / "saved_model.pb").write_text(content)
    (d / "variables" / "variables.index").write_text(content * 2)
    return d


def test_versions_are_monotonic_and_kept(tmp_path):
    dest = str(tmp_path / "dest")
    r1 = logic.push(_model(tmp_path, "a"), dest, "m", {"metrics": {"acc": 0.9}})
    r2 = logic.push(_model(tmp_path, "b"), dest, "m", {})
    assert (r1.version, r2.version) == (1, 2) and r1.created and r2.created
    assert logic.complete_versions(dest, "m") == [1, 2]
    manifest = json.loads((tmp_path / "dest" / "m" / "1" / "manifest.json").read_text())
    assert manifest["metrics"] == {"acc": 0.9} and manifest["version"] == 1
    assert (tmp_path / "dest" / "m" / "1" / "saved_model" / "saved_model.pb").read_text() == "a"


def test_same_model_is_not_pushed_twice(tmp_path):
    dest = str(tmp_path / "dest")
    logic.push(_model(tmp_path, "a"), dest, "m", {})
    again = logic.push(_model(tmp_path, "a"), dest, "m", {})
    assert again.version == 1 and not again.created
    assert logic.complete_versions(dest, "m") == [1]


def test_incomplete_version_is_invisible_and_its_number_not_reused(tmp_path):
    dest = tmp_path / "dest"
    (dest / "m" / "1" / "saved_model").mkdir(parents=True)  # a crashed push: no manifest
    assert logic.complete_versions(str(dest), "m") == []
    assert logic.latest(str(dest), "m") is None
    r = logic.push(_model(tmp_path), str(dest), "m", {})
    assert r.version == 2


def test_failed_push_leaves_previous_version_intact(tmp_path, monkeypatch):
    dest = str(tmp_path / "dest")
    logic.push(_model(tmp_path, "a"), dest, "m", {})
    before = sorted(os.listdir(tmp_path / "dest" / "m" / "1"))

    def broken_copytree(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(logic.shutil, "copytree", broken_copytree)
    with pytest.raises(OSError, match="No space left"):
        logic.push(_model(tmp_path, "b"), dest, "m", {})
    assert logic.complete_versions(dest, "m") == [1]
    assert sorted(os.listdir(tmp_path / "dest" / "m" / "1")) == before
    assert not [p for p in os.listdir(tmp_path / "dest" / "m") if p.startswith(".staging")]


def test_create_exclusive_local(tmp_path):
    uri = str(tmp_path / "claim")
    assert storage.create_exclusive(uri, b"x") is True
    assert storage.create_exclusive(uri, b"y") is False


def test_explain_fairness_and_tflite_outputs_ship_and_are_summarized(tmp_path):
    """Reads the files the explain and fairness components really write (their own writers)."""
    import numpy as np
    import pandas as pd

    from components.explain import logic as explain_logic
    from components.fairness import logic as fairness_logic

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=40), "noise": rng.normal(size=40)})

    def predict(df):
        p = 1 / (1 + np.exp(-3 * df["signal"].to_numpy(dtype=float)))
        return np.stack([1 - p, p], axis=1)

    expl = explain_logic.explain(predict, frame.iloc[:10], frame.iloc[10:16], ["signal", "noise"], ["a", "b"])
    explain_logic.write_outputs(expl, str(tmp_path / "explain"))
    groups = pd.DataFrame({"group": ["x"] * 20 + ["y"] * 20})
    y_true = ["a"] * 20 + ["b"] * 20
    y_pred = ["a"] * 20 + ["a"] * 10 + ["b"] * 10
    report = fairness_logic.evaluate(y_true, y_pred, groups, fairness_logic.Thresholds(max_accuracy_gap=0.1))
    fairness_logic.write_outputs(report, str(tmp_path / "fairness"))
    tflite = tmp_path / "best"
    tflite.mkdir()
    (tflite / "model.tflite").write_bytes(b"TFL3")

    fields, dirs = logic.extras_manifest(
        str(tmp_path / "explain"), str(tmp_path / "fairness"), str(tflite), "float16", compression_ran=True
    )
    assert fields["explanation"]["top_features"] == ["signal", "noise"]
    assert fields["fairness"]["passed"] is False and "accuracy gap" in fields["fairness"]["reasons"][0]
    assert fields["tflite_variant"] == "float16"
    assert dirs == {"explanation": str(tmp_path / "explain"), "fairness": str(tmp_path / "fairness"), "tflite": str(tflite)}

    result = logic.push(_model(tmp_path), str(tmp_path / "dest"), "m", fields, extra_dirs=dirs)
    version_dir = tmp_path / "dest" / "m" / "1"
    assert (version_dir / "tflite" / "model.tflite").read_bytes() == b"TFL3"
    assert (version_dir / "explanation" / "attributions.json").is_file()
    assert result.manifest["files"] == ["saved_model", "explanation", "fairness", "tflite"]


def test_no_extras_and_no_qualifying_tflite_variant():
    assert logic.extras_manifest() == ({}, {})
    fields, dirs = logic.extras_manifest(tflite_dir=None, tflite_variant=None, compression_ran=True)
    assert fields == {"tflite_variant": None} and dirs == {}


def test_version_files_name_the_new_version_and_ship_inside_it(tmp_path):
    dest = str(tmp_path / "dest")
    seen = []

    def card(manifest):
        seen.append(manifest["version"])
        return {"model_card/model_card.json": json.dumps({"version": manifest["version"]}), "model_card/index.html": "<p>"}

    logic.push(_model(tmp_path, "a"), dest, "m", {}, version_files=card)
    r2 = logic.push(_model(tmp_path, "b"), dest, "m", {}, version_files=card)
    again = logic.push(_model(tmp_path, "b"), dest, "m", {}, version_files=card)  # identical: no new version, no call
    assert seen == [1, 2] and not again.created
    card2 = tmp_path / "dest" / "m" / "2" / "model_card"
    assert json.loads((card2 / "model_card.json").read_text()) == {"version": 2}
    assert (card2 / "index.html").read_text() == "<p>"
    assert r2.manifest["files"] == ["saved_model", "model_card"]


def test_the_manifest_lands_last_so_a_version_is_visible_only_when_complete(tmp_path, monkeypatch):
    """Where renaming a folder is not atomic (BlobFuse2 copies blob by blob), a reader must not see
    the manifest before the model: it is written after the version's folder is in place."""
    dest = tmp_path / "dest"
    seen = []
    real_replace = os.replace

    def watching_replace(src, dst):
        version = os.path.dirname(dst)
        seen.append((os.path.basename(dst), sorted(os.listdir(version)), logic.complete_versions(str(dest), "m")))
        return real_replace(src, dst)

    monkeypatch.setattr(logic.os, "replace", watching_replace)
    logic.push(_model(tmp_path, "a"), str(dest), "m", {})
    (name, files, visible), = seen
    assert name == "manifest.json" and "saved_model" in files and visible == []
    assert logic.complete_versions(str(dest), "m") == [1]
