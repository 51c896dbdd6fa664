"""`terraform output -json` -> pipeline cloud settings (pipelines/cloud_settings.py).

The recorded outputs under tests/infra/data/ are hand-written in the exact shape
`terraform output -json` prints; the tests check they stay in step with the roots'
outputs.tf and that the conversion gives the expected YAML (golden files).

Regenerate the golden files after an intended change with:
    for c in aws gcp azure; do .venv-infra/bin/python -m pipelines.cloud_settings \
      --tf-output tests/infra/data/$c-dev.tf-output.json --image-tag 0.1.0 \
      > tests/infra/data/$c-dev.cloud-settings.yaml; done
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tfparse import DATA_DIR, REPO_ROOT, TERRAFORM_DIR, named

_spec = importlib.util.spec_from_file_location("mlops_cloud_settings", REPO_ROOT / "pipelines" / "cloud_settings.py")
cs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cs)

CLOUDS = ("aws", "gcp", "azure")


def recorded(cloud: str) -> dict:
    return json.loads((DATA_DIR / f"{cloud}-dev.tf-output.json").read_text())


def run_cli(*args: str, stdin: str | None = None, module: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pipelines.cloud_settings", *args] if module else [sys.executable, "pipelines/cloud_settings.py", *args]
    return subprocess.run(cmd, cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------------------
# The recorded outputs match the Terraform environments
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_recorded_output_has_terraform_output_json_shape(cloud):
    raw = recorded(cloud)
    for name, entry in raw.items():
        assert set(entry) == {"sensitive", "type", "value"}, f"{name}: not shaped like terraform output -json"
        assert entry["sensitive"] is False
        t = entry["type"]
        assert t in ("string", "number", "bool") or (isinstance(t, list) and t[0] in ("object", "tuple", "list", "map")), name
    assert list(raw) == sorted(raw), "terraform output -json lists outputs sorted by name"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_root_outputs_match_the_recording_and_the_converter(cloud):
    outputs = set(named(TERRAFORM_DIR / cloud, "output"))
    assert outputs == set(recorded(cloud)), (
        f"terraform/{cloud}/outputs.tf and tests/infra/data/{cloud}-dev.tf-output.json disagree: "
        f"only in outputs.tf {sorted(outputs - set(recorded(cloud)))}, only in the recording {sorted(set(recorded(cloud)) - outputs)}"
    )
    needed = set(cs.COMMON_OUTPUTS) | {cs.IDENTITY_OUTPUT[cloud], "gpu_tolerations", *cs.PROVIDER_OUTPUTS.get(cloud, ())}
    assert needed <= outputs, f"cloud_settings needs outputs {sorted(needed - outputs)} from terraform/{cloud}"


@pytest.mark.parametrize("cloud", ("aws", "gcp"))
def test_module_constants_match_the_recording(cloud):
    """Values fixed in the module (provider, GPU label/taint) are what the recording shows (Azure's
    taint and label: test_infra_gpu_placement.py)."""
    values = cs.outputs_from_json(recorded(cloud))
    assert values["cloud_provider"] == cloud
    module = TERRAFORM_DIR / "modules" / f"{cloud}_gpu_training"
    assert named(module, "output")["cloud_provider"]["value"] == cloud
    main = (module / "main.tf").read_text()
    for key in values["gpu_node_selector"]:
        assert f'"{key}"' in main, f"node selector label {key!r} is not what {module.name} sets"
    assert values["gpu_tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]
    assert '"nvidia.com/gpu"' in main and '"NO_SCHEDULE"' in main


# --------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cli_output_matches_golden_yaml(cloud):
    result = run_cli("--tf-output", f"tests/infra/data/{cloud}-dev.tf-output.json", "--image-tag", "0.1.0")
    assert result.returncode == 0, result.stderr
    golden = (DATA_DIR / f"{cloud}-dev.cloud-settings.yaml").read_text()
    assert result.stdout == golden, "output changed; if intended, regenerate the golden file (see module docstring)"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_settings_content(cloud):
    settings = cs.build_cloud_settings(cs.outputs_from_json(recorded(cloud)), image_tag="abc123")
    assert list(settings) == ["push", "kubeflow", "cloud"]
    scheme = cs.SCHEMES[cloud]
    kf = settings["kubeflow"]
    assert kf["pipeline_root"].startswith(scheme) and kf["pipeline_root"].endswith("/pipeline-root")
    assert kf["image"].endswith("/mlops-pipelines:abc123")
    nvidia = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    if cloud == "azure":
        # Pushed models are a path on the artifact container every task mounts at KFP's launcher
        # folder of the minio:// root; dev's Spot pool adds AKS's Spot taint to tolerate.
        assert settings["push"]["destination"] == "/minio/mlpipeline/models"
        assert kf["pipeline_volume"] == {"claim_name": "mlops-artifacts", "mount_path": "/minio/mlpipeline"}
        assert kf["gpu"]["tolerations"] == [nvidia, {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Exists", "effect": "NoSchedule"}]
        assert kf["gpu"]["accelerator_type"] == "nvidia.com/gpu" and kf["image"].startswith("mlopsdev5e3c9a1f.azurecr.io/")
        assert settings["cloud"] == {"provider": "azure", "region": "westeurope", "service_account": "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"}
        return
    assert settings["push"]["destination"].startswith(scheme) and settings["push"]["destination"].endswith("/models")
    assert kf["gpu"]["tolerations"] == [nvidia]
    if cloud == "aws":
        assert kf["image"].startswith("111122223333.dkr.ecr.eu-west-1.amazonaws.com/")
        assert kf["gpu"]["accelerator_type"] == "nvidia.com/gpu"
        assert kf["gpu"]["node_selector"] == {"nvidia.com/gpu.present": "true"}
        assert settings["cloud"] == {
            "provider": "aws",
            "region": "eu-west-1",
            "service_account": "arn:aws:iam::111122223333:role/mlops-dev-pipeline",
        }
    else:
        assert kf["image"].startswith("us-central1-docker.pkg.dev/example-mlops-dev/")
        assert kf["gpu"]["accelerator_type"] == "nvidia-tesla-t4"
        assert kf["gpu"]["node_selector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
        assert settings["cloud"]["service_account"] == "mlops-dev-pipeline@example-mlops-dev.iam.gserviceaccount.com"


def test_yaml_keeps_label_values_strings():
    text = cs.render(cs.build_cloud_settings(cs.outputs_from_json(recorded("aws"))), "yaml")
    assert yaml.safe_load(text)["kubeflow"]["gpu"]["node_selector"] == {"nvidia.com/gpu.present": "true"}


def test_json_format_and_default_tag_and_stdin():
    result = run_cli("--tf-output", "-", "--format", "json", stdin=json.dumps(recorded("gcp")))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kubeflow"]["image"].endswith(":latest")
    assert "immutable tags" in result.stderr


def test_no_cloud_section_and_output_file(tmp_path):
    out = tmp_path / "cloud.yaml"
    result = run_cli("--tf-output", "tests/infra/data/aws-dev.tf-output.json", "--no-cloud", "--image-tag", "v1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    data = yaml.safe_load(out.read_text())
    assert set(data) == {"push", "kubeflow"}


def test_runs_as_a_script_too():
    result = run_cli("--tf-output", "tests/infra/data/aws-dev.tf-output.json", "--image-tag", "0.1.0", module=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (DATA_DIR / "aws-dev.cloud-settings.yaml").read_text()


def test_fragment_is_accepted_by_the_pipeline_config_loader():
    """push/kubeflow from the fragment, merged into the reference config, load as a PipelineConfig."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        from pipelines.config import config_from_dict  # stdlib + PyYAML only
    except ImportError as exc:  # pragma: no cover
        pytest.skip(f"pipelines.config cannot be imported in the infra venv: {exc}")
    base = yaml.safe_load((REPO_ROOT / "pipelines" / "configs" / "penguins.yaml").read_text())
    for cloud in CLOUDS:
        fragment = cs.build_cloud_settings(cs.outputs_from_json(recorded(cloud)), image_tag="0.1.0", include_cloud=False)
        merged = copy.deepcopy(base)
        for section, values in fragment.items():
            merged.setdefault(section, {})
            _deep_merge(merged[section], values)
        cfg = config_from_dict(merged, source=f"penguins.yaml + {cloud} cloud settings")
        assert cfg.push.destination == fragment["push"]["destination"]
        assert cfg.kubeflow.image == fragment["kubeflow"]["image"]
        assert dict(cfg.kubeflow.gpu.node_selector) == fragment["kubeflow"]["gpu"]["node_selector"]
        if cloud == "azure":
            assert cfg.kubeflow.pipeline_volume.mount_path == "/minio/mlpipeline"


def _deep_merge(into: dict, values: dict) -> None:
    for k, v in values.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_merge(into[k], v)
        else:
            into[k] = v


# --------------------------------------------------------------------------------------
# Bad input: precise errors, exit code 2
# --------------------------------------------------------------------------------------


def _without(cloud: str, *names: str) -> dict:
    raw = recorded(cloud)
    for n in names:
        del raw[n]
    return raw


@pytest.mark.parametrize(
    "cloud,drop,expected",
    [
        ("aws", ("push_destination",), "missing output 'push_destination'"),
        ("aws", ("pipeline_role_arn",), "missing output 'pipeline_role_arn' (needed for aws)"),
        ("gcp", ("pipeline_service_account_email",), "missing output 'pipeline_service_account_email' (needed for gcp)"),
        ("gcp", ("image_repository_url", "region"), "missing outputs 'region', 'image_repository_url'"),
        ("azure", ("pipeline_volume",), "missing output 'pipeline_volume' (needed for azure)"),
        ("aws", ("cloud_provider",), "missing output 'cloud_provider'"),
    ],
)
def test_missing_output_is_named(cloud, drop, expected, tmp_path):
    f = tmp_path / "out.json"
    f.write_text(json.dumps(_without(cloud, *drop)))
    result = run_cli("--tf-output", str(f))
    assert result.returncode == 2
    assert expected in result.stderr
    assert str(f) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "cloud,name,value,expected",
    [
        ("aws", "push_destination", "gs://bucket/models", "must start with s3://"),
        ("gcp", "pipeline_root", "s3://bucket/root", "must start with gs://"),
        ("aws", "cloud_provider", "oracle", "expected one of aws, gcp, azure"),
        ("azure", "pipeline_identity_client_id", "mlops-dev-pipeline", "not a managed identity client ID"),
        ("azure", "push_destination", "/data/models", "path under the pipeline volume's mount_path /minio/mlpipeline"),
        ("azure", "pipeline_root", "minio://other/pipeline-root", "launcher path is not under"),
        ("azure", "pipeline_root", "gs://bucket/root", "must start with minio://"),
        ("azure", "pipeline_volume", {"claim_name": "x", "mount_path": "minio"}, "absolute 'mount_path'"),
        ("azure", "region", "West Europe", "not an azure region"),
        ("aws", "region", "us-central1", "not an aws region"),
        ("aws", "pipeline_role_arn", "mlops-dev-pipeline", "not an IAM role ARN"),
        ("gcp", "pipeline_service_account_email", "someone@example.com", "not a Google service account email"),
        ("aws", "gpu_node_selector", {}, "non-empty map of strings"),
        ("aws", "gpu_tolerations", [{"key": "nvidia.com/gpu", "operator": "Maybe", "effect": "NoSchedule"}], "operator 'Maybe'"),
        ("gcp", "image_repository_url", "us-central1-docker.pkg.dev/p/r/img:1.0", "without scheme, tag or digest"),
        ("gcp", "gpu_accelerator_type", "", "must be a non-empty string"),
    ],
)
def test_bad_output_values_are_rejected(cloud, name, value, expected):
    raw = recorded(cloud)
    raw[name]["value"] = value
    with pytest.raises(cs.TerraformOutputError) as err:
        cs.build_cloud_settings(cs.outputs_from_json(raw, "out.json"), source="out.json")
    assert expected in str(err.value)
    assert "out.json" in str(err.value)


@pytest.mark.parametrize(
    "content,expected",
    [
        ("not json", "not JSON"),
        ("[]", "expected a JSON object of outputs"),
        ("{}", "holds no outputs; run `terraform apply`"),
        ('{"region": "eu-west-1"}', "output 'region' is not of the form"),
    ],
)
def test_malformed_files_are_rejected(content, expected, tmp_path):
    f = tmp_path / "out.json"
    f.write_text(content)
    result = run_cli("--tf-output", str(f))
    assert result.returncode == 2, result.stdout
    assert expected in result.stderr


def test_missing_file_and_bad_tag():
    result = run_cli("--tf-output", "does/not/exist.json")
    assert result.returncode == 2 and "does/not/exist.json: cannot read Terraform output" in result.stderr
    result = run_cli("--tf-output", "tests/infra/data/aws-dev.tf-output.json", "--image-tag", "bad tag")
    assert result.returncode == 2 and "--image-tag 'bad tag' is not a valid image tag" in result.stderr


def test_usage_error_exit_code():
    result = run_cli()
    assert result.returncode == 2 and "--tf-output" in result.stderr


def test_no_tensorflow_import():
    source = (REPO_ROOT / "pipelines" / "cloud_settings.py").read_text()
    for heavy in ("tensorflow", "tfx", "kfp", "boto3", "google.cloud"):
        assert f"import {heavy}" not in source and f"from {heavy}" not in source
    code = (
        "import sys, runpy; sys.argv=['x','--tf-output','tests/infra/data/aws-dev.tf-output.json'];"
        "\ntry:\n    runpy.run_module('pipelines.cloud_settings', run_name='__main__')\nexcept SystemExit: pass"
        "\nassert not any(m.split('.')[0] in ('tensorflow','tfx','kfp') for m in sys.modules), 'heavy import'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_recorded_files_are_valid_json_with_trailing_newline():
    for path in Path(DATA_DIR).glob("*.json"):
        text = path.read_text()
        json.loads(text)
        assert text.endswith("\n")
