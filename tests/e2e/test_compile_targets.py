"""`mlops compile --target local|kfp|vertex` as a process: what each target writes, what it refuses.

OSS KFP reads ``resources.accelerator`` as a Kubernetes resource name and node placement from the
platform spec (second YAML document); Vertex AI wants its own accelerator type and loads the file
with ``yaml.safe_load`` (one document). A remote target refuses, with exit 2 and the key to set,
what its cluster cannot use: an image it cannot pull, a root TF cannot open, a push destination
or data on this machine.
"""

from __future__ import annotations

import pytest
import yaml

from pipelines.config import VERTEX_GPU_TYPES
from tests.cli import mlops

pytestmark = pytest.mark.e2e

CONFIG = "pipelines/configs/penguins.yaml"
IMAGE = "us-docker.pkg.dev/example-project/mlops/mlops-pipelines:test"
REMOTE = ["--image", IMAGE, "--pipeline-root", "gs://example-bucket/root", "--set", "push.destination=gs://example-bucket/models"]
GPU = ["--set", "model.gpus=1"]


def _compile(tmp_path, *args: str):
    out = tmp_path / "spec.yaml"
    proc = mlops("compile", "--config", CONFIG, "--output", str(out), *args)
    return proc, out


def _trainer_resources(doc: dict) -> dict:
    return doc["deploymentSpec"]["executors"]["Trainer_executor"]["container"]["resources"]


def test_vertex_target_is_one_document_with_a_vertex_accelerator_that_aiplatform_loads(tmp_path):
    from google.cloud.aiplatform.utils import yaml_utils

    proc, out = _compile(tmp_path, "--target", "vertex", *REMOTE, *GPU)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(yaml.safe_load_all(out.read_text()))) == 1
    spec = yaml_utils.load_yaml(str(out))  # what PipelineJob(template_path=...) does with a local file
    accel = _trainer_resources(spec)["accelerator"]
    assert accel["type"] == accel["resourceType"] == "NVIDIA_TESLA_T4" and int(accel["count"]) == 1
    assert spec["defaultPipelineRoot"] == "gs://example-bucket/root"
    for name, executor in spec["deploymentSpec"]["executors"].items():
        res = executor["container"]["resources"]
        assert {"resourceCpuLimit", "resourceMemoryLimit", "cpuLimit", "memoryLimit"} <= set(res), name


def test_kfp_target_requests_the_kubernetes_gpu_resource_and_places_the_trainer(tmp_path):
    proc, out = _compile(tmp_path, "--target", "kfp", *REMOTE, *GPU,
                         "--set", "kubeflow.resources={components: {Trainer: {memory_limit: 32Gi}}}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    spec, platform = yaml.safe_load_all(out.read_text())
    res = _trainer_resources(spec)
    assert res["accelerator"]["type"] == res["accelerator"]["resourceType"] == "nvidia.com/gpu"
    # The configured limit, as the KFP compiler writes it: the string the 2.17 driver reads
    # first, and the deprecated number in GB.
    assert res["resourceMemoryLimit"] == "32Gi" and res["memoryLimit"] == pytest.approx(34.359738368)
    assert res["resourceCpuRequest"] == "2"  # the built-in Trainer size where the config says nothing
    placement = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["Trainer_executor"]
    assert placement["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_the_config_key_sets_the_default_target(tmp_path):
    proc, out = _compile(tmp_path, *REMOTE, *GPU, "--set", "kubeflow.target=vertex")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (spec,) = yaml.safe_load_all(out.read_text())
    assert _trainer_resources(spec)["accelerator"]["type"] == "NVIDIA_TESLA_T4"


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_remote_targets_refuse_a_local_image(tmp_path, target):
    proc, out = _compile(tmp_path, "--target", target, *REMOTE, "--image", "mlops-pipelines:latest")
    assert proc.returncode == 2, proc.stderr[-3000:]
    paragraph = proc.stderr.strip().split("\n\n")[-1]
    assert "kubeflow.image" in paragraph and "mlops-pipelines:latest" in paragraph and "--image" in paragraph
    assert "Traceback" not in proc.stderr and not out.exists()


def test_remote_target_names_every_key_a_cluster_cannot_use(tmp_path):
    proc, out = _compile(tmp_path, "--target", "kfp", "--image", IMAGE, "--pipeline-root", "minio://mlpipeline/v2",
                         "--set", "data.uri=data/penguins.csv", *GPU, "--set", "kubeflow.gpu.accelerator_type=NVIDIA_TESLA_T4")
    assert proc.returncode == 2, proc.stderr[-3000:]
    text = " ".join(proc.stderr.split())
    for expected in ("minio://", "--pipeline-root gs://", "push.destination 'runs/models'", "data.uri 'data/penguins.csv'",
                     "kubeflow.gpu.accelerator_type 'NVIDIA_TESLA_T4'", "nvidia.com/gpu"):
        assert expected in text, text
    assert "kubeflow.image" not in text  # the registry image is fine
    assert "Traceback" not in proc.stderr and not out.exists()


def test_resources_for_a_task_the_pipeline_lacks_are_refused(tmp_path):
    proc, out = _compile(tmp_path, "--target", "vertex", *REMOTE, "--set", "kubeflow.resources={components: {Trainr: {cpu_limit: 4}}}")
    assert proc.returncode == 2 and "Trainr" in proc.stderr and "Trainer" in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_vertex_gpu_names_are_vertex_ai_accelerator_types():
    """The config's list (checked at load, in the Airflow venv too) against aiplatform's enum."""
    from google.cloud.aiplatform_v1.types import AcceleratorType

    assert set(VERTEX_GPU_TYPES) <= set(AcceleratorType.__members__)


def test_task_resources_layer_built_in_default_and_per_task_and_refuse_request_over_limit():
    from pipelines.config import TaskResources, load_config
    from pipelines.kubeflow import targets

    cfg = load_config(CONFIG, {"kubeflow.resources": {"default": {"memory_limit": "6G"},
                                                      "components": {"Trainer": {"cpu_limit": 8}}}})
    assert targets.task_resources(cfg, "DataGate") == TaskResources("1", "2", "2G", "6G")
    assert targets.task_resources(cfg, "Trainer") == TaskResources("2", "8", "4G", "6G")
    # The default limit (6G) is below Transform's built-in request (8G): refused, with the key to set.
    (problem,) = targets.request_over_limit(cfg, ["DataGate", "Trainer", "Transform"])
    assert problem.startswith("Transform's memory request 8G is above its limit 6G")
    assert "kubeflow.resources.components.Transform.memory_request" in problem
