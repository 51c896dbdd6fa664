"""The compiled spec against the open-source KFP backend's and Vertex AI's compile-time rules.

``pipelines.kubeflow.conformance`` encodes the rules (read from kubeflow/pipelines backend/src/v2
and TFX's entrypoint; see docs/kubeflow.md). Checked on the golden specs, on fresh compiles of
the CPU and the GPU config through the `mlops compile` process, and, so the checker itself can
fail, on real specs broken the way the backend refuses them.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from pipelines.kubeflow import conformance
from tests import golden

pytestmark = pytest.mark.e2e


def _golden(name: str) -> dict:
    return conformance.load_spec((golden.GOLDEN_DIR / name).read_text())


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_golden_spec_conforms(name):
    spec = _golden(name)
    assert conformance.problems(spec, conformance.tfx_importable) == []
    titles = conformance.artifact_titles(spec)
    assert {"tfx.Examples", "tfx.Model", "mlops.DataGateResult", "mlops.HtmlReport"} <= titles


@pytest.mark.parametrize("gpus", [0, 1], ids=["cpu", "gpu"])
def test_mlops_compile_output_conforms(tmp_path, gpus):
    out = tmp_path / "spec.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "compile", "--config", "pipelines/configs/penguins.yaml",
         "--output", str(out), "--pipeline-root", str(tmp_path / "root"), "--set", f"model.gpus={gpus}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    docs = list(yaml.safe_load_all(out.read_text()))
    assert conformance.problems(docs[0], conformance.tfx_importable) == []
    assert docs[0]["root"]["inputDefinitions"]["parameters"]["data_uri"]["defaultValue"].endswith("penguins.csv")
    trainer = docs[0]["deploymentSpec"]["executors"]["Trainer_executor"]["container"]
    assert ("accelerator" in trainer.get("resources", {})) == bool(gpus)
    assert len(docs) == 1 + gpus  # the Kubernetes platform spec (node selector, tolerations) with a GPU


def test_compile_refuses_an_object_store_root_tf_cannot_open(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "compile", "--config", "pipelines/configs/penguins.yaml",
         "--output", str(tmp_path / "spec.yaml"), "--pipeline-root", "s3://bucket/root"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode != 0
    assert "s3://" in proc.stderr and "gs://" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "spec.yaml").exists()


def test_checker_rejects_what_the_backend_rejects():
    spec = _golden("penguins_pipeline.yaml")
    broken = copy.deepcopy(spec)
    broken["schemaVersion"] = "2.0.0"
    broken["deploymentSpec"]["executors"]["resolver_executor"] = {"resolver": {"outputArtifactQueries": {}}}
    task = broken["root"]["dag"]["tasks"]["DataIngest"]["inputs"]["parameters"]
    task["label"] = {"runtimeValue": {"constantValue": {"stringValue": "species"}}}
    broken["components"]["DataIngest"]["inputDefinitions"]["parameters"]["label"].pop("parameterType")
    broken["deploymentSpec"]["executors"]["Trainer_executor"]["container"]["command"] = [
        "python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]
    broken["components"]["DataGate"]["outputDefinitions"]["artifacts"]["gate"]["artifactType"] = {
        "instanceSchema": "title: nosuchmodule.Thing\ntype: object\n"}
    broken["defaultPipelineRoot"] = "minio://mlpipeline/v2/artifacts"
    found = "\n".join(conformance.problems(broken, conformance.tfx_importable))
    for expected in ("schemaVersion is '2.0.0'", "resolver_executor is a resolver executor",
                     "DataIngest parameter label is ['constantValue']", "DataIngest input parameter label has no parameterType",
                     "Trainer_executor runs", "'nosuchmodule.Thing' cannot be imported", "minio://"):
        assert expected in found, found
