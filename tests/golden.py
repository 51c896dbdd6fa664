"""Golden compiled KFP specs: regenerate with `make golden` (python -m tests.golden in the image).

A diff between a fresh compile and the golden file fails `tests/e2e/test_kubeflow_compile.py`;
it is never rewritten silently. Review the diff, then regenerate.
"""

from __future__ import annotations

import sys
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
# The pipeline root is written into the spec; a fixed local root keeps it byte-stable (on a
# cluster you compile against gs://).
GOLDEN_ROOT = "/tmp/mlops-golden-root"
GOLDEN_IMAGE = "registry.example.com/mlops-pipelines:golden"
# Remote targets: what a real cluster needs (a registry image, gs:// root and push destination).
# Compiling writes nothing under the root (the module code is imported from the image), so no
# bucket needs to exist: the golden compile runs without network.
REMOTE_ROOT = "gs://example-bucket/pipeline-root"
REMOTE_IMAGE = "us-docker.pkg.dev/example-project/mlops/mlops-pipelines:golden"
REMOTE_OVERRIDES = {"push.destination": "gs://example-bucket/models"}
GKE_T4 = {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
# name: (config, overrides, target)
CASES = {
    "penguins_pipeline.yaml": ("pipelines/configs/penguins.yaml", {}, "local"),
    "penguins_gpu_pipeline.yaml": (
        "pipelines/configs/penguins.yaml",
        {"model.gpus": 1, "kubeflow.gpu": {"accelerator_type": "NVIDIA_TESLA_T4", "node_selector": GKE_T4}},
        "local",
    ),
    "penguins_gpu_kfp.yaml": (
        "pipelines/configs/penguins.yaml",
        {**REMOTE_OVERRIDES, "model.gpus": 1, "kubeflow.gpu": {"node_selector": GKE_T4}},
        "kfp",
    ),
    "penguins_gpu_vertex.yaml": (
        "pipelines/configs/penguins.yaml",
        {**REMOTE_OVERRIDES, "model.gpus": 1, "kubeflow.gpu": {"vertex_accelerator_type": "NVIDIA_TESLA_T4"}},
        "vertex",
    ),
}


def compile_case(name: str, output: Path) -> Path:
    """Compiles one golden case to ``output``."""
    import dataclasses

    from pipelines.config import load_config
    from pipelines.kubeflow.compiler import compile_kubeflow

    repo = GOLDEN_DIR.parent.parent
    config, overrides, target = CASES[name]
    remote = target != "local"
    cfg = load_config(repo / config, overrides)
    cfg = cfg.replace(kubeflow=dataclasses.replace(cfg.kubeflow, image=REMOTE_IMAGE if remote else GOLDEN_IMAGE))
    compile_kubeflow(cfg, str(output), pipeline_root=REMOTE_ROOT if remote else GOLDEN_ROOT, target=target)
    return output


def main() -> int:
    for name in CASES:
        path = compile_case(name, GOLDEN_DIR / name)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    import os

    os._exit(code)
