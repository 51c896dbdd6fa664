"""The three TFX adapters run in a real (LocalDagRunner) pipeline on the shared run's artifacts,
imported with ``Importer`` nodes, and leave what the pusher and the reports rely on."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def _blessings(metadata_path: str) -> dict[str, dict]:
    """ModelBlessing artifacts of our FairnessGate nodes: uri -> custom properties."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    conn = metadata_store_pb2.ConnectionConfig()
    conn.sqlite.filename_uri = metadata_path
    store = metadata_store.MetadataStore(conn)
    out = {}
    for art in store.get_artifacts_by_type("ModelBlessing"):
        props = {}
        for k, v in art.custom_properties.items():
            props[k] = v.int_value if v.HasField("int_value") else v.string_value
        out[art.uri] = props
    return out


def test_adapters_in_a_local_pipeline(penguins_run, tmp_path):
    from tfx import v1 as tfx

    from components.compress.component import ModelCompression
    from components.explain.component import ModelExplanation
    from components.fairness.component import FairnessGate

    cfg = penguins_run["config"]
    std = tfx.types.standard_artifacts
    model = tfx.dsl.Importer(source_uri=str(penguins_run["model_uri"]), artifact_type=std.Model).with_id("model")
    examples = tfx.dsl.Importer(
        source_uri=str(penguins_run["examples_uri"]), artifact_type=std.Examples,
        properties={"split_names": json.dumps(["train", "eval"])},
    ).with_id("examples")
    evaluator_blessing = tfx.dsl.Importer(
        source_uri=str(penguins_run["blessing_uri"]), artifact_type=std.ModelBlessing,
        custom_properties={"blessed": 1, "current_model_id": 12345},
    ).with_id("evaluator_blessing")
    reports = tmp_path / "reports"
    explain = ModelExplanation(
        model=model.outputs["result"], examples=examples.outputs["result"],
        sample_size=10, background_size=10, model_name="penguins", report_dir=str(reports),
    ).with_id("ModelExplanation")
    fairness = FairnessGate(
        model=model.outputs["result"], examples=examples.outputs["result"],
        model_blessing=evaluator_blessing.outputs["result"],
        label=cfg.label, sensitive_columns_json=json.dumps(list(cfg.slices)),
        max_accuracy_gap=cfg.fairness.max_accuracy_gap, model_name="penguins", report_dir=str(reports),
    ).with_id("FairnessGate")
    strict = FairnessGate(
        model=model.outputs["result"], examples=examples.outputs["result"],
        model_blessing=evaluator_blessing.outputs["result"],
        label=cfg.label, sensitive_columns_json=json.dumps(list(cfg.slices)),
        max_accuracy_gap=0.0, min_group_size=1,
    ).with_id("StrictFairnessGate")
    compress = ModelCompression(
        model=model.outputs["result"], examples=examples.outputs["result"], label=cfg.label,
        variants_json=json.dumps(list(cfg.compress.variants)), accuracy_budget=cfg.compress.accuracy_budget,
        prune=0, distill=0, report_dir=str(reports),
    ).with_id("ModelCompression")
    metadata_path = str(tmp_path / "metadata.sqlite")
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="explain-fairness-compress-adapters",
        pipeline_root=str(tmp_path / "root"),
        components=[model, examples, evaluator_blessing, explain, fairness, strict, compress],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path),
        enable_cache=False,
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)

    for name in ("explain", "fairness", "compress"):
        assert (reports / name / "index.html").is_file(), name
    assert json.loads((reports / "explain" / "attributions.json").read_text())["ranking"]
    assert json.loads((reports / "fairness" / "result.json").read_text())["passed"] is True
    table = json.loads((reports / "compress" / "report.json").read_text())
    assert table["best"] and {v["name"] for v in table["variants"]} == {"float32", *cfg.compress.variants}
    best = list((tmp_path / "root" / "ModelCompression" / "compressed").glob("*/best/model.tflite"))
    assert len(best) == 1

    blessings = _blessings(metadata_path)
    ours = {uri: p for uri, p in blessings.items() if "FairnessGate" in uri}
    passed = next(p for uri, p in ours.items() if "/FairnessGate/" in uri)
    failed = next(p for uri, p in ours.items() if "/StrictFairnessGate/" in uri)
    assert passed["blessed"] == 1 and passed["current_model_id"] == 12345
    assert failed["blessed"] == 0 and failed["fairness_passed"] == 0 and failed["upstream_blessed"] == 1
    assert "accuracy gap" in failed["blessing_message"]
    assert list((tmp_path / "root" / "StrictFairnessGate" / "blessing").glob("*/NOT_BLESSED"))
