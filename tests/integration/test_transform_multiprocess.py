"""The pipeline's Transform under Beam's multi-process DirectRunner with two workers.

Workers are separate Python processes: they must import the module code (``preprocessing_fn``)
by path from the image, as Dataflow/Flink/Spark workers using the project image as their SDK
container do. TFX's module-file packaging failed here with
``ModuleNotFoundError: No module named 'user_module_0'``.
"""

import pytest
import yaml

from tests.configs import PENGUINS_CONFIG, fast_config

pytestmark = [pytest.mark.slow]

MULTI = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def test_transform_runs_on_two_worker_processes(tmp_path):
    import tensorflow_transform as tft
    from tfx.dsl.compiler import compiler
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.proto.orchestration import pipeline_pb2

    from pipelines.config import load_config
    from pipelines.pipeline import create_pipeline, run_paths

    raw = yaml.safe_load(PENGUINS_CONFIG.read_text())
    raw["beam"] = {"runner": "DirectRunner", "args": MULTI}
    cfg = load_config(fast_config(tmp_path, raw))
    paths = run_paths(str(tmp_path / "run"))
    full = create_pipeline(cfg, paths.pipeline_root, paths.metadata_path)
    assert all(a in full.beam_pipeline_args for a in MULTI)
    # The pipeline as assembled, run up to Transform (a partial run: Transform and its upstream).
    ir = compiler.Compiler().compile(full)
    options = pipeline_pb2.RunOptions()
    options.partial_run.to_nodes.append("Transform")
    LocalDagRunner().run_with_ir(ir, run_options=options)

    graphs = list((tmp_path / "run" / "pipeline_root" / "Transform" / "transform_graph").iterdir())
    assert len(graphs) == 1
    out = tft.TFTransformOutput(str(graphs[0]))
    assert set(out.vocabulary_by_name("label_vocab")) == {b"Adelie", b"Chinstrap", b"Gentoo"}
    assert {f"{f.name}_xf" for f in cfg.features} <= set(out.transformed_feature_spec())
    transformed = list((tmp_path / "run" / "pipeline_root" / "Transform" / "transformed_examples").glob("*/Split-*/*"))
    assert transformed, "no transformed examples were written"
