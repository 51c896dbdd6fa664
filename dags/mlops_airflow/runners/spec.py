"""The compiled pipeline spec (KFP v2 PipelineSpec YAML) that the kubeflow and vertex runners submit.

Where it is (:func:`compiled_spec`: ``kubeflow.package_path``, default what ``make compile``
writes, compiled on demand in the project image), what runtime parameters it declares, and the
parameters a remote run is sent (:func:`remote_parameters`: always the validated ``data_uri``).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from pathlib import Path
from typing import Any, Mapping

import yaml

from mlops_airflow import REPO_ROOT
from mlops_airflow.runners.interface import RunRequest
from mlops_airflow.runners.local import image_command
from mlops_airflow.runners.outcome import RunnerError, last_paragraph
from mlops_airflow.settings import resolve_repo_path

log = logging.getLogger(__name__)


def default_package_path(config_rel: str) -> str:
    """Where ``make compile`` writes the spec: ``build/<config stem>_pipeline.yaml``."""
    return f"build/{Path(config_rel).stem}_pipeline.yaml"


def compiled_spec(request: RunRequest) -> Path:
    """The spec at ``kubeflow.package_path`` (or the default); compiled first when it is missing."""
    package_rel = request.pipeline.kubeflow.package_path or default_package_path(request.config)
    path = resolve_repo_path(package_rel)
    if not path.is_file():
        log.info("no compiled spec at %s; compiling it", path)
        compile_pipeline(request.config, package_rel)
    return path


def compile_pipeline(config_rel: str, package_rel: str, image: str | None = None, repo_root: Path = REPO_ROOT) -> Path:
    """Runs ``mlops compile`` in the project image (used when no compiled spec exists yet)."""
    (repo_root / package_rel).parent.mkdir(parents=True, exist_ok=True)
    cmd = image_command(["mlops", "compile", "--config", config_rel, "--output", package_rel], image=image, repo_root=repo_root)
    log.info("compiling: %s", " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RunnerError(f"mlops compile failed ({res.returncode}): {last_paragraph(res.stderr.splitlines())}")
    return repo_root / package_rel


def load_pipeline_spec(path: str | Path) -> dict[str, Any]:
    """The PipelineSpec (first YAML document; KFP may append a platform spec)."""
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    if not docs or not isinstance(docs[0], dict):
        raise RunnerError(f"{path}: not a compiled pipeline spec")
    return docs[0]


def yaml_documents(path: str | Path) -> int:
    """How many non-empty YAML documents the file holds (KFP may append a platform spec)."""
    return sum(1 for d in yaml.safe_load_all(Path(path).read_text()) if d)


def spec_digest(path: str | Path) -> str:
    """The sha256 of the spec file, hex (KFP pipeline versions are named after it)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def declared_parameters(spec: Mapping[str, Any]) -> set[str]:
    """Names of the pipeline's runtime parameters (``root.inputDefinitions.parameters``)."""
    params = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    return set(params)


def pick_parameters(spec: Mapping[str, Any], candidates: Mapping[str, Any]) -> dict[str, Any]:
    """Keeps only the candidates that the compiled pipeline declares (others would be rejected)."""
    declared = declared_parameters(spec)
    return {k: v for k, v in candidates.items() if k in declared and v is not None}


def remote_parameters(spec: Mapping[str, Any], data_uri: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The runtime parameters for a remote run: the validated ``data_uri`` plus ``extra``.

    The compiled spec must declare ``data_uri`` (``make compile`` does): a remote run has to
    train on exactly the data the DAG validated, and without the parameter it would read
    whatever URI was compiled in. Extra values the spec does not declare are logged and dropped
    (KFP and Vertex reject undeclared parameters).
    """
    declared = declared_parameters(spec)
    if "data_uri" not in declared:
        raise RunnerError(
            "the compiled pipeline spec declares no runtime parameter 'data_uri', so the run could not be "
            "told to train on the data this DAG validated; recompile it (make compile)"
        )
    offered = {**dict(extra or {}), "data_uri": data_uri}
    sent = pick_parameters(spec, offered)
    _log_dropped(offered, sent)
    return sent


def _log_dropped(offered: Mapping[str, Any], sent: Mapping[str, Any]) -> None:
    dropped = sorted(k for k, v in offered.items() if v is not None and k not in sent)
    if dropped:
        log.info(
            "not sent (the compiled pipeline declares no such runtime parameter; the values "
            "compiled into the spec apply): %s",
            ", ".join(dropped),
        )


def warn_local_data(data_uri: str, runner: str) -> None:
    """Logs that a worker-local data path must exist for the remote pipeline too."""
    if "://" not in data_uri:
        log.warning(
            "%s runner: data_uri %s is a path on this worker; the remote pipeline must see the same path "
            "(use s3:// or gs:// data for a remote run)",
            runner,
            data_uri,
        )
