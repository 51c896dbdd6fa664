"""The pipeline volume: artifacts on a PVC every compiled task mounts (``kubeflow.pipeline_volume``).

For clusters whose object store TF's gfile cannot open, such as an Azure Blob container mounted
through the Blob CSI driver (docs/kubeflow.md, Azure). Read from kubeflow/pipelines at 2.17.0:

* the driver accepts only ``gs://``, ``s3://``, ``minio://`` (and ``mem://``) pipeline roots
  (``backend/src/v2/objectstore/config.go`` ParseBucketPathToConfig; ``driver/root_dag.go`` fails
  the run on anything else, a local path included, before the first task);
* the launcher keeps each task's files at the local path of its URI (``component/launcher_v2.go``
  LocalPathForURI: ``gs://b/k`` -> ``/gcs/b/k``, ``minio://b/k`` -> ``/minio/b/k``, ``s3://b/k`` ->
  ``/s3/b/k``), creates the output folders there and reads the task's ``output_metadata.json``
  from there;
* it uploads an output only when the executor's reported URI has such a scheme, and downloads an
  input only when its URI has one (a plain path is skipped with a warning).

So with the PVC mounted at the launcher path of the root's bucket (``/minio/mlpipeline`` for the
root ``minio://mlpipeline/pipeline-root``), the entrypoint hands TFX the local path of every
artifact URI, on the volume. TFX reports those paths as the outputs' URIs, so the launcher
uploads nothing, KFP's metadata records the paths, and downstream tasks read the same files.
The compiled spec names the mount in every container's environment (``ENV``).
"""

from __future__ import annotations

import posixpath
from typing import Any

#: Set on every container of a ``kfp`` spec compiled with ``kubeflow.pipeline_volume``: its mount path.
ENV = "MLOPS_PIPELINE_VOLUME"
#: The KFP 2.17 launcher's local path of each object-store scheme (``LocalPathForURI``).
LAUNCHER_PREFIXES = (("gs://", "/gcs/"), ("minio://", "/minio/"), ("s3://", "/s3/"))


class NotOnVolume(ValueError):
    """An artifact URI of the run does not lie on the mounted pipeline volume."""


def launcher_path(uri: str) -> str | None:
    """The local path KFP's launcher gives an object-store URI; None for other schemes and paths."""
    for scheme, prefix in LAUNCHER_PREFIXES:
        if uri.startswith(scheme):
            return prefix + uri[len(scheme):]
    return None


def is_under(path: str, mount: str) -> bool:
    """Whether the absolute ``path`` is ``mount`` or inside it (no ``..`` escapes)."""
    path, mount = posixpath.normpath(path), posixpath.normpath(mount)
    return posixpath.isabs(path) and (path == mount or path.startswith(mount.rstrip("/") + "/"))


def volume_path(uri: str, mount: str) -> str | None:
    """Where ``uri`` lies on the volume mounted at ``mount``: a path under it as is, an object-store
    URI by its launcher path; None when it is not on the volume."""
    path = uri if "://" not in uri else launcher_path(uri)
    return path if path is not None and is_under(path, mount) else None


def map_artifacts(executor_input: dict[str, Any], mount: str) -> list[str]:
    """Rewrites every input and output artifact URI to its path on the volume (in place).

    Returns:
        ``"<input|output> <key>: <uri> -> <path>"`` for each URI changed.

    Raises:
        NotOnVolume: An artifact URI lies elsewhere (the run was sent another pipeline root).
    """
    changed = []
    for side in ("inputs", "outputs"):
        for key, artifact_list in executor_input.get(side, {}).get("artifacts", {}).items():
            for artifact in artifact_list.get("artifacts", []):
                uri = artifact.get("uri", "")
                if not uri:
                    continue
                path = volume_path(uri, mount)
                if path is None:
                    raise NotOnVolume(
                        f"{side[:-1]} artifact '{key}' is at {uri!r}, which is not on the pipeline volume mounted "
                        f"at {mount}: send the run the pipeline root the spec was compiled with (its launcher path "
                        f"must lie under {mount}, e.g. minio://<bucket>/pipeline-root for /minio/<bucket>)"
                    )
                if path != uri:
                    artifact["uri"] = path
                    changed.append(f"{side[:-1]} {key}: {uri} -> {path}")
    return changed
