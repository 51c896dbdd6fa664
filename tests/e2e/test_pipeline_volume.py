"""`mlops compile --target kfp` with `kubeflow.pipeline_volume` (Azure: the artifact container mounted
through the Blob CSI driver), as a process, and the compiled tasks fed what the KFP 2.17 driver sends.

KFP 2.17's driver accepts only gs://, s3:// and minio:// roots, and its launcher keeps a task's files
at /minio/<bucket>/... for a minio:// root (pipelines/kubeflow/volume.py has the sources). With the
PVC mounted there, every task's artifacts must be paths on the volume: the spec mounts the PVC in
every task and names the mount in every container's environment; the entrypoint maps each artifact
URI onto it; a root, push destination or target that cannot work that way is refused (exit 2).
"""

from __future__ import annotations

import itertools
import json

import pytest
import yaml

from pipelines.kubeflow import conformance, entrypoint, volume
from tests import kfp_backend as kfp
from tests.cli import mlops
from tests.e2e.test_kfp_driver_executor_input import _argv, _parse, _recorded

pytestmark = pytest.mark.e2e

CONFIG = "pipelines/configs/penguins.yaml"
IMAGE = "example.azurecr.io/mlops-pipelines:test"
MOUNT = "/minio/mlpipeline"
ROOT = "minio://mlpipeline/pipeline-root"
VOLUME = ["--set", f"kubeflow.pipeline_volume={{claim_name: mlops-artifacts, mount_path: {MOUNT}}}"]
AZURE = ["--image", IMAGE, "--pipeline-root", ROOT, *VOLUME, "--set", f"push.destination={MOUNT}/models"]


def _compile(tmp_path, *args: str):
    out = tmp_path / "spec.yaml"
    return mlops("compile", "--config", CONFIG, "--output", str(out), *args), out


@pytest.fixture(scope="module")
def azure_gpu_spec(tmp_path_factory):
    proc, out = _compile(tmp_path_factory.mktemp("azure"), "--target", "kfp", *AZURE, "--set", "model.gpus=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(yaml.safe_load_all(out.read_text()))


def test_every_task_mounts_the_volume_and_names_it_and_the_trainer_keeps_its_placement(azure_gpu_spec):
    spec, platform = azure_gpu_spec
    assert spec["defaultPipelineRoot"] == ROOT
    executors = spec["deploymentSpec"]["executors"]
    placed = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(placed) == {name for name, ex in executors.items() if "container" in ex} and len(placed) >= 15
    for name, config in placed.items():
        (pvc,) = config["pvcMount"]
        # As kfp-kubernetes 2.17's mount_pvc writes it: pvcNameParameter (read first) and the deprecated constant.
        assert pvc == {"constant": "mlops-artifacts", "mountPath": MOUNT,
                       "pvcNameParameter": {"runtimeValue": {"constant": "mlops-artifacts"}}}, name
        assert executors[name]["container"]["env"] == [{"name": volume.ENV, "value": MOUNT}], name
    trainer = placed["Trainer_executor"]
    assert trainer["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert executors["Trainer_executor"]["container"]["resources"]["accelerator"]["type"] == "nvidia.com/gpu"
    assert conformance.spec_volume_mount(spec) == MOUNT and conformance.problems(spec) == []


def test_without_a_gpu_the_platform_spec_still_mounts_the_volume(tmp_path):
    proc, out = _compile(tmp_path, "--target", "kfp", *AZURE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert "&id" not in text and "*id" not in text, "every executor gets its own mapping, not a YAML alias"
    spec, platform = yaml.safe_load_all(text)
    placed = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert all(set(c) == {"pvcMount"} for c in placed.values())
    assert "accelerator" not in spec["deploymentSpec"]["executors"]["Trainer_executor"]["container"]["resources"]


def test_every_task_reads_and_writes_on_the_volume_what_the_driver_sends(azure_gpu_spec, monkeypatch):
    """The executor input the 2.17 driver builds for a minio:// root (tests/kfp_backend.py), through the
    entrypoint with the spec's mount, parsed by TFX: every artifact a path under the mount, the output
    file there too, and what a task records (TFX reports the paths) is what the next one reads."""
    spec = azure_gpu_spec[0]
    monkeypatch.setattr(kfp, "PIPELINE_ROOT", ROOT)
    params = kfp.run_parameters(spec, {"data_uri": "package://mlops_data/penguins.csv"})
    produced: dict = {}
    ids = itertools.count(101)
    tasks = kfp.container_tasks(spec)
    for task in kfp.task_order(spec):
        container = tasks[task]["container"]
        mount = next(e["value"] for e in container["env"] if e["name"] == volume.ENV)
        executor_input = kfp.executor_input(spec, task, params, produced, salt=f"uuid-{task}")
        assert executor_input["outputs"]["outputFile"].startswith(f"{MOUNT}/pipeline-root/{task}/")
        patched, changed = entrypoint.patch_argv(_argv(container, executor_input), mount)
        assert any("pipeline volume" in line for line in changed), changed
        _proto, inputs, outputs, _props, names = _parse(patched)
        for key, (artifact,) in {**inputs, **outputs}.items():
            assert artifact.uri.startswith(f"{MOUNT}/pipeline-root/"), (task, key, artifact.uri)
        for key, (artifact,) in outputs.items():
            assert artifact.uri == f"{MOUNT}/pipeline-root/{task}/uuid-{task}/{key}"
        invocation = json.loads(patched[patched.index(entrypoint.INVOCATION_FLAG) + 1])
        assert entrypoint.local_output_parents(invocation) == [f"{MOUNT}/pipeline-root/{task}/uuid-{task}"]
        for key, artifact in _recorded(outputs, names, ids).items():
            assert artifact.uri.startswith(MOUNT)  # the launcher skips uploading a path URI
            produced[(task, key)] = artifact
    assert len(produced) >= 15


def test_an_artifact_off_the_volume_stops_the_task_with_the_root_to_send():
    executor_input = {"outputs": {"artifacts": {"examples": {"artifacts": [{"uri": "minio://other/root/x/1/examples"}]}}}}
    with pytest.raises(volume.NotOnVolume, match="not on the pipeline volume mounted at /minio/mlpipeline"):
        volume.map_artifacts(executor_input, MOUNT)
    assert volume.volume_path(f"{MOUNT}/../etc", MOUNT) is None
    assert volume.volume_path("s3://mlpipeline/x", "/s3/mlpipeline") == "/s3/mlpipeline/x"


@pytest.mark.parametrize(
    "args,expected",
    [
        # A local root: the 2.17 driver fails the run on it; the URI whose launcher path is the mount works.
        (["--pipeline-root", f"{MOUNT}/pipeline-root"], ["is a path", "--pipeline-root minio://mlpipeline/pipeline-root"]),
        (["--pipeline-root", "minio://other/pipeline-root"], ["not on kubeflow.pipeline_volume", "/minio/other/pipeline-root"]),
        (["--set", "push.destination=/data/models"], ["push.destination '/data/models'"]),
        (["--target", "vertex"], ["kubeflow.pipeline_volume (mlops-artifacts)", "--target kfp"]),
    ],
)
def test_what_cannot_work_on_the_volume_is_refused_with_the_key_to_set(tmp_path, args, expected):
    proc, out = _compile(tmp_path, "--target", "kfp", *AZURE, *args)
    assert proc.returncode == 2, proc.stderr[-3000:]
    text = " ".join(proc.stderr.split())
    for fragment in expected:
        assert fragment in text, text
    assert "Traceback" not in proc.stderr and not out.exists()


@pytest.mark.parametrize(
    "value,key",
    [("{claim_name: Mlops_Artifacts, mount_path: /minio/mlpipeline}", "kubeflow.pipeline_volume.claim_name"),
     ("{claim_name: mlops-artifacts, mount_path: minio/mlpipeline}", "kubeflow.pipeline_volume.mount_path"),
     ("{claim_name: mlops-artifacts, mount_path: /minio}", "kubeflow.pipeline_volume.mount_path")],
)
def test_a_bad_volume_is_refused_at_config_load(tmp_path, value, key):
    proc, out = _compile(tmp_path, "--target", "kfp", "--set", f"kubeflow.pipeline_volume={value}")
    assert proc.returncode == 2 and key in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()
