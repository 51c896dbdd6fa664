"""The pipeline compiles to KFP v2 YAML that matches the golden file and loads with kfp."""

import pytest
import yaml

from tests import golden

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_compiled_spec_matches_golden(tmp_path, name):
    fresh = golden.compile_case(name, tmp_path / name).read_text()
    expected = (golden.GOLDEN_DIR / name).read_text()
    assert fresh == expected, f"compiled spec differs from tests/golden/{name}; review, then run `make golden`"


def test_spec_loads_with_kfp_and_has_every_task():
    from kfp import components

    text = (golden.GOLDEN_DIR / "penguins_pipeline.yaml").read_text()
    spec = next(yaml.safe_load_all(text))
    loaded = components.load_component_from_text(text)
    assert loaded.name == spec["pipelineInfo"]["name"] == "penguins"
    tasks = set(spec["root"]["dag"]["tasks"])
    for node in ("DataIngest", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "GreatExpectationsValidation",
                 "DataGate", "Transform", "Trainer", "ServingModelBaseline", "Evaluator", "EvaluationReport", "ModelExplanation",
                 "FairnessGate", "ModelCompression", "VersionedPusher"):
        assert node in tasks, node
    # The pusher obeys the fairness gate's blessing (Evaluator AND fairness) and ships the TFLite variant
    pusher_inputs = spec["root"]["dag"]["tasks"]["VersionedPusher"]["inputs"]["artifacts"]
    assert pusher_inputs["model_blessing"]["taskOutputArtifact"]["producerTask"] == "FairnessGate"
    assert pusher_inputs["compressed"]["taskOutputArtifact"]["producerTask"] == "ModelCompression"
    assert pusher_inputs["explanation"]["taskOutputArtifact"]["producerTask"] == "ModelExplanation"
    # The change threshold's baseline is the serving model, resolved by a container task of ours
    evaluator_inputs = spec["root"]["dag"]["tasks"]["Evaluator"]["inputs"]["artifacts"]
    assert evaluator_inputs["baseline_model"]["taskOutputArtifact"]["producerTask"] == "ServingModelBaseline"
    # The scheduler sets the data per run; the config's URI is the default
    assert spec["root"]["dag"]["tasks"]["DataIngest"]["inputs"]["parameters"]["data_uri"] == {
        "componentInputParameter": "data_uri"}
    # ExampleValidator cannot stop a run; Transform waits for our gate instead
    assert "DataGate" in spec["root"]["dag"]["tasks"]["Transform"].get("dependentTasks", [])
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values() if "container" in e}
    assert images == {golden.GOLDEN_IMAGE}


def test_gpu_config_requests_accelerator_and_node_placement():
    docs = list(yaml.safe_load_all((golden.GOLDEN_DIR / "penguins_gpu_pipeline.yaml").read_text()))
    spec, platform = docs
    trainer = spec["deploymentSpec"]["executors"]["Trainer_executor"]
    accel = trainer["container"]["resources"]["accelerator"]
    assert accel["type"] == "NVIDIA_TESLA_T4" and int(accel["count"]) == 1
    others = [e for k, e in spec["deploymentSpec"]["executors"].items() if k != "Trainer_executor" and "container" in e]
    assert all("accelerator" not in e["container"].get("resources", {}) for e in others)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    (placement,) = executors.values()
    assert placement["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert placement["tolerations"][0]["key"] == "nvidia.com/gpu"


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_cache_values_are_runtime_parameters(name):
    """The runners send data_fingerprint and serving_version with each run (docs/kubeflow.md, Caching)."""
    spec = next(yaml.safe_load_all((golden.GOLDEN_DIR / name).read_text()))
    declared = spec["root"]["inputDefinitions"]["parameters"]
    assert declared["data_fingerprint"] == {"defaultValue": "", "isOptional": True, "parameterType": "STRING"}
    assert declared["serving_version"] == {"defaultValue": 0, "isOptional": True, "parameterType": "NUMBER_INTEGER"}
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["DataIngest"]["inputs"]["parameters"]["data_fingerprint"] == {"componentInputParameter": "data_fingerprint"}
    for task in ("ServingModelBaseline", "DriftCheck"):
        assert tasks[task]["inputs"]["parameters"]["serving_version"] == {"componentInputParameter": "serving_version"}
    # No compile-time training key: it could not name the data (see pipelines/pipeline.py).
    assert tasks["VersionedPusher"]["inputs"]["parameters"]["training_key"] == {"runtimeValue": {"constant": ""}}


def test_remote_goldens_fit_their_backend():
    kfp_spec, platform = yaml.safe_load_all((golden.GOLDEN_DIR / "penguins_gpu_kfp.yaml").read_text())
    (vertex_spec,) = yaml.safe_load_all((golden.GOLDEN_DIR / "penguins_gpu_vertex.yaml").read_text())
    for spec, accel_type in ((kfp_spec, "nvidia.com/gpu"), (vertex_spec, "NVIDIA_TESLA_T4")):
        assert spec["defaultPipelineRoot"] == golden.REMOTE_ROOT
        executors = spec["deploymentSpec"]["executors"]
        assert {e["container"]["image"] for e in executors.values()} == {golden.REMOTE_IMAGE}
        trainer = executors["Trainer_executor"]["container"]["resources"]
        assert trainer["accelerator"] == {"type": accel_type, "resourceType": accel_type, "count": "1", "resourceCount": "1"}
        transform = executors["Transform_executor"]["container"]["resources"]
        assert transform["resourceMemoryLimit"] == "16G" and transform["memoryLimit"] == 16.0
        for name, executor in executors.items():
            res = executor["container"]["resources"]
            assert {"resourceCpuRequest", "resourceCpuLimit", "resourceMemoryRequest", "resourceMemoryLimit"} <= set(res), name
    assert platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["Trainer_executor"]["nodeSelector"] == {
        "labels": golden.GKE_T4}
