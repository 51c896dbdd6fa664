"""Which pushed version is the baseline: newest complete, blessed, fairness included."""

import json

from components.serving_baseline import logic
from components.versioned_pusher import logic as push_logic


def _push(tmp_path, dest, content, **manifest):
    model = tmp_path / f"model-{content}"
    model.mkdir()
    (model / "saved_model.pb").write_text(content)
    return push_logic.push(model, str(dest), "m", {"blessed": True, **manifest})


def test_nothing_pushed_means_no_baseline(tmp_path):
    assert logic.serving_model(str(tmp_path / "dest"), "m") is None
    assert logic.serving_version(str(tmp_path / "dest"), "m") == 0


def test_newest_complete_version_serves(tmp_path):
    dest = tmp_path / "dest"
    _push(tmp_path, dest, "a")
    _push(tmp_path, dest, "b")
    (dest / "m" / "3").mkdir()  # a crashed push: no manifest, invisible
    found = logic.serving_model(str(dest), "m")
    assert found.version == 2 and found.saved_model_uri.endswith("/m/2/saved_model")
    assert (dest / "m" / "2" / "saved_model" / "saved_model.pb").read_text() == "b"
    assert logic.serving_version(str(dest), "m") == 2


def test_version_failed_by_fairness_or_unblessed_is_skipped(tmp_path):
    dest = tmp_path / "dest"
    _push(tmp_path, dest, "a", fairness={"passed": True})
    _push(tmp_path, dest, "b", fairness={"passed": False})
    manifest = dest / "m" / "2" / "manifest.json"
    assert json.loads(manifest.read_text())["fairness"]["passed"] is False
    assert logic.serving_model(str(dest), "m").version == 1
    _push(tmp_path, dest, "c", blessed=False)
    assert logic.serving_model(str(dest), "m").version == 1


def test_unreadable_destination_is_version_zero_for_the_cache_key(tmp_path):
    dest = tmp_path / "dest"
    _push(tmp_path, dest, "a")
    (dest / "m" / "1" / "manifest.json").write_text("{not json")
    assert logic.serving_version(str(dest), "m") == 0


def test_the_candidate_itself_is_never_its_baseline(tmp_path):
    """A version whose SavedModel is the candidate's (pushed by an earlier run of the same
    pipeline on the same data) is passed over: the baseline is the version serving before it."""
    dest = tmp_path / "dest"
    _push(tmp_path, dest, "a")
    second = _push(tmp_path, dest, "b")
    candidate = second.manifest["model_fingerprint"]
    assert logic.serving_model(str(dest), "m", skip=logic.is_candidate(candidate)).version == 1
    assert logic.serving_model(str(dest), "m", skip=logic.is_candidate("another model")).version == 2
    assert logic.serving_model(str(dest), "m", skip=logic.is_candidate("")).version == 2


def test_cache_key_passes_over_versions_of_the_same_training_key(tmp_path):
    dest = tmp_path / "dest"
    _push(tmp_path, dest, "a", training_key="k1")
    _push(tmp_path, dest, "b", training_key="k2")
    assert logic.serving_version(str(dest), "m", "k2") == 1  # this run's own earlier push: not a baseline
    assert logic.serving_version(str(dest), "m", "k3") == 2  # another run's push: the baseline
    assert logic.serving_version(str(dest), "m", "k1") == 2
    assert logic.serving_version(str(dest), "m") == 2
