"""Least privilege: the project image runs as an unprivileged user, the one the KServe manifest
declares, and `make`'s containers run as the caller, so nothing under the repo becomes root's.

Needs the Docker socket that `make test-image` mounts (the image is inspected and started).
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _image() -> str:
    if not Path("/var/run/docker.sock").exists():
        pytest.fail("run through `make test-image`: it mounts the Docker socket")
    return os.environ.get("MLOPS_IMAGE", "mlops-pipelines:latest")


def test_image_runs_as_the_unprivileged_user_of_the_kserve_manifest():
    import docker

    client = docker.from_env()
    image = _image()
    user = client.images.get(image).attrs["Config"]["User"]
    assert user == "10001:10001"
    out = client.containers.run(image, ["sh", "-c", "id -u; id -g; echo $HOME; touch $HOME/ok && echo writable"], remove=True)
    assert out.decode().split() == ["10001", "10001", "/tmp", "writable"]
    docs = list(yaml.safe_load_all((REPO / "infra" / "k8s" / "inferenceservice.yaml").read_text()))
    predictor = next(d for d in docs if d and d.get("kind") == "InferenceService")["spec"]["predictor"]
    ctx = predictor["containers"][0]["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 10001


def test_make_runs_containers_as_the_caller():
    """`make -n` prints the docker command lines: every one maps the caller's uid and gid."""
    proc = subprocess.run(["make", "-n", "-C", str(REPO), "demo", "compile", "serve"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MAKEFLAGS": ""})
    runs = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("docker run")]
    assert len(runs) >= 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert all(f"--user {os.getuid()}:{os.getgid()}" in line for line in runs), runs


def test_the_image_user_can_create_the_kfp_launchers_output_folders():
    """KFP 2.17's launcher makes each output's folder under /gcs, /minio or /s3 as the container's
    user before the task runs (backend/src/v2/component/launcher_v2.go, prepareOutputFolders):
    as uid 10001 under a root-owned / every task of a real run would fail there."""
    import docker

    script = ("for d in /gcs/bucket /minio/mlpipeline /s3/bucket; do "
              "mkdir -p $d/pipeline-root/penguins/run-1/Trainer/model && echo $d; done")
    out = docker.from_env().containers.run(_image(), ["sh", "-c", script], remove=True)
    assert out.decode().split() == ["/gcs/bucket", "/minio/mlpipeline", "/s3/bucket"]
