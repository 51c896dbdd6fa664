"""Turn ``terraform output -json`` of an environment into the pipeline's cloud settings.

The roots ``terraform/aws``, ``terraform/gcp`` and ``terraform/azure`` (each applied per environment
with ``-var-file=env/<env>.tfvars``) expose the same output names, so one conversion serves all::

    terraform -chdir=terraform/aws output -json > out.json
    python -m pipelines.cloud_settings --tf-output out.json --image-tag 1.4.0 > cloud.yaml

prints a YAML fragment for the pipeline config::

    push:
      destination: s3://<bucket>/models
    kubeflow:
      image: <registry>/<namespace>/mlops-pipelines:<tag>
      pipeline_root: s3://<bucket>/pipeline-root
      gpu:
        node_selector: {<label>: <value>}
        tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
        accelerator_type: nvidia.com/gpu          # or nvidia-tesla-t4 etc. on GCP
    cloud:
      provider: aws                                # or gcp, azure
      region: ...
      service_account: <IAM role ARN, Google service account email or managed identity client ID>

On Azure the pipeline root is KFP's ``minio://mlpipeline/pipeline-root`` and the push destination a
path under the mounted artifact container, and ``kubeflow.pipeline_volume`` names the PVC every
task mounts there (docs/kubeflow.md, Azure).

Pure Python: the standard library plus PyYAML (only for ``--format yaml``). It never
imports TensorFlow, so it runs on an operator's machine next to ``terraform``.

Exit codes: 0 success, 2 unusable input (the message names the file and the output), 1 other.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

try:
    from pipelines.exit_codes import ExitCode
except ModuleNotFoundError:  # run as a file (`python pipelines/cloud_settings.py`, .venv-infra): the
    # repository root is not on sys.path; exit_codes.py is plain Python beside this file.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pipelines.exit_codes import ExitCode

EXIT_OK, EXIT_ERROR, EXIT_USAGE = ExitCode.OK, ExitCode.OTHER, ExitCode.USAGE

PROVIDERS = ("aws", "gcp", "azure")
# Azure: the root is KFP's own minio:// bucket, whose launcher folder is the mounted container.
SCHEMES = {"aws": "s3://", "gcp": "gs://", "azure": "minio://"}

# Outputs every environment must have, and the one naming the pipeline pods' identity.
COMMON_OUTPUTS = (
    "cloud_provider",
    "region",
    "push_destination",
    "pipeline_root",
    "image_repository_url",
    "gpu_node_selector",
    "gpu_accelerator_type",
)
IDENTITY_OUTPUT = {"aws": "pipeline_role_arn", "gcp": "pipeline_service_account_email", "azure": "pipeline_identity_client_id"}
# Outputs only one provider has: Azure's artifacts are on a PVC every task mounts.
PROVIDER_OUTPUTS = {"azure": ("pipeline_volume",)}

DEFAULT_TOLERATIONS = ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)

_DOCKER_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")
_GSA_EMAIL_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$")
_AWS_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
_GCP_REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_AZURE_REGION_RE = re.compile(r"^[a-z]+[a-z0-9]*$")
_CLIENT_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_REGION_RES = {"aws": _AWS_REGION_RE, "gcp": _GCP_REGION_RE, "azure": _AZURE_REGION_RE}
_IDENTITY_RES = {"aws": (_ROLE_ARN_RE, "an IAM role ARN"), "gcp": (_GSA_EMAIL_RE, "a Google service account email"),
                 "azure": (_CLIENT_ID_RE, "a managed identity client ID (GUID)")}
_TOLERATION_OPERATORS = ("Exists", "Equal")
_TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class TerraformOutputError(ValueError):
    """The Terraform output cannot be turned into cloud settings; the message says why."""


def load_terraform_outputs(path: str | Path) -> dict[str, Any]:
    """Reads a ``terraform output -json`` file and returns ``{name: value}``.

    Args:
        path: The JSON file, or ``-`` for standard input.

    Raises:
        TerraformOutputError: The file is missing, not JSON, or not shaped like
            ``{"name": {"sensitive": ..., "type": ..., "value": ...}}``.
    """
    source = "<stdin>" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TerraformOutputError(f"{source}: cannot read Terraform output: {exc.strerror}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerraformOutputError(
            f"{source}: not JSON ({exc.msg} at line {exc.lineno}); write it with `terraform output -json > FILE`"
        ) from exc
    return outputs_from_json(raw, source)


def outputs_from_json(raw: Any, source: str = "<terraform output>") -> dict[str, Any]:
    """Unwraps parsed ``terraform output -json`` data into ``{name: value}``."""
    if not isinstance(raw, dict):
        raise TerraformOutputError(
            f"{source}: expected a JSON object of outputs as `terraform output -json` writes, got {type(raw).__name__}"
        )
    if not raw:
        raise TerraformOutputError(
            f"{source}: holds no outputs; run `terraform apply` in the environment before `terraform output -json`"
        )
    values: dict[str, Any] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise TerraformOutputError(
                f"{source}: output {name!r} is not of the form "
                '{"sensitive": ..., "type": ..., "value": ...}; '
                "use `terraform output -json` (all outputs), not `terraform output -json NAME`"
            )
        values[name] = entry["value"]
    return values


def build_cloud_settings(
    outputs: Mapping[str, Any],
    image_tag: str = "latest",
    source: str = "<terraform output>",
    include_cloud: bool = True,
) -> dict[str, Any]:
    """Maps Terraform outputs to the pipeline config fragment.

    Args:
        outputs: ``{name: value}`` as returned by :func:`load_terraform_outputs`.
        image_tag: Tag of the pipeline image in the environment's registry.
        source: Where the outputs came from, for error messages.
        include_cloud: Whether to add the ``cloud`` section (provider, region, identity).

    Returns:
        A plain dict with ``push``, ``kubeflow`` and (optionally) ``cloud`` sections.

    Raises:
        TerraformOutputError: A required output is missing or holds an unusable value.
    """
    if "cloud_provider" not in outputs:
        raise TerraformOutputError(
            f"{source}: missing output 'cloud_provider'; is this `terraform output -json` of an "
            "environment of terraform/aws, terraform/gcp or terraform/azure?"
        )
    provider = outputs["cloud_provider"]
    if provider not in PROVIDERS:
        raise TerraformOutputError(f"{source}: output 'cloud_provider' is {provider!r}; expected one of {', '.join(PROVIDERS)}")

    required = (*COMMON_OUTPUTS, IDENTITY_OUTPUT[provider], *PROVIDER_OUTPUTS.get(provider, ()))
    missing = [name for name in required if name not in outputs]
    if missing:
        raise TerraformOutputError(
            f"{source}: missing output{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"(needed for {provider}); check the environment's outputs.tf and re-run `terraform apply`"
        )

    def string(name: str) -> str:
        value = outputs[name]
        if not isinstance(value, str) or not value.strip():
            raise TerraformOutputError(f"{source}: output {name!r} must be a non-empty string, got {value!r}")
        return value.strip()

    scheme = SCHEMES[provider]
    destination = string("push_destination").rstrip("/")
    pipeline_root = string("pipeline_root").rstrip("/")
    volume = _pipeline_volume(outputs["pipeline_volume"], source) if provider == "azure" else None
    for name, uri in (("push_destination", destination), ("pipeline_root", pipeline_root)):
        if volume is not None and name == "push_destination":
            if not _under(uri, volume["mount_path"]):
                raise TerraformOutputError(
                    f"{source}: output 'push_destination' is {uri!r}; on azure it must be a path under the "
                    f"pipeline volume's mount_path {volume['mount_path']}")
        elif not uri.startswith(scheme) or len(uri) <= len(scheme):
            raise TerraformOutputError(f"{source}: output {name!r} is {uri!r}; on {provider} it must start with {scheme}<bucket>")
    # KFP's launcher keeps a minio://<bucket>/... root's files at /minio/<bucket>/...: that must be the volume.
    if volume is not None and not _under("/minio/" + pipeline_root[len(scheme):], volume["mount_path"]):
        raise TerraformOutputError(
            f"{source}: output 'pipeline_root' is {pipeline_root!r}, whose launcher path is not under the pipeline "
            f"volume's mount_path {volume['mount_path']}")

    region = string("region")
    if not _REGION_RES[provider].match(region):
        raise TerraformOutputError(f"{source}: output 'region' is {region!r}, which is not an {provider} region")

    repo = string("image_repository_url").rstrip("/")
    if "://" in repo or ":" in repo.rsplit("/", 1)[-1] or "@" in repo:
        raise TerraformOutputError(
            f"{source}: output 'image_repository_url' is {repo!r}; expected a repository path without "
            "scheme, tag or digest (e.g. REGISTRY/NAMESPACE/mlops-pipelines)"
        )
    if not _DOCKER_TAG_RE.match(image_tag):
        raise TerraformOutputError(
            f"--image-tag {image_tag!r} is not a valid image tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"
        )

    selector = outputs["gpu_node_selector"]
    if (
        not isinstance(selector, dict)
        or not selector
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in selector.items())
    ):
        raise TerraformOutputError(f"{source}: output 'gpu_node_selector' must be a non-empty map of strings, got {selector!r}")

    tolerations = outputs.get("gpu_tolerations", DEFAULT_TOLERATIONS)
    tolerations = [_toleration(t, i, source) for i, t in enumerate(_as_list(tolerations, "gpu_tolerations", source))]

    accelerator = string("gpu_accelerator_type")

    identity_name = IDENTITY_OUTPUT[provider]
    identity = string(identity_name)
    identity_re, what = _IDENTITY_RES[provider]
    if not identity_re.match(identity):
        raise TerraformOutputError(f"{source}: output {identity_name!r} is {identity!r}, which is not {what}")

    settings: dict[str, Any] = {
        "push": {"destination": destination},
        "kubeflow": {
            "image": f"{repo}:{image_tag}",
            "pipeline_root": pipeline_root,
            "gpu": {
                "node_selector": dict(selector),
                "tolerations": tolerations,
                "accelerator_type": accelerator,
            },
        },
    }
    if volume is not None:
        settings["kubeflow"]["pipeline_volume"] = volume
    if include_cloud:
        settings["cloud"] = {"provider": provider, "region": region, "service_account": identity}
    return settings


def _pipeline_volume(value: Any, source: str) -> dict[str, str]:
    """``{claim_name, mount_path}`` from the Azure output ``pipeline_volume``."""
    if (not isinstance(value, dict) or not isinstance(value.get("claim_name"), str) or not value["claim_name"]
            or not isinstance(value.get("mount_path"), str) or not value["mount_path"].startswith("/")):
        raise TerraformOutputError(
            f"{source}: output 'pipeline_volume' must be a map with a non-empty 'claim_name' and an absolute "
            f"'mount_path', got {value!r}")
    return {"claim_name": value["claim_name"], "mount_path": value["mount_path"].rstrip("/")}


def _under(path: str, mount: str) -> bool:
    return path == mount or path.startswith(mount + "/")


def _as_list(value: Any, name: str, source: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TerraformOutputError(f"{source}: output {name!r} must be a list, got {value!r}")


def _toleration(value: Any, index: int, source: str) -> dict[str, str]:
    where = f"{source}: output 'gpu_tolerations'[{index}]"
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise TerraformOutputError(f"{where} must be a map with a 'key', got {value!r}")
    operator = value.get("operator", "Equal")
    effect = value.get("effect")
    if operator not in _TOLERATION_OPERATORS:
        raise TerraformOutputError(f"{where}: operator {operator!r} must be one of {', '.join(_TOLERATION_OPERATORS)}")
    if effect not in _TOLERATION_EFFECTS:
        raise TerraformOutputError(f"{where}: effect {effect!r} must be one of {', '.join(_TOLERATION_EFFECTS)}")
    toleration = {"key": value["key"], "operator": operator, "effect": effect}
    if operator == "Equal":
        toleration = {"key": value["key"], "operator": operator, "value": str(value.get("value", "")), "effect": effect}
    return toleration


def render(settings: Mapping[str, Any], fmt: str = "yaml", source: str | None = None) -> str:
    """Renders the settings as YAML (with a provenance comment) or JSON."""
    if fmt == "json":
        return json.dumps(settings, indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown format {fmt!r}")
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is in every project venv
        raise TerraformOutputError("--format yaml needs PyYAML (pip install pyyaml); use --format json without it") from exc
    header = f"# Generated by `python -m pipelines.cloud_settings` from {source}.\n" if source else ""
    return header + yaml.safe_dump(dict(settings), sort_keys=False, default_flow_style=False)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines.cloud_settings",
        description="Print the pipeline config's cloud settings (push, kubeflow, cloud) from `terraform output -json` of an environment.",
    )
    p.add_argument("--tf-output", required=True, metavar="FILE", help="`terraform output -json` of an environment ('-' reads stdin)")
    p.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default: yaml)")
    p.add_argument("--image-tag", default="latest", help="tag of the pipeline image in the registry (default: latest)")
    p.add_argument(
        "--no-cloud",
        action="store_true",
        help="leave out the `cloud` section (provider, region, service_account), e.g. for a config schema without it",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    source = "<stdin>" if args.tf_output == "-" else args.tf_output
    try:
        outputs = load_terraform_outputs(args.tf_output)
        settings = build_cloud_settings(outputs, image_tag=args.image_tag, source=source, include_cloud=not args.no_cloud)
        text = render(settings, args.format, source=source)
    except TerraformOutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.image_tag == "latest":
        print(
            "note: image tag 'latest': the ECR/Artifact Registry repositories have immutable tags (ACR: tag each build), "
            "so push each build under its own tag and pass it with --image-tag",
            file=sys.stderr,
        )
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
    else:
        sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
