"""The whole penguins pipeline with LocalDagRunner in the project image."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from components.versioned_pusher import logic as push_logic
from pipelines.config import load_config
from pipelines.local.run import run_local

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_run_pushes_a_blessed_model_with_reports(trained_pipeline):
    summary = trained_pipeline["summary"]
    dest = str(trained_pipeline["destination"])
    assert summary.pushed["version"] == 1 and summary.pushed["created"] is True
    assert push_logic.complete_versions(dest, "penguins") == [1]
    manifest = push_logic.read_manifest(dest, "penguins", 1)
    assert manifest["blessed"] is True and manifest["version"] == 1
    assert manifest["metrics"]["overall"]["sparse_categorical_accuracy"] >= 0.85
    # the Evaluator computes what the config asks for (accuracy, the example count), not the
    # model's compiled loss and metrics again
    assert set(manifest["metrics"]["overall"]) == {"sparse_categorical_accuracy", "example_count"}, manifest["metrics"]
    assert len(manifest["data_fingerprint"]) == 64 and len(manifest["model_fingerprint"]) == 64
    assert manifest["run_id"] == summary.run_id and manifest["mlmd"]["model_artifact_id"] > 0
    assert set(manifest["metrics"]["classes"]) == {"Adelie", "Chinstrap", "Gentoo"}
    # every component ran, and run.json says so
    run_json = json.loads((trained_pipeline["first_run"] / "run.json").read_text())
    assert run_json["status"] == "succeeded"
    # penguins.csv: 344 rows, 11 without `sex` dropped as incomplete, and run.json says so
    assert run_json["data"] == {"rows_read": 344, "rows_dropped": 11}
    for node in ("DataIngest", "DataGate", "Transform", "Trainer", "Evaluator", "VersionedPusher"):
        assert run_json["components"][node]["state"] == "executed", node
    html = Path(summary.reports["evaluation"]).read_text() if os.path.isabs(summary.reports["evaluation"]) else (
        Path.cwd() / summary.reports["evaluation"]).read_text()
    assert "BLESSED" in html and "island=Biscoe" in html and "data:image/png;base64" in html
    assert "data_docs_train" in summary.reports
    # The drift check ran, but before the first push there is no serving model to compare with.
    assert run_json["components"]["DriftCheck"]["state"] == "executed"
    assert summary.drift["baseline_uri"] is None and "no version of penguins" in summary.drift["reason"]
    assert manifest["examples_uri"] and Path(manifest["examples_uri"], "Split-train").is_dir()


def test_explain_fairness_and_compression_ship_with_the_model(trained_pipeline):
    """The explanation, fairness and compression components run inside `mlops run` and their results
    reach the push."""
    summary = trained_pipeline["summary"]
    cfg = trained_pipeline["config"]
    for node in ("ModelExplanation", "FairnessGate", "ModelCompression"):
        assert summary.components[node]["state"] == "executed", node
    for name in ("explain", "fairness", "compress"):
        assert name in summary.reports, name
    version_dir = trained_pipeline["destination"] / "penguins" / "1"
    manifest = push_logic.read_manifest(str(trained_pipeline["destination"]), "penguins", 1)
    assert manifest["fairness"]["passed"] is True and manifest["fairness"]["reasons"] == []
    assert set(manifest["explanation"]["top_features"]) <= set(cfg.feature_names)
    assert len(manifest["explanation"]["top_features"]) == min(5, len(cfg.feature_names))
    assert (version_dir / "explanation" / "attributions.json").is_file()
    # explain.methods [shap, lime] (the penguins config): both, side by side, with their agreement
    attributions = json.loads((version_dir / "explanation" / "attributions.json").read_text())
    assert attributions["methods"] == ["shap", "lime"] and attributions["method"].startswith("shap.")
    assert set(attributions["by_method"]["lime"]["global_importance"]) == set(cfg.feature_names)
    assert len(attributions["agreement"]["per_example"]) == cfg.explain.sample_size
    page = (trained_pipeline["first_run"] / "reports" / "explain" / "index.html").read_text()
    assert "SHAP and LIME side by side" in page and 'id="example-comparison"' in page
    assert (version_dir / "fairness" / "index.html").is_file()
    report = json.loads((trained_pipeline["first_run"] / "reports" / "compress" / "report.json").read_text())
    assert manifest["tflite_variant"] == report["best"]
    assert manifest["tflite_variant"] in {"float32", "pruned", "distilled", *cfg.compress.variants}
    assert (version_dir / "tflite" / "model.tflite").stat().st_size > 0
    assert sorted(manifest["files"]) == ["explanation", "fairness", "model_card", "saved_model", "tflite"]


def test_the_pushed_version_has_a_model_card_linked_from_the_run(trained_pipeline):
    """The card (components/model_card) ships inside the version, names it, and is what run.json
    and the report index link."""
    summary = trained_pipeline["summary"]
    cfg = trained_pipeline["config"]
    card_dir = trained_pipeline["destination"] / "penguins" / "1" / "model_card"
    card = json.loads((card_dir / "model_card.json").read_text())
    manifest = push_logic.read_manifest(str(trained_pipeline["destination"]), "penguins", 1)
    assert card["model_details"]["version"]["name"] == "1" and card["model_details"]["name"] == "penguins"
    assert card["model_details"]["owners"] == [{"name": cfg.model_card.owner, "contact": cfg.model_card.contact}]
    assert card["considerations"]["use_cases"] == [{"description": cfg.model_card.intended_use}]
    assert card["model_parameters"]["data"][0]["fingerprint"] == manifest["data_fingerprint"]
    assert "344 rows read, 11 dropped" in card["model_parameters"]["data"][0]["description"]
    assert [m["key"] for m in card["model_parameters"]["input_format_map"]] == list(cfg.feature_names)
    accuracy = manifest["metrics"]["overall"]["sparse_categorical_accuracy"]
    overall = {m["type"]: m for m in card["quantitative_analysis"]["performance_metrics"] if not m["slice"]}
    assert float(overall["sparse_categorical_accuracy"]["value"]) == pytest.approx(accuracy, abs=1e-4)
    assert any(m["slice"].startswith("island=") for m in card["quantitative_analysis"]["performance_metrics"])
    m = card["mlops"]
    assert m["fairness"]["passed"] is True and {g["column"] for g in m["fairness"]["groups"]} == {"island", "sex"}
    assert m["explanation"]["top_features"] == manifest["explanation"]["top_features"]
    assert m["compression"] == {"tflite_variant": manifest["tflite_variant"]}
    assert m["image"].startswith("mlops-pipelines:") and m["model_fingerprint"] == manifest["model_fingerprint"]
    page = (card_dir / "index.html").read_text()
    assert "Model card: penguins" in page and "version 1" in page and 'id="todo"' not in page
    assert summary.pushed["model_card"].endswith("penguins/1/model_card/index.html")
    assert summary.reports["model_card"] == summary.pushed["model_card"]
    index = (trained_pipeline["first_run"] / "reports" / "index.html").read_text()
    assert "/penguins/1/model_card/index.html" in index


def test_exported_model_predicts_like_the_training_path(trained_pipeline):
    """Raw features through the pushed signature == transform graph + Keras model as in training."""
    import tensorflow as tf
    import tensorflow_transform as tft

    from components.common import examples_io

    cfg = trained_pipeline["config"]
    artifacts = trained_pipeline["artifacts"]
    eval_df = examples_io.read_split(artifacts[("DataIngest", "examples")], "eval")
    tft_out = tft.TFTransformOutput(artifacts[("Transform", "transform_graph")])
    trained = tf.keras.models.load_model(str(Path(artifacts[("Trainer", "model")]) / "Format-Serving"))

    raw = {}
    for f in cfg.features:
        col = eval_df[f.name].to_numpy()
        raw[f.name] = tf.constant(col.astype(str) if f.type == "categorical" else col.astype("float32"))
    # training path: the Transform graph on [batch, 1] raw features, then the Keras model
    transformed = tft_out.transform_raw_features({k: tf.expand_dims(v, 1) for k, v in raw.items()})
    training_probs = trained({f"{f.name}_xf": transformed[f"{f.name}_xf"] for f in cfg.features}).numpy()

    pushed = tf.saved_model.load(str(trained_pipeline["destination"] / "penguins" / "1" / "saved_model"))
    out = pushed.signatures["serving_default"](**raw)
    np.testing.assert_allclose(out["probabilities"].numpy(), training_probs, rtol=1e-5, atol=1e-6)
    predicted = [c.decode() for c in out["predicted_class"].numpy()]
    accuracy = np.mean(np.array(predicted) == eval_df[cfg.label].to_numpy())
    assert accuracy >= 0.85


def test_cached_rerun_executes_nothing_new(trained_pipeline):
    """The first push does not make the candidate its own baseline: a rerun executes nothing."""
    cfg, out = trained_pipeline["config"], str(trained_pipeline["output_dir"])
    second = run_local(cfg, out)
    assert second.status == "succeeded"
    executed = [n for n, c in second.components.items() if c["state"] != "cached"]
    assert executed == [], second.components
    assert {"DriftCheck", "FairnessGate", "ServingModelBaseline", "Evaluator"} <= set(second.components)
    # The version the first run pushed, its model card included.
    assert second.pushed == {"version": 1, "path": second.pushed["path"], "created": False,
                             "model_card": trained_pipeline["summary"].pushed["model_card"]}
    # The reports come from the run's own artifacts (MLMD), cached ones included.
    assert set(second.reports) == set(trained_pipeline["summary"].reports), (second.reports, trained_pipeline["summary"].reports)
    assert second.seconds < trained_pipeline["summary"].seconds / 2
    assert push_logic.complete_versions(str(trained_pipeline["destination"]), "penguins") == [1]


def test_rerun_after_a_push_with_a_baseline_executes_nothing(trained_pipeline, tmp_path):
    """A changed run compares with the serving version (baseline active) and pushes; its
    unchanged rerun then executes no component: no model evaluated against itself, no data
    compared with itself."""
    import shutil

    import yaml

    # The shared run folder (its cache: the report folder is a parameter of every step, so a copied
    # folder would re-run them all) and a copy of its push destination (version 1 serving).
    out, dest = trained_pipeline["output_dir"], tmp_path / "models"
    shutil.copytree(trained_pipeline["destination"], dest)
    raw = yaml.safe_load(Path(trained_pipeline["config_path"]).read_text())
    raw["push"]["destination"] = str(dest)
    raw["model"]["epochs"] = int(raw["model"]["epochs"]) + 5
    raw["evaluation"]["change_threshold"] = None  # blessed whatever the extra epochs do
    config_path = tmp_path / "cfg.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    cfg = load_config(config_path)

    changed = run_local(cfg, str(out))
    assert changed.status == "succeeded", changed.reason
    states = {n: c["state"] for n, c in changed.components.items()}
    assert states["Transform"] == "cached" and states["Trainer"] == "executed", states
    assert states["ServingModelBaseline"] == "executed" and states["Evaluator"] == "executed", states
    assert changed.pushed["version"] == 2 and changed.pushed["created"] is True
    report = (out / "reports" / "evaluation" / "index.html").read_text()
    assert "version 1" in report, "the baseline is the version serving before the run"

    rerun = run_local(cfg, str(out))
    executed = [n for n, c in rerun.components.items() if c["state"] != "cached"]
    assert executed == [], rerun.components
    assert rerun.pushed["version"] == 2 and push_logic.complete_versions(str(dest), "penguins") == [1, 2]


def _not_blessed_run(trained_pipeline, override: str) -> str:
    """Runs the real CLI with one ``--set``; checks exit code 4, no new version, version 1
    byte-identical and run.json; returns the closing paragraph (unwrapped)."""
    dest = trained_pipeline["destination"]
    before = push_logic.dir_fingerprint(dest / "penguins" / "1")
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--config", str(trained_pipeline["config_path"]),
         "--output-dir", str(trained_pipeline["output_dir"]), "--set", override],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "warning: 11 of 344 rows had missing values and were dropped" in proc.stderr  # cached ingest too
    # Quiet by default: progress and the summary; TensorFlow/absl/Beam output is in run.log.
    noise = [l for l in (proc.stdout + proc.stderr).splitlines()
             if l.startswith(("WARNING", "E0000", "I0000", "W0000", "INFO")) or "cuInit" in l or "absl" in l]
    assert noise == [], noise[:5]
    # Progress: a line as each component starts and one as it ends, read from MLMD; this rerun
    # takes most steps from the cache and executes the ones the override changed.
    lines = [l for l in proc.stderr.splitlines() if re.match(r"\[\d+/\d+\] ", l)]
    starts = [l for l in lines if l.endswith(" ...")]
    ends = [re.fullmatch(r"\[\d+/\d+\] (\w+) done in [\d.]+s( \(cached\))?", l) for l in lines if not l.endswith(" ...")]
    assert starts and starts[0].startswith("[1/") and len(starts) == len(ends) and all(ends), lines
    cached, executed = [m.group(1) for m in ends if m.group(2)], [m.group(1) for m in ends if not m.group(2)]
    assert cached[0] == "DataIngest" and executed, lines
    assert "  log:     " in proc.stderr and (trained_pipeline["output_dir"] / "run.log").stat().st_size > 0
    assert push_logic.complete_versions(str(dest), "penguins") == [1]
    assert push_logic.dir_fingerprint(dest / "penguins" / "1") == before
    run_json = json.loads((trained_pipeline["output_dir"] / "run.json").read_text())
    assert run_json["status"] == "not_blessed" and run_json["pushed"] is None
    # The CLI ends with one wrapped paragraph after a blank line; read it whole.
    paragraph = " ".join(proc.stderr.strip().split("\n\n")[-1].split())
    assert paragraph.startswith("The candidate model was not blessed"), paragraph
    return paragraph


def test_unmet_threshold_is_not_blessed_and_serving_version_is_untouched(trained_pipeline):
    """Through the real CLI: exit code 4, one paragraph, nothing pushed, version 1 byte-identical.
    (A bound no model can pass, such as accuracy >= 1.01, is refused at load: tests/unit/test_config.py;
    this one is possible, just not met by the penguins eval split.)"""
    paragraph = _not_blessed_run(
        trained_pipeline, "evaluation.thresholds=[{metric: example_count, lower_bound: 100000}]"
    )
    assert "example_count" in paragraph and "lower bound 100000" in paragraph


def test_fairness_gate_blocks_the_push_and_says_why(trained_pipeline):
    """Species genuinely differ by island, so a 5% demographic-parity limit over island must fail:
    exit code 4, the gap named, nothing pushed, version 1 untouched."""
    paragraph = _not_blessed_run(trained_pipeline, "fairness.max_demographic_parity_difference=0.05")
    assert "fairness:" in paragraph and "demographic parity" in paragraph.lower(), paragraph
    assert "fairness/index.html" in paragraph
    result = json.loads((trained_pipeline["output_dir"] / "reports" / "fairness" / "result.json").read_text())
    assert result["passed"] is False
    island = next(c for c in result["columns"] if c["column"] == "island")
    assert island["demographic_parity_difference"]["value"] > 0.05


def test_drift_check_holds_training_on_data_unlike_the_serving_models(trained_pipeline, tmp_path):
    """New data from Dream island only (valid for the data gate): DriftCheck compares it with the
    Examples version 1 was trained on (from its manifest), names `island`, and with
    drift_check.fail_on_drift the run stops before training: exit 3, nothing pushed."""
    import palmerpenguins

    lines = (Path(palmerpenguins.__file__).parent / "data" / "penguins.csv").read_text().splitlines()
    island = lines[0].split(",").index("island")
    dream = tmp_path / "dream.csv"
    dream.write_text("\n".join([lines[0], *(l for l in lines[1:] if l.split(",")[island] == "Dream")]) + "\n")
    dest = trained_pipeline["destination"]
    before = push_logic.dir_fingerprint(dest / "penguins" / "1")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--config", str(trained_pipeline["config_path"]),
         "--output-dir", str(out), "--set", f"data.uri={dream}", "--set", "drift_check.fail_on_drift=true"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 3, proc.stderr[-3000:]
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["status"] == "gate_failed" and "drift check held the run" in run_json["reason"]
    assert run_json["drift"]["drifted"] is True and "island" in run_json["drift"]["drifted_features"]
    assert "island" in {f["column"] for f in run_json["gate"]["failures"] if f["source"] == "drift_check"}
    assert run_json["drift"]["baseline_uri"].startswith(push_logic.read_manifest(str(dest), "penguins", 1)["examples_uri"])
    assert "Trainer" not in run_json["components"] and "drift" in run_json["reports"]
    assert push_logic.complete_versions(str(dest), "penguins") == [1]
    assert push_logic.dir_fingerprint(dest / "penguins" / "1") == before


@pytest.mark.parametrize("fail_on_drift", [False, True], ids=["report-only", "fail-on-drift"])
def test_missing_column_with_a_version_pushed_stops_at_the_gate(trained_pipeline, tmp_path, penguins_df, fail_on_drift):
    """With a serving version, DriftCheck meets the file missing a feature before the gate runs:
    it reports "not checked" and the gate stops the run, exit 3 with the column named, as without
    the drift step."""
    bad = tmp_path / "no_flipper.csv"
    penguins_df.drop(columns=["flipper_length_mm"]).to_csv(bad, index=False)
    dest = trained_pipeline["destination"]
    before = push_logic.dir_fingerprint(dest / "penguins" / "1")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--config", str(trained_pipeline["config_path"]),
         "--output-dir", str(out), "--set", f"data.uri={bad}", "--set", f"drift_check.fail_on_drift={str(fail_on_drift).lower()}"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["status"] == "gate_failed" and "flipper_length_mm" in run_json["reason"], run_json["reason"]
    assert "flipper_length_mm" in {f["column"] for f in run_json["gate"]["failures"]}
    assert push_logic.complete_versions(str(dest), "penguins") == [1]
    assert push_logic.dir_fingerprint(dest / "penguins" / "1") == before
