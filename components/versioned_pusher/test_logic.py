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
