"""The Azure module against what the compiled pipeline expects of its cluster.

* GPU placement: the compiled Trainer task tolerates and selects what ``pipelines/config.py``'s
  ``GpuConfig`` defaults say (toleration ``nvidia.com/gpu`` Exists/NoSchedule, no node selector)
  plus what ``python -m pipelines.cloud_settings`` adds from the outputs. The AKS GPU pool must
  carry that taint (so nothing else lands on GPU nodes), every taint it has must be tolerated,
  and its labels must hold the ``gpu_node_selector`` output; with a Spot pool, AKS's own Spot
  taint must be in the ``gpu_tolerations`` output. Evaluated from the parsed HCL for both
  ``gpu_spot`` values, with the module's locals resolved.
* The PersistentVolumes and claims the module renders (output ``kubernetes_manifests``) validate
  against the Kubernetes schemas (strict) and mount the containers the identities may use.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
import yaml

from hcl_expr import eval_expression
from test_infra_k8s_schemas import manifest_errors
from tfparse import DATA_DIR, REPO_ROOT, TERRAFORM_DIR, locals_of, named, resources, variable_defaults

MODULE = TERRAFORM_DIR / "modules" / "azure_gpu_training"
_LOCAL_REF = re.compile(r"\$\{local\.([A-Za-z_][\w-]*)\}")


def _string_locals() -> dict[str, str]:
    """The module's string locals with ``${local.x}`` references resolved (those that need
    resources or functions are left out)."""
    raw = {k: v for k, v in locals_of(MODULE).items() if isinstance(v, str)}
    resolved: dict[str, str] = {}
    for _ in range(len(raw)):
        for name, value in raw.items():
            refs = _LOCAL_REF.findall(value)
            if all(r in resolved for r in refs):
                text = _LOCAL_REF.sub(lambda m: resolved[m.group(1)], value)
                if "${" not in text:
                    resolved[name] = text
    return resolved


def _scope(gpu_spot: bool) -> dict:
    return {"var": dict(variable_defaults(MODULE), gpu_spot=gpu_spot), "local": _string_locals()}


def _resolve(value, scope: dict):
    """A parsed HCL value: maps and lists item by item (keys too), ``${(local.x)}`` by lookup,
    other expressions by hcl_expr."""
    if isinstance(value, dict):
        return {_resolve(k, scope): _resolve(v, scope) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_resolve(v, scope) for v in value]
    if isinstance(value, str) and "${" in value:
        m = re.fullmatch(r"\$\{\(?local\.([A-Za-z_][\w-]*)\)?\}", value)
        return scope["local"][m.group(1)] if m else eval_expression(value, scope)
    return value


def _gpu_pool() -> dict:
    pools = [body for _, rtype, _, body in resources(MODULE) if rtype == "azurerm_kubernetes_cluster_node_pool"
             and body.get("vm_size") == "${var.gpu_vm_size}"]
    assert len(pools) == 1, "expected one node pool of var.gpu_vm_size in the Azure module"
    return pools[0]


def _taints(gpu_spot: bool) -> list[dict[str, str]]:
    """``key=value:Effect`` strings of the GPU pool, as Kubernetes taints."""
    expr = _gpu_pool().get("node_taints")
    assert expr, "the GPU pool has no node_taints: every pod could land on (and keep awake) GPU nodes"
    out = []
    for taint in _resolve(expr, _scope(gpu_spot)):
        m = re.fullmatch(r"([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)", taint)
        assert m, f"{taint!r} is not an AKS taint (key=value:Effect)"
        out.append({"key": m.group(1), "value": m.group(2) or "", "effect": m.group(3)})
    return out


def _tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' rule: same key (or an empty key with Exists), same effect (or none), and for
    Equal the same value."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("key", "") not in ("", taint["key"]):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return toleration.get("value", "") == taint["value"]


def _output(name: str, gpu_spot: bool):
    value = named(MODULE, "output")[name]["value"]
    if value == "${local.gpu_tolerations}":  # a list local: evaluated, not looked up
        value = locals_of(MODULE)["gpu_tolerations"]
    return _resolve(value, _scope(gpu_spot))


def _config_defaults():
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from pipelines.config import GpuConfig  # stdlib + PyYAML only

    gpu = GpuConfig()
    return [dict(t) for t in gpu.tolerations], dict(gpu.node_selector)


@pytest.mark.parametrize("gpu_spot", [False, True], ids=["on-demand", "spot"])
def test_gpu_pool_carries_the_taint_the_compiled_trainer_tolerates(gpu_spot):
    taints = _taints(gpu_spot)
    defaults, _ = _config_defaults()
    gpu_taints = [t for t in taints if t["effect"] == "NoSchedule" and any(_tolerates(d, t) for d in defaults)]
    assert gpu_taints, (
        f"the GPU pool's taints {taints} include none that the pipeline's default tolerations {defaults} "
        "(pipelines/config.py GpuConfig) match: change them together"
    )
    tolerations = _output("gpu_tolerations", gpu_spot)
    untolerated = [t for t in taints if not any(_tolerates(tol, t) for tol in tolerations)]
    assert not untolerated, f"gpu_spot={gpu_spot}: the gpu_tolerations output does not tolerate {untolerated}"
    if not gpu_spot:
        # On demand, the config's defaults alone place the Trainer: the output adds nothing.
        assert tolerations == defaults, f"gpu_tolerations output {tolerations} differs from the config defaults {defaults}"
        assert all(any(_tolerates(d, t) for d in defaults) for t in taints)


def test_gpu_pool_has_the_labels_the_trainer_selects():
    labels = _resolve(_gpu_pool()["node_labels"], _scope(False))
    selector = _output("gpu_node_selector", False)
    _, default_selector = _config_defaults()
    for key, value in {**default_selector, **selector}.items():
        assert labels.get(key) == value, f"GPU pool labels {labels} lack {key}={value} (gpu_node_selector output / config default)"


def test_device_plugin_runs_on_the_gpu_pool():
    (plugin,) = [b for _, t, n, b in resources(MODULE) if t == "helm_release" and n == "nvidia_device_plugin"]
    values = plugin["values"][0]
    assert "local.gpu_tolerations" in values and "local.gpu_label_key" in values, values


RECORDED = json.loads((DATA_DIR / "azure-dev.tf-output.json").read_text())


def _rendered(values: dict[str, str]) -> str:
    """templatefile() for a template that uses only ``${name}`` substitutions."""
    template = (MODULE / "templates" / "volumes.yaml.tftpl").read_text()
    assert "%{" not in template, "the test renders only ${...} substitutions"
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)


def test_recorded_manifests_are_what_the_template_renders():
    outputs = {k: v["value"] for k, v in RECORDED.items()}
    values = {
        "name": outputs["cluster_name"], "storage_account": outputs["storage_account_name"],
        "resource_group": outputs["resource_group_name"], "artifacts_container": outputs["artifact_container_name"],
        "predictions_container": outputs["predictions_container_name"],
        "pipeline_client_id": outputs["pipeline_identity_client_id"], "serving_client_id": outputs["serving_identity_client_id"],
        "pipeline_namespace": outputs["pipeline_namespace"], "serving_namespace": outputs["serving_namespace"],
        "serving_service_account": outputs["serving_service_account"], "claim_name": outputs["pipeline_volume"]["claim_name"],
    }
    assert _rendered(values) == outputs["kubernetes_manifests"]
    call = locals_of(MODULE)["kubernetes_manifests"]
    assert set(re.findall(r"\b(\w+)\s*=", call.split("{", 1)[1])) == set(values), "templatefile() arguments changed"


def test_volume_manifests_validate_and_mount_what_each_identity_may_use():
    docs = list(yaml.safe_load_all(RECORDED["kubernetes_manifests"]["value"]))
    errors = [e for d in docs for e in manifest_errors(d)]
    assert not errors, "\n".join(errors)
    pvs = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PersistentVolume"}
    claims = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    pipeline_id = RECORDED["pipeline_identity_client_id"]["value"]
    for name, spec in pvs.items():
        attrs = spec["csi"]["volumeAttributes"]
        assert spec["csi"]["driver"] == "blob.csi.azure.com" and attrs["protocol"] == "fuse2"
        # The account refuses shared keys: mounts must use the pod's workload identity token.
        assert attrs["mountWithWorkloadIdentityToken"] == "true" and "secretName" not in attrs
        assert "-o allow_other" in spec["mountOptions"], f"{name}: uid 10001 of the image needs allow_other"
        ref = spec["claimRef"]
        assert claims[(ref["namespace"], ref["name"])]["volumeName"] == name
        writes = "ReadOnlyMany" not in spec["accessModes"]
        if attrs["clientID"] != pipeline_id:  # serving: reads models, writes predictions only
            assert writes == (attrs["containerName"] == RECORDED["predictions_container_name"]["value"]), name
    pipeline_pv = next(s for s in pvs.values() if s["csi"]["volumeAttributes"]["clientID"] == pipeline_id)
    volume = RECORDED["pipeline_volume"]["value"]
    assert pipeline_pv["claimRef"] == {"namespace": RECORDED["pipeline_namespace"]["value"], "name": volume["claim_name"]}
    assert pipeline_pv["csi"]["volumeAttributes"]["containerName"] == RECORDED["artifact_container_name"]["value"]
