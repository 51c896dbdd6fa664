"""The same config on two runners, in one session: kfp.local's DockerRunner on the exact
compiled YAML (one container per task) vs LocalDagRunner in one process.

Both start from an empty pipeline root and push destination, so neither reuses a cache. The
ratio kfp.local / LocalDagRunner is the price of one process start (imports included) per task.

Usage (in the project image, with the Docker socket and the repo at its host path, as
`make test-image` mounts them):
    python -m benchmarks.kfp_local_vs_local [--config pipelines/configs/penguins.yaml]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="pipelines/configs/penguins.yaml")
    args = parser.parse_args()

    from kfp import components, local

    from pipelines.config import load_config
    from pipelines.kubeflow.compiler import compile_kubeflow
    from pipelines.local.run import run_local

    host_repo = Path(os.environ.get("MLOPS_HOST_REPO", REPO))
    root = host_repo / ".build" / "bench-kfp-local"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cfg = load_config(REPO / args.config)
    kfp_cfg = cfg.replace(
        kubeflow=dataclasses.replace(cfg.kubeflow, image=os.environ.get("MLOPS_IMAGE", "mlops-pipelines:latest")),
        push=dataclasses.replace(cfg.push, destination=str(root / "kfp" / "models")),
    )
    spec = compile_kubeflow(kfp_cfg, str(root / "kfp" / "spec.yaml"), pipeline_root=str(root / "kfp"))
    local.init(runner=local.DockerRunner(user=f"{os.getuid()}:{os.getgid()}"), pipeline_root=str(root / "kfp"), raise_on_error=True)
    started = time.monotonic()
    components.load_component_from_file(spec)()
    kfp_s = time.monotonic() - started

    local_cfg = cfg.replace(push=dataclasses.replace(cfg.push, destination=str(root / "local" / "models")))
    started = time.monotonic()
    summary = run_local(local_cfg, str(root / "local" / "run"))
    local_s = time.monotonic() - started
    assert summary.status == "succeeded", summary.reason
    result = {"config": args.config, "kfp_local_s": round(kfp_s, 1), "local_dag_runner_s": round(local_s, 1),
              "ratio": round(kfp_s / local_s, 2), "cpus": os.cpu_count()}
    print(json.dumps(result, indent=2))
    out = REPO / "benchmarks" / "results" / "kfp_local_vs_local.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    code = main()
    import sys

    sys.stdout.flush()
    os._exit(code)
