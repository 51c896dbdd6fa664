"""``compile_kubeflow``: the pipeline as a KFP PipelineSpec 2.1 YAML (Kubeflow Pipelines, Vertex AI).

TFX's ``KubeflowV2DagRunner`` writes the spec; this module completes it as KFP's own compiler
would (runtime parameters' defaults, the pipeline root), checks it against the backends' rules
(``pipelines.kubeflow.conformance``) and adds the Kubernetes platform spec of a GPU Trainer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from pipelines.config import PipelineConfig
from pipelines.pipeline import create_pipeline, data_uri_parameter


def compile_kubeflow(cfg: PipelineConfig, output: str, pipeline_root: str | None = None) -> str:
    """Compiles the pipeline to a KFP PipelineSpec 2.1 YAML for Kubeflow Pipelines or Vertex AI.

    Every task runs ``pipelines.kubeflow.entrypoint`` in the project image; the data URI is a
    runtime parameter (``data_uri``, the config's value by default). When ``model.gpus > 0`` the
    Trainer requests the accelerator, and a Kubernetes platform spec (second YAML document, as
    the KFP compiler writes it) adds node selector/tolerations. The spec is checked against the
    backends' rules (``pipelines.kubeflow.conformance``) before it is written.

    Args:
        cfg: The pipeline config.
        output: The YAML file to write.
        pipeline_root: Overrides ``kubeflow.pipeline_root`` (a local path is made absolute).

    Returns:
        ``output``.

    Raises:
        conformance.NonConformingSpec: The spec or the pipeline root would fail on a backend.
    """
    from tfx import v1 as tfx

    from pipelines.kubeflow import conformance, entrypoint

    root = pipeline_root or cfg.kubeflow.pipeline_root
    root = root if "://" in root else os.path.abspath(root)
    root_problem = conformance.pipeline_root_problem(root)
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
    conformance.check(pipeline_spec)
    docs = [pipeline_spec]
    if cfg.model.gpus > 0:
        docs.append(_gpu_platform_spec(cfg, pipeline_spec))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as fh:
        yaml.safe_dump_all(docs, fh, sort_keys=True)
    return output


def _declare_defaults(pipeline_spec: dict[str, Any], cfg: PipelineConfig, root: str) -> None:
    """Puts the runtime parameters' defaults and the pipeline root into the PipelineSpec.

    TFX writes them only into the PipelineJob's ``runtimeConfig``, which a compiled YAML does
    not carry; KFP's own compiler writes them as the root's ``defaultValue`` and
    ``defaultPipelineRoot``, which is what the KFP UI, ``kfp.Client`` and Vertex read.
    """
    defaults = {p.name: p.default for p in (data_uri_parameter(cfg),)}
    params = pipeline_spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, value in defaults.items():
        if name in params:
            params[name].update({"defaultValue": value, "isOptional": True})
    pipeline_spec["defaultPipelineRoot"] = root


def _gpu_platform_spec(cfg: PipelineConfig, pipeline_spec: dict[str, Any]) -> dict[str, Any]:
    """kfp-kubernetes platform spec: node selector and tolerations for the Trainer executor."""
    executors = pipeline_spec.get("deploymentSpec", {}).get("executors", {})
    trainer_exec = next((k for k in executors if k.startswith("Trainer")), "Trainer_executor")
    gpu = cfg.kubeflow.gpu
    return {
        "platforms": {
            "kubernetes": {
                "deploymentSpec": {
                    "executors": {
                        trainer_exec: {
                            "nodeSelector": {"labels": dict(gpu.node_selector)},
                            "tolerations": [dict(t) for t in gpu.tolerations],
                        }
                    }
                }
            }
        }
    }
