"""What a compile target needs: kfp.local (``local``), open-source KFP (``kfp``), Vertex AI (``vertex``).

The three backends read the same PipelineSpec differently at run time (read from kubeflow/pipelines
2.17 ``backend/src/v2`` and google-cloud-aiplatform; ../shared/notes/kubeflow.md, docs/kubeflow.md):

* the image must be pullable by the cluster: a registry path, not a tag of this machine's daemon;
* TFX opens artifact URIs with TF's gfile, which opens ``gs://`` (and local paths, which only
  kfp.local shares between tasks): a remote target needs a ``gs://`` pipeline root;
* the push destination and the data are read by task pods: a path on this machine is not there;
* OSS KFP's driver uses ``resources.accelerator`` as the Kubernetes resource name
  (``nvidia.com/gpu``); Vertex wants one of its ``AcceleratorType`` names; aiplatform reads the
  file with ``yaml.safe_load``, so a Vertex spec is one YAML document (no platform spec);
* with no CPU/memory requests a pod gets the namespace defaults, which can kill Transform;
* where the cluster's object store is one TF cannot open (Azure Blob), ``kubeflow.pipeline_volume``
  names a PVC every ``kfp`` task mounts at the launcher's folder of a ``minio://``/``s3://`` root:
  the root, push destination and data may then be on that volume (``pipelines/kubeflow/volume.py``).

``remote_problems`` says what a config lacks for a remote target; ``apply_target`` writes the
target's accelerator and resources into the compiled spec and returns the YAML documents.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.config import PipelineConfig, TaskResources
from pipelines.kubeflow import volume

TARGETS = ("local", "kfp", "vertex")
REMOTE_TARGETS = ("kfp", "vertex")
# Sizes for penguins and the 1M-row benchmark (docs/benchmarks.md: pandas holds ~1.2 GiB at 1M
# rows in ingest; Beam's in-memory DirectRunner holds the dataset in Transform, StatisticsGen and
# the Evaluator): every task, then the heavy ones. kubeflow.resources wins over both.
BUILTIN_RESOURCES = TaskResources(cpu_request="1", cpu_limit="2", memory_request="2G", memory_limit="4G")
BUILTIN_COMPONENT_RESOURCES = {
    "DataIngest": TaskResources(memory_request="4G", memory_limit="8G"),
    "StatisticsGen": TaskResources(memory_request="4G", memory_limit="8G"),
    "Transform": TaskResources(cpu_request="2", cpu_limit="4", memory_request="8G", memory_limit="16G"),
    "Trainer": TaskResources(cpu_request="2", cpu_limit="4", memory_request="4G", memory_limit="8G"),
    "Evaluator": TaskResources(cpu_request="2", cpu_limit="4", memory_request="8G", memory_limit="16G"),
}
# A registry host as Docker reads an image name: the first path part has a dot or a port, or is localhost.
_REGISTRY_HOST = re.compile(r"^(localhost(:\d+)?|[^/]*[.:][^/]*)$")


class TargetError(ValueError):
    """The config cannot be compiled for the target; ``problems`` each name a key and the fix."""

    def __init__(self, target: str, problems: list[str]):
        super().__init__(f"Not compiled for target '{target}': " + " ".join(problems))
        self.target = target
        self.problems = problems


def _is_local(uri: str) -> bool:
    return "://" not in uri


def remote_problems(cfg: PipelineConfig, target: str, pipeline_root: str) -> list[str]:
    """Why the config cannot run on ``target`` (empty: it can, or ``target`` is ``local``)."""
    if target not in REMOTE_TARGETS:
        return []
    out = []
    image = cfg.kubeflow.image
    first = image.split("/", 1)[0]
    if "/" not in image or not _REGISTRY_HOST.match(first):
        out.append(
            f"kubeflow.image {image!r} is not a registry path, so the cluster cannot pull it: push the "
            "image and pass --image <registry>/mlops-pipelines:<tag> (e.g. "
            "us-docker.pkg.dev/<project>/<repo>/mlops-pipelines:<tag>) or set kubeflow.image."
        )
    vol = cfg.kubeflow.pipeline_volume
    if vol is not None:
        out += _volume_problems(cfg, target, pipeline_root)
    elif not pipeline_root.startswith("gs://"):
        scheme = "a local path" if _is_local(pipeline_root) else f"a {pipeline_root.split('://', 1)[0]}:// URI"
        out.append(
            f"The pipeline root {pipeline_root!r} is {scheme}: TFX opens artifacts with TF's gfile, which in "
            "the image opens gs:// only (and local paths, which task pods do not share); pass "
            "--pipeline-root gs://<bucket>/<root> or set kubeflow.pipeline_root"
            + (" (or vertex.pipeline_root)." if target == "vertex" else ".")
        )
    if _is_local(cfg.push.destination) and not on_volume(cfg, target, cfg.push.destination):
        out.append(
            f"push.destination {cfg.push.destination!r} is a path on this machine; in a task pod it is an "
            "ephemeral disk gone after the task: set push.destination to gs://<bucket>/models "
            "(or s3://), e.g. --set push.destination=gs://<bucket>/models."
        )
    if _is_local(cfg.data.uri) and not on_volume(cfg, target, cfg.data.uri):
        out.append(
            f"data.uri {cfg.data.uri!r} is a path on this machine, which task pods cannot read: set "
            "data.uri to gs://, s3:// or package:// (e.g. --set data.uri=gs://<bucket>/data.csv); the "
            "runners pass the run's data_uri at submit time, this is the spec's default."
        )
    gpu = cfg.kubeflow.gpu
    if target == "kfp" and cfg.model.gpus > 0 and "/" not in gpu.accelerator_type:
        out.append(
            f"kubeflow.gpu.accelerator_type {gpu.accelerator_type!r} is not a Kubernetes resource name, which "
            "open-source KFP requests it as: set it to nvidia.com/gpu (a Vertex type such as "
            "NVIDIA_TESLA_T4 goes in kubeflow.gpu.vertex_accelerator_type)."
        )
    return out


def on_volume(cfg: PipelineConfig, target: str, uri: str) -> bool:
    """Whether ``uri`` lies on the ``kfp`` target's pipeline volume (a path under its mount, or an
    object-store URI whose launcher path is under it)."""
    vol = cfg.kubeflow.pipeline_volume
    return target == "kfp" and vol is not None and volume.volume_path(uri, vol.mount_path) is not None


def _volume_problems(cfg: PipelineConfig, target: str, pipeline_root: str) -> list[str]:
    """What ``kubeflow.pipeline_volume`` needs: the ``kfp`` target, and a root KFP's driver accepts
    whose launcher path is on the volume (a local root fails in the driver before any task)."""
    vol = cfg.kubeflow.pipeline_volume
    if target != "kfp":
        return [f"kubeflow.pipeline_volume ({vol.claim_name}) is mounted by the kfp target only; {target} mounts "
                "no PVC: compile with --target kfp, or leave the volume out and use a gs:// pipeline root."]
    example = f"minio://{vol.mount_path.split('/')[2]}/pipeline-root" if vol.mount_path.startswith("/minio/") else "minio://<bucket>/pipeline-root"
    if _is_local(pipeline_root):
        return [f"The pipeline root {pipeline_root!r} is a path: Kubeflow Pipelines 2.17's driver accepts only gs://, "
                f"s3:// and minio:// roots and fails the run on a path. With kubeflow.pipeline_volume mounted at "
                f"{vol.mount_path}, pass the root as the URI whose launcher path is on the volume, e.g. "
                f"--pipeline-root {example}."]
    if not on_volume(cfg, target, pipeline_root):
        return [f"The pipeline root {pipeline_root!r} is not on kubeflow.pipeline_volume: KFP's launcher keeps its files at "
                f"{volume.launcher_path(pipeline_root) or 'no local path'}, outside {vol.mount_path}, and TF cannot "
                f"open the URI itself; pass --pipeline-root {example} (or mount the volume at that root's "
                "launcher folder, /minio/<bucket>)."]
    return []


def task_resources(cfg: PipelineConfig, task: str) -> TaskResources:
    """The task's effective CPU/memory: built-in, built-in for the task, ``kubeflow.resources.default``,
    ``kubeflow.resources.components.<task>``; each set field wins over the ones before."""
    layers = (BUILTIN_RESOURCES, BUILTIN_COMPONENT_RESOURCES.get(task), cfg.kubeflow.resources.default,
              cfg.kubeflow.resources.components.get(task))
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer is not None:
            merged.update({k: str(v) for k, v in vars(layer).items() if v is not None})
    return TaskResources(**merged)


def request_over_limit(cfg: PipelineConfig, tasks: list[str]) -> list[str]:
    """Tasks whose effective request exceeds their limit, which Kubernetes refuses to schedule
    (e.g. ``default.memory_limit`` set below a built-in request)."""
    from kfp.compiler.compiler_utils import _cpu_to_float, _memory_to_float

    out = []
    for task in tasks:
        res = task_resources(cfg, task)
        for kind, to_float in (("cpu", _cpu_to_float), ("memory", _memory_to_float)):
            request, limit = getattr(res, f"{kind}_request"), getattr(res, f"{kind}_limit")
            if request and limit and to_float(request) > to_float(limit):
                out.append(
                    f"{task}'s {kind} request {request} is above its limit {limit}, which Kubernetes refuses: set "
                    f"kubeflow.resources.components.{task}.{kind}_request (or raise its {kind}_limit)."
                )
    return out


def _resource_spec(res: TaskResources, accelerator: tuple[str, int] | None) -> dict[str, Any]:
    """``PipelineContainerSpec.ResourceSpec`` as KFP 2.17's compiler writes it
    (``kfp/compiler/pipeline_spec_builder.py``): the ``resource*`` strings the 2.17 driver reads
    first (``driver.go``, getPodResource) and the deprecated numbers (cores, GB) older backends
    and Vertex read."""
    from google.protobuf import json_format
    from kfp.compiler.compiler_utils import _cpu_to_float, _memory_to_float
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
    for side in ("request", "limit"):
        cpu, memory = getattr(res, f"cpu_{side}"), getattr(res, f"memory_{side}")
        if cpu is not None:
            setattr(spec, f"resource_cpu_{side}", cpu)
            setattr(spec, f"cpu_{side}", _cpu_to_float(cpu))
        if memory is not None:
            setattr(spec, f"resource_memory_{side}", memory)
            setattr(spec, f"memory_{side}", _memory_to_float(memory))
    if accelerator is not None:
        kind, count = accelerator
        spec.accelerator.type, spec.accelerator.count = kind, count
        spec.accelerator.resource_type, spec.accelerator.resource_count = kind, str(count)
    return json_format.MessageToDict(spec)


def _task_of_executor(pipeline_spec: dict[str, Any]) -> dict[str, str]:
    """{executor label: task id} (TFX names each component and its task after the node id)."""
    return {c["executorLabel"]: name for name, c in pipeline_spec.get("components", {}).items() if "executorLabel" in c}


def apply_target(pipeline_spec: dict[str, Any], cfg: PipelineConfig, target: str) -> list[dict[str, Any]]:
    """Writes the target's accelerator and resources into ``pipeline_spec``; returns the YAML documents.

    ``local``: the spec as TFX wrote it (the configured accelerator type) plus, with a GPU, the
    Kubernetes platform spec. ``kfp``: CPU/memory on every task, ``nvidia.com/gpu``-style
    accelerator and the platform spec (node selector, tolerations). ``vertex``: CPU/memory, the
    Vertex accelerator type, and no second document.

    Raises:
        TargetError: ``kubeflow.resources.components`` names a task the pipeline does not have,
            or a task's request would exceed its limit.
    """
    executors = pipeline_spec.get("deploymentSpec", {}).get("executors", {})
    tasks = _task_of_executor(pipeline_spec)
    gpus = cfg.model.gpus
    if target in REMOTE_TARGETS:
        unknown = sorted(set(cfg.kubeflow.resources.components) - set(tasks.values()))
        problems = [f"kubeflow.resources.components names {', '.join(unknown)}, not a task of this pipeline; "
                    f"the tasks are {', '.join(sorted(tasks.values()))}."] if unknown else []
        problems += request_over_limit(cfg, sorted(tasks.values()))
        if problems:
            raise TargetError(target, problems)
        accel_type = cfg.kubeflow.gpu.vertex_accelerator_type if target == "vertex" else cfg.kubeflow.gpu.accelerator_type
        for label, executor in executors.items():
            container = executor.get("container")
            if container is None:
                continue
            task = tasks.get(label, label)
            has_gpu = "accelerator" in container.get("resources", {})
            container["resources"] = _resource_spec(task_resources(cfg, task), (accel_type, gpus) if has_gpu else None)
    docs = [pipeline_spec]
    vol = cfg.kubeflow.pipeline_volume if target == "kfp" else None
    if vol is not None:
        for executor in executors.values():
            if "container" in executor:
                executor["container"]["env"] = [{"name": volume.ENV, "value": vol.mount_path}]
    if (gpus > 0 and target != "vertex") or vol is not None:
        docs.append(_platform_spec(cfg, pipeline_spec, gpu=gpus > 0, mount=vol))
    return docs


def _platform_spec(cfg: PipelineConfig, pipeline_spec: dict[str, Any], gpu: bool, mount: Any) -> dict[str, Any]:
    """kfp-kubernetes platform spec: node selector and tolerations for the Trainer executor (``gpu``),
    and the pipeline volume's PVC on every container executor (``mount``), as kfp-kubernetes 2.17's
    ``mount_pvc`` writes it (``pvcNameParameter``, which the 2.17 driver reads first)."""
    executors = pipeline_spec.get("deploymentSpec", {}).get("executors", {})
    configs: dict[str, dict[str, Any]] = {}
    if mount is not None:
        # A fresh mapping per executor: a shared one would be dumped as a YAML anchor and aliases.
        configs = {name: {"pvcMount": [{
            "constant": mount.claim_name,  # deprecated; drivers older than pvcNameParameter read it
            "mountPath": mount.mount_path,
            "pvcNameParameter": {"runtimeValue": {"constant": mount.claim_name}},
        }]} for name, ex in executors.items() if "container" in ex}
    if gpu:
        trainer_exec = next((k for k in executors if k.startswith("Trainer")), "Trainer_executor")
        configs.setdefault(trainer_exec, {}).update({
            "nodeSelector": {"labels": dict(cfg.kubeflow.gpu.node_selector)},
            "tolerations": [dict(t) for t in cfg.kubeflow.gpu.tolerations],
        })
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": configs}}}}
