"""The stock-style peer pipeline, built and run as TFX's penguin example does."""

from __future__ import annotations

import os
from pathlib import Path

MODULE = str(Path(__file__).resolve().parent / "penguin_module.py")


def run(data_dir: str, out_dir: str, hp: dict, slices: list[str], beam_args: list[str]) -> None:
    """Runs CsvExampleGen -> ... -> Pusher on LocalDagRunner into ``out_dir``."""
    from tfx import v1 as tfx

    example_gen = tfx.components.CsvExampleGen(input_base=data_dir)
    stats = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema = tfx.components.SchemaGen(statistics=stats.outputs["statistics"], infer_feature_shape=True)
    validator = tfx.components.ExampleValidator(statistics=stats.outputs["statistics"], schema=schema.outputs["schema"])
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema.outputs["schema"], module_file=MODULE)
    trainer = tfx.components.Trainer(
        module_file=MODULE, examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"], schema=schema.outputs["schema"], custom_config=hp)
    resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    eval_config = _eval_config(slices)
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=resolver.outputs["model"], eval_config=eval_config)
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=os.path.join(out_dir, "serving"))))
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="peer-penguin", pipeline_root=os.path.join(out_dir, "root"),
        components=[example_gen, stats, schema, validator, transform, trainer, resolver, evaluator, pusher],
        enable_cache=True,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(out_dir, "metadata.sqlite")),
        beam_pipeline_args=beam_args,
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)


def _eval_config(slices):
    """TFMA 0.52 keeps its config classes in ``proto.config_pb2`` only."""
    from tensorflow_model_analysis.proto import config_pb2 as c

    return c.EvalConfig(
        model_specs=[c.ModelSpec(signature_name="serving_default", label_key="species_xf",
                                 preprocessing_function_names=["transform_features"])],
        slicing_specs=[c.SlicingSpec()] + [c.SlicingSpec(feature_keys=[s]) for s in slices],
        metrics_specs=[c.MetricsSpec(metrics=[
            c.MetricConfig(class_name="SparseCategoricalAccuracy", threshold=c.MetricThreshold(
                value_threshold=c.GenericValueThreshold(lower_bound={"value": 0.0}),
                change_threshold=c.GenericChangeThreshold(direction=c.MetricDirection.HIGHER_IS_BETTER,
                                                          absolute={"value": -1e-10}))),
            c.MetricConfig(class_name="ExampleCount"),
        ])],
    )


def main(argv=None) -> int:
    """``python -m benchmarks.peer.pipeline --data-dir D --out-dir O --hp JSON --slices a,b``."""
    import argparse
    import json

    p = argparse.ArgumentParser(description=run.__doc__)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--hp", required=True, help="JSON: hidden_units, learning_rate, batch_size, epochs")
    p.add_argument("--slices", default="")
    p.add_argument("--beam-arg", action="append", default=["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    args = p.parse_args(argv)
    run(args.data_dir, args.out_dir, json.loads(args.hp), [s for s in args.slices.split(",") if s], args.beam_arg)
    return 0


if __name__ == "__main__":
    import sys

    code = main()
    sys.stdout.flush()
    os._exit(code)  # TFT/Beam objects can segfault at interpreter shutdown
