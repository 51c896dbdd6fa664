"""``compile_kubeflow``: the pipeline as a KFP PipelineSpec 2.1 YAML (Kubeflow Pipelines, Vertex AI).

TFX's ``KubeflowV2DagRunner`` writes the spec; this module completes it as KFP's own compiler
would (runtime parameters' defaults, the pipeline root), fits it to the compile target
(``pipelines.kubeflow.targets``: accelerator, CPU/memory, platform spec) and checks it against
the backends' rules (``pipelines.kubeflow.conformance``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from pipelines.config import PipelineConfig
from pipelines.pipeline import create_pipeline, runtime_parameters


def compile_kubeflow(
    cfg: PipelineConfig, output: str, pipeline_root: str | None = None, target: str | None = None
) -> str:
    """Compiles the pipeline to a KFP PipelineSpec 2.1 YAML for kfp.local, Kubeflow Pipelines or Vertex AI.

    Every task runs ``pipelines.kubeflow.entrypoint`` in the project image; ``data_uri``,
    ``data_fingerprint`` and ``serving_version`` are runtime parameters
    (``pipelines.pipeline.runtime_parameters``). The target (``pipelines.kubeflow.targets``)
    decides the accelerator fields, CPU/memory and whether a Kubernetes platform spec (second YAML
    document) is written; a remote target refuses what its cluster cannot use. The spec is
    checked against the backends' rules (``pipelines.kubeflow.conformance``) before it is written.

    Args:
        cfg: The pipeline config.
        output: The YAML file to write.
        pipeline_root: Overrides the configured root (a local path is made absolute).
        target: ``local``, ``kfp`` or ``vertex``; None: ``kubeflow.target``.

    Returns:
        ``output``.

    Raises:
        targets.TargetError: The config cannot run on the remote target (nothing is compiled).
        conformance.NonConformingSpec: The spec or the pipeline root would fail on a backend.
    """
    from tfx import v1 as tfx

    from pipelines.kubeflow import conformance, entrypoint, targets

    target = target or cfg.kubeflow.target
    root = pipeline_root or (cfg.vertex.pipeline_root if target == "vertex" else None) or cfg.kubeflow.pipeline_root
    root = root if "://" in root else os.path.abspath(root)
    problems = targets.remote_problems(cfg, target, root)
    if problems:
        raise targets.TargetError(target, problems)
    vol = cfg.kubeflow.pipeline_volume if target == "kfp" else None
    root_problem = conformance.pipeline_root_problem(root, vol.mount_path if vol else None)
    if root_problem:
        raise conformance.NonConformingSpec([root_problem])  # before anything is compiled against it
    pipeline = create_pipeline(cfg, pipeline_root=root, code_version="", for_kubeflow=True)
    tmp = Path(output).with_suffix(".json.tmp")
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=cfg.kubeflow.image,
            default_commands=entrypoint.COMMAND,
            use_pipeline_spec_2_1=True,
        ),
        output_dir=str(tmp.parent),
        output_filename=tmp.name,
    )
    runner.run(pipeline, write_out=True)
    spec = json.loads(tmp.read_text())
    tmp.unlink()
    pipeline_spec = spec.get("pipelineSpec", spec)
    # Drop what changes on every compile so the golden file diff shows only real changes.
    pipeline_spec.get("sdkVersion") and pipeline_spec.pop("sdkVersion")
    _declare_defaults(pipeline_spec, cfg, root)
    docs = targets.apply_target(pipeline_spec, cfg, target)
    conformance.check(pipeline_spec)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as fh:
        yaml.safe_dump_all(docs, fh, sort_keys=True)
    return output


def _declare_defaults(pipeline_spec: dict[str, Any], cfg: PipelineConfig, root: str) -> None:
    """Puts the runtime parameters' defaults and the pipeline root into the PipelineSpec.

    TFX writes them only into the PipelineJob's ``runtimeConfig``, which a compiled YAML does
    not carry; KFP's own compiler writes them as the root's ``defaultValue`` and
    ``defaultPipelineRoot``, which is what the KFP UI, ``kfp.Client`` and Vertex read (the OSS
    backend fills a run's missing parameters from them: ``argocompiler/argo.go``).
    """
    defaults = {p.name: p.default for p in runtime_parameters(cfg)}
    params = pipeline_spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, value in defaults.items():
        if name in params:
            params[name].update({"defaultValue": value, "isOptional": True})
    pipeline_spec["defaultPipelineRoot"] = root
