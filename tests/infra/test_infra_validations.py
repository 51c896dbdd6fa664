"""Bad input is rejected by the variables' `validation` blocks; good input is accepted.

Each case names a module or a root, the variable under test and the values to set; a root's
case is judged once per environment, with that environment's var-files
(terraform.tfvars.example, then env/<env>.tfvars) under the values. Terraform itself
judges each case where a `terraform` binary is on PATH: a variables-only copy of the module or
environment, `terraform init` once, then `terraform plan -var-file=...` per case
(tests/infra/tf_judge.py). Without a binary, the fallback evaluates the parsed conditions
with tests/infra/hcl_expr.py; the report header, the test ids (`terraform:` or `hcl_expr:`)
and the junit property `validation_judge` say which one judged. A good case must be accepted
as a whole (no error at all); a bad case must be rejected by the variable under test. A
coverage test makes sure every validation block of every module and root is shown
rejecting at least one bad value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hcl_expr import strip_interpolation
from tf_judge import Inputs, judge_name, terraform_judge
from tfparse import (
    REPO_ROOT,
    env_targets,
    env_values,
    env_var_files,
    environments,
    locals_of,
    module_dirs,
    module_source_dir,
    named,
    rel,
    root_dirs,
    target_id,
    tfvars,
)

JUDGE = judge_name()

AWS_MOD = "terraform/modules/aws_gpu_training"
GCP_MOD = "terraform/modules/gcp_gpu_training"
AZURE_MOD = "terraform/modules/azure_gpu_training"
AWS_ROOT = "terraform/aws"
GCP_ROOT = "terraform/gcp"
AZURE_ROOT = "terraform/azure"
SUBNET = "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks"

# Values for the variables without defaults, so every condition can be evaluated.
MODULE_SAMPLES: dict[str, dict[str, Any]] = {
    AWS_MOD: {
        "name": "mlops-dev",
        "region": "eu-west-1",
        "vpc_id": "vpc-0123456789abcdef0",
        "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    },
    GCP_MOD: {"project_id": "example-mlops-dev", "region": "us-central1", "name": "mlops-dev"},
    AZURE_MOD: {"name": "mlops-dev", "location": "westeurope", "vnet_subnet_id": SUBNET},
}

OK, BAD = True, False

# (module or root, variable under test, values to set, expected acceptance)
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    # ---- AWS module ------------------------------------------------------------------
    (AWS_MOD, "name", {"name": "mlops-dev"}, OK),
    (AWS_MOD, "name", {"name": "Mlops"}, BAD),
    (AWS_MOD, "name", {"name": "ml"}, BAD),
    (AWS_MOD, "name", {"name": "mlops-dev-"}, BAD),
    (AWS_MOD, "name", {"name": "m" * 25}, BAD),
    (AWS_MOD, "region", {"region": "us-gov-west-1"}, OK),
    (AWS_MOD, "region", {"region": "EU-WEST-1"}, BAD),
    (AWS_MOD, "region", {"region": "us-central1"}, BAD),
    (AWS_MOD, "existing_cluster_name", {"create_cluster": False, "existing_cluster_name": None}, BAD),
    (AWS_MOD, "existing_cluster_name", {"create_cluster": False, "existing_cluster_name": "shared-gpu"}, OK),
    (AWS_MOD, "existing_cluster_name", {"create_cluster": True, "existing_cluster_name": None}, OK),
    (AWS_MOD, "cluster_version", {"cluster_version": "1.33"}, OK),
    (AWS_MOD, "cluster_version", {"cluster_version": "v1.33"}, BAD),
    (AWS_MOD, "cluster_version", {"cluster_version": "1.3"}, BAD),
    (AWS_MOD, "vpc_id", {"vpc_id": "vpc-12"}, BAD),
    (AWS_MOD, "vpc_id", {"vpc_id": "vpc-0abc1234"}, OK),
    (AWS_MOD, "subnet_ids", {"subnet_ids": ["subnet-0123456789abcdef0"]}, BAD),
    (AWS_MOD, "subnet_ids", {"subnet_ids": ["subnet-0123456789abcdef0", "sn-1"]}, BAD),
    (AWS_MOD, "cluster_endpoint_public_access_cidrs", {"cluster_endpoint_public_access_cidrs": ["0.0.0.0/0"]}, BAD),
    (AWS_MOD, "cluster_endpoint_public_access_cidrs", {"cluster_endpoint_public_access_cidrs": ["10.0.0.0/33"]}, BAD),
    (AWS_MOD, "cluster_endpoint_public_access_cidrs", {"cluster_endpoint_public_access": True, "cluster_endpoint_public_access_cidrs": []}, BAD),
    (AWS_MOD, "cluster_endpoint_public_access_cidrs", {"cluster_endpoint_public_access": True, "cluster_endpoint_public_access_cidrs": ["203.0.113.0/24"]}, OK),
    (AWS_MOD, "cluster_log_retention_days", {"cluster_log_retention_days": 100}, BAD),
    (AWS_MOD, "cluster_log_retention_days", {"cluster_log_retention_days": 731}, OK),
    (AWS_MOD, "system_instance_types", {"system_instance_types": []}, BAD),
    (AWS_MOD, "system_instance_types", {"system_instance_types": ["t3.large", "m6i.large"]}, OK),
    (AWS_MOD, "gpu_instance_types", {"gpu_instance_types": ["m5.large"]}, BAD),
    (AWS_MOD, "gpu_instance_types", {"gpu_instance_types": []}, BAD),
    (AWS_MOD, "gpu_instance_types", {"gpu_instance_types": ["g5.metal"]}, BAD),
    (AWS_MOD, "gpu_instance_types", {"gpu_instance_types": ["g5.xlarge", "g6e.12xlarge", "p4d.24xlarge"]}, OK),
    (AWS_MOD, "gpu_ami_type", {"gpu_ami_type": "AL2_x86_64"}, BAD),
    (AWS_MOD, "gpu_ami_type", {"gpu_ami_type": "BOTTLEROCKET_x86_64_NVIDIA"}, OK),
    (AWS_MOD, "gpu_capacity_type", {"gpu_capacity_type": "spot"}, BAD),
    (AWS_MOD, "gpu_capacity_type", {"gpu_capacity_type": "SPOT"}, OK),
    (AWS_MOD, "gpu_min_size", {"gpu_min_size": -1}, BAD),
    (AWS_MOD, "gpu_min_size", {"gpu_min_size": 1.5}, BAD),
    (AWS_MOD, "gpu_min_size", {"gpu_min_size": 0}, OK),
    (AWS_MOD, "gpu_max_size", {"gpu_min_size": 3, "gpu_max_size": 2}, BAD),
    (AWS_MOD, "gpu_max_size", {"gpu_min_size": 0, "gpu_max_size": 0}, BAD),
    (AWS_MOD, "gpu_max_size", {"gpu_max_size": 101}, BAD),
    (AWS_MOD, "gpu_max_size", {"gpu_min_size": 2, "gpu_max_size": 2}, OK),
    (AWS_MOD, "gpu_disk_size_gb", {"gpu_disk_size_gb": 20}, BAD),
    (AWS_MOD, "gpu_disk_size_gb", {"gpu_disk_size_gb": 200}, OK),
    (AWS_MOD, "nvidia_device_plugin_chart_version", {"nvidia_device_plugin_chart_version": "~> 0.17"}, BAD),
    (AWS_MOD, "nvidia_device_plugin_chart_version", {"nvidia_device_plugin_chart_version": "0.17.1"}, OK),
    (AWS_MOD, "cluster_autoscaler_chart_version", {"cluster_autoscaler_chart_version": "latest"}, BAD),
    (AWS_MOD, "cluster_autoscaler_chart_version", {"cluster_autoscaler_chart_version": "9.43.1"}, OK),
    (AWS_MOD, "artifact_bucket_name", {"artifact_bucket_name": "My_Bucket"}, BAD),
    (AWS_MOD, "artifact_bucket_name", {"artifact_bucket_name": "mlops-artifacts.example"}, OK),
    (AWS_MOD, "noncurrent_version_retention_days", {"noncurrent_version_retention_days": 0}, BAD),
    (AWS_MOD, "pipeline_root_retention_days", {"pipeline_root_retention_days": -1}, BAD),
    (AWS_MOD, "pipeline_root_retention_days", {"pipeline_root_retention_days": 0}, OK),
    (AWS_MOD, "image_name", {"image_name": "MLOps"}, BAD),
    (AWS_MOD, "image_name", {"image_name": "mlops_pipelines.gpu"}, OK),
    (AWS_MOD, "image_retention_count", {"image_retention_count": 0}, BAD),
    (AWS_MOD, "kms_key_deletion_window_days", {"kms_key_deletion_window_days": 5}, BAD),
    (AWS_MOD, "kms_key_deletion_window_days", {"kms_key_deletion_window_days": 7}, OK),
    (AWS_MOD, "pipeline_namespace", {"pipeline_namespace": "Kubeflow"}, BAD),
    (AWS_MOD, "pipeline_namespace", {"pipeline_namespace": "kubeflow-user-example-com"}, OK),
    (AWS_MOD, "pipeline_service_account", {"pipeline_service_account": "-runner"}, BAD),
    # ---- GCP module ------------------------------------------------------------------
    (GCP_MOD, "project_id", {"project_id": "1project"}, BAD),
    (GCP_MOD, "project_id", {"project_id": "abc"}, BAD),
    (GCP_MOD, "project_id", {"project_id": "my-project-123"}, OK),
    (GCP_MOD, "region", {"region": "eu-west-1"}, BAD),
    (GCP_MOD, "region", {"region": "europe-west4"}, OK),
    (GCP_MOD, "name", {"name": "mlops-production-environment"}, BAD),
    (GCP_MOD, "name", {"name": "mlops-prod"}, OK),
    (GCP_MOD, "labels", {"labels": {"Owner": "team-a"}}, BAD),
    (GCP_MOD, "labels", {"labels": {"owner": "Team A"}}, BAD),
    (GCP_MOD, "labels", {"labels": {"owner": "team-a", "environment": "dev"}}, OK),
    (GCP_MOD, "existing_cluster_name", {"create_cluster": False, "existing_cluster_name": None}, BAD),
    (GCP_MOD, "existing_cluster_name", {"create_cluster": False, "existing_cluster_name": "shared"}, OK),
    (GCP_MOD, "master_ipv4_cidr_block", {"master_ipv4_cidr_block": "172.16.0.0/24"}, BAD),
    (GCP_MOD, "master_ipv4_cidr_block", {"master_ipv4_cidr_block": "10.100.0.16/28"}, OK),
    (GCP_MOD, "master_authorized_networks", {"master_authorized_networks": [{"cidr_block": "0.0.0.0/0", "display_name": "all"}]}, BAD),
    (GCP_MOD, "master_authorized_networks", {"master_authorized_networks": [{"cidr_block": "office", "display_name": "x"}]}, BAD),
    (GCP_MOD, "master_authorized_networks", {"master_authorized_networks": [{"cidr_block": "203.0.113.0/24", "display_name": "office"}]}, OK),
    (GCP_MOD, "release_channel", {"release_channel": "UNSPECIFIED"}, BAD),
    (GCP_MOD, "release_channel", {"release_channel": "STABLE"}, OK),
    (GCP_MOD, "rbac_security_group", {"rbac_security_group": "admins@example.com"}, BAD),
    (GCP_MOD, "rbac_security_group", {"rbac_security_group": "gke-security-groups@example.com"}, OK),
    (GCP_MOD, "system_machine_type", {"system_machine_type": "e2standard4"}, BAD),
    (GCP_MOD, "gpu_node_locations", {"gpu_node_locations": ["us-central1"]}, BAD),
    (GCP_MOD, "gpu_node_locations", {"gpu_node_locations": ["us-central1-a", "us-central1-c"]}, OK),
    (GCP_MOD, "gpu_accelerator_type", {"gpu_accelerator_type": "nvidia-tesla-k80"}, BAD),
    (GCP_MOD, "gpu_accelerator_type", {"gpu_accelerator_type": "nvidia-l4", "gpu_machine_type": "g2-standard-8"}, OK),
    (GCP_MOD, "gpu_accelerator_count", {"gpu_accelerator_count": 3}, BAD),
    (GCP_MOD, "gpu_accelerator_count", {"gpu_accelerator_count": 4}, OK),
    (GCP_MOD, "gpu_machine_type", {"gpu_accelerator_type": "nvidia-tesla-t4", "gpu_machine_type": "g2-standard-8"}, BAD),
    (GCP_MOD, "gpu_machine_type", {"gpu_accelerator_type": "nvidia-l4", "gpu_machine_type": "n1-standard-8"}, BAD),
    (GCP_MOD, "gpu_machine_type", {"gpu_accelerator_type": "nvidia-tesla-a100", "gpu_machine_type": "a2-ultragpu-1g"}, BAD),
    (GCP_MOD, "gpu_machine_type", {"gpu_accelerator_type": "nvidia-tesla-t4", "gpu_machine_type": "n1-standard-4"}, OK),
    (GCP_MOD, "gpu_machine_type", {"gpu_accelerator_type": "nvidia-tesla-a100", "gpu_machine_type": "a2-highgpu-1g"}, OK),
    (GCP_MOD, "gpu_machine_type", {"gpu_accelerator_type": "nvidia-h100-80gb", "gpu_machine_type": "a3-highgpu-8g"}, OK),
    (GCP_MOD, "gpu_driver_version", {"gpu_driver_version": "INSTALLATION_DISABLED"}, BAD),
    (GCP_MOD, "gpu_driver_version", {"gpu_driver_version": "LATEST"}, OK),
    (GCP_MOD, "gpu_min_node_count", {"gpu_min_node_count": -1}, BAD),
    (GCP_MOD, "gpu_max_node_count", {"gpu_min_node_count": 2, "gpu_max_node_count": 1}, BAD),
    (GCP_MOD, "gpu_max_node_count", {"gpu_min_node_count": 0, "gpu_max_node_count": 0}, BAD),
    (GCP_MOD, "gpu_max_node_count", {"gpu_min_node_count": 1, "gpu_max_node_count": 8}, OK),
    (GCP_MOD, "gpu_disk_size_gb", {"gpu_disk_size_gb": 10}, BAD),
    (GCP_MOD, "artifact_bucket_name", {"artifact_bucket_name": "Bad Bucket"}, BAD),
    (GCP_MOD, "artifact_bucket_name", {"artifact_bucket_name": None}, OK),
    (GCP_MOD, "kms_key_name", {"kms_key_name": "my-key"}, BAD),
    (GCP_MOD, "kms_key_name", {"kms_key_name": "projects/p-123456/locations/us-central1/keyRings/r/cryptoKeys/k"}, OK),
    (GCP_MOD, "noncurrent_version_retention_days", {"noncurrent_version_retention_days": 5000}, BAD),
    (GCP_MOD, "pipeline_root_retention_days", {"pipeline_root_retention_days": 4000}, BAD),
    (GCP_MOD, "image_name", {"image_name": "-image"}, BAD),
    (GCP_MOD, "image_retention_count", {"image_retention_count": 20000}, BAD),
    (GCP_MOD, "pipeline_namespace", {"pipeline_namespace": "kube_flow"}, BAD),
    (GCP_MOD, "pipeline_service_account", {"pipeline_service_account": "Runner"}, BAD),
    # ---- Azure module ----------------------------------------------------------------
    (AZURE_MOD, "name", {"name": "mlops-production-environment"}, BAD),
    (AZURE_MOD, "name", {"name": "Mlops"}, BAD),
    (AZURE_MOD, "name", {"name": "mlops-prod"}, OK),
    (AZURE_MOD, "location", {"location": "West Europe"}, BAD),
    (AZURE_MOD, "location", {"location": "eastus2"}, OK),
    (AZURE_MOD, "resource_group_name", {"resource_group_name": "rg."}, BAD),
    (AZURE_MOD, "resource_group_name", {"resource_group_name": "ml-platform_rg(dev)"}, OK),
    (AZURE_MOD, "kubernetes_version", {"kubernetes_version": "1.34.2"}, BAD),
    (AZURE_MOD, "kubernetes_version", {"kubernetes_version": "1.33"}, OK),
    (AZURE_MOD, "sku_tier", {"sku_tier": "Paid"}, BAD),
    (AZURE_MOD, "sku_tier", {"sku_tier": "Free"}, OK),
    (AZURE_MOD, "vnet_subnet_id", {"vnet_subnet_id": "aks-nodes"}, BAD),
    (AZURE_MOD, "vnet_subnet_id", {"vnet_subnet_id": SUBNET.replace("/subnets/aks", "")}, BAD),
    (AZURE_MOD, "pod_cidr", {"pod_cidr": "10.244.0.0"}, BAD),
    (AZURE_MOD, "pod_cidr", {"pod_cidr": "192.168.0.0/16"}, OK),
    (AZURE_MOD, "service_cidr", {"service_cidr": "10.0.0.0/30"}, BAD),
    (AZURE_MOD, "service_cidr", {"service_cidr": "172.20.0.0/16"}, OK),
    (AZURE_MOD, "api_server_authorized_ip_ranges", {"private_cluster_enabled": False, "api_server_authorized_ip_ranges": ["0.0.0.0/0"]}, BAD),
    (AZURE_MOD, "api_server_authorized_ip_ranges", {"private_cluster_enabled": False, "api_server_authorized_ip_ranges": []}, BAD),
    (AZURE_MOD, "api_server_authorized_ip_ranges", {"private_cluster_enabled": False, "api_server_authorized_ip_ranges": ["203.0.113.0/24"]}, OK),
    (AZURE_MOD, "api_server_authorized_ip_ranges", {"private_cluster_enabled": True, "api_server_authorized_ip_ranges": []}, OK),
    (AZURE_MOD, "admin_group_object_ids", {"admin_group_object_ids": ["ml-admins"]}, BAD),
    (AZURE_MOD, "admin_group_object_ids", {"admin_group_object_ids": ["ffffffff-eeee-dddd-cccc-bbbbbbbbbbbb"]}, OK),
    (AZURE_MOD, "system_vm_size", {"system_vm_size": "Standard_D4s_v5"}, BAD),
    (AZURE_MOD, "system_vm_size", {"system_vm_size": "Standard_E8ds_v5"}, OK),
    (AZURE_MOD, "log_retention_days", {"log_retention_days": 7}, BAD),
    (AZURE_MOD, "log_retention_days", {"log_retention_days": 365}, OK),
    (AZURE_MOD, "gpu_vm_size", {"gpu_vm_size": "Standard_D4ds_v5"}, BAD),
    (AZURE_MOD, "gpu_vm_size", {"gpu_vm_size": "Standard_NV6ads_A10_v5"}, BAD),
    (AZURE_MOD, "gpu_vm_size", {"gpu_vm_size": "Standard_NC24ads_A100_v4"}, OK),
    (AZURE_MOD, "gpu_vm_size", {"gpu_vm_size": "Standard_NV36ads_A10_v5"}, OK),
    (AZURE_MOD, "gpu_min_count", {"gpu_min_count": -1}, BAD),
    (AZURE_MOD, "gpu_min_count", {"gpu_min_count": 0.5}, BAD),
    (AZURE_MOD, "gpu_max_count", {"gpu_min_count": 3, "gpu_max_count": 2}, BAD),
    (AZURE_MOD, "gpu_max_count", {"gpu_min_count": 0, "gpu_max_count": 0}, BAD),
    (AZURE_MOD, "gpu_max_count", {"gpu_min_count": 0, "gpu_max_count": 100}, OK),
    (AZURE_MOD, "gpu_zones", {"gpu_zones": ["westeurope-1"]}, BAD),
    (AZURE_MOD, "gpu_zones", {"gpu_zones": ["1", "3"]}, OK),
    (AZURE_MOD, "gpu_os_disk_size_gb", {"gpu_os_disk_size_gb": 30}, BAD),
    (AZURE_MOD, "nvidia_device_plugin_chart_version", {"nvidia_device_plugin_chart_version": "0.x"}, BAD),
    (AZURE_MOD, "storage_replication_type", {"storage_replication_type": "zrs"}, BAD),
    (AZURE_MOD, "storage_replication_type", {"storage_replication_type": "RAGZRS"}, OK),
    (AZURE_MOD, "storage_allowed_ip_ranges", {"storage_allowed_ip_ranges": ["203.0.113.10/32"]}, BAD),
    (AZURE_MOD, "storage_allowed_ip_ranges", {"storage_allowed_ip_ranges": ["203.0.113.10", "198.51.100.0/24"]}, OK),
    (AZURE_MOD, "soft_delete_retention_days", {"soft_delete_retention_days": 1}, BAD),
    (AZURE_MOD, "noncurrent_version_retention_days", {"noncurrent_version_retention_days": 0}, BAD),
    (AZURE_MOD, "pipeline_root_retention_days", {"pipeline_root_retention_days": -1}, BAD),
    (AZURE_MOD, "pipeline_root_retention_days", {"pipeline_root_retention_days": 0}, OK),
    (AZURE_MOD, "prediction_log_retention_days", {"prediction_log_retention_days": 5000}, BAD),
    (AZURE_MOD, "registry_sku", {"registry_sku": "premium"}, BAD),
    (AZURE_MOD, "registry_sku", {"registry_sku": "Basic"}, OK),
    (AZURE_MOD, "image_name", {"image_name": "MLOps"}, BAD),
    (AZURE_MOD, "untagged_image_retention_days", {"untagged_image_retention_days": 0}, BAD),
    (AZURE_MOD, "pipeline_namespace", {"pipeline_namespace": "Kubeflow"}, BAD),
    (AZURE_MOD, "pipeline_service_account", {"pipeline_service_account": "-runner"}, BAD),
    (AZURE_MOD, "serving_namespace", {"serving_namespace": "ml_serving"}, BAD),
    (AZURE_MOD, "serving_service_account", {"serving_service_account": "Serve"}, BAD),
    (AZURE_MOD, "serving_service_account", {"serving_service_account": "model-server"}, OK),
    # ---- AWS root, per environment ---------------------------------------------------
    (AWS_ROOT, "region", {"region": "eu-west"}, BAD),
    (AWS_ROOT, "region", {"region": "ap-southeast-2"}, OK),
    (AWS_ROOT, "allowed_account_ids", {"allowed_account_ids": ["12345"]}, BAD),
    (AWS_ROOT, "allowed_account_ids", {"allowed_account_ids": ["0" * 12]}, OK),
    (AWS_ROOT, "name_prefix", {"name_prefix": "MLOps"}, BAD),
    (AWS_ROOT, "name_prefix", {"name_prefix": "a-very-long-name-prefix"}, BAD),
    (AWS_ROOT, "owner", {"owner": "  "}, BAD),
    (AWS_ROOT, "owner", {"owner": "Data Platform"}, OK),
    (AWS_ROOT, "environment", {"environment": "Prod"}, BAD),
    (AWS_ROOT, "environment", {"environment": "staging"}, BAD),
    (AWS_ROOT, "environment", {"environment": "stage"}, OK),
    (AWS_ROOT, "cost_center", {"cost_center": " "}, BAD),
    (AWS_ROOT, "cost_center", {"cost_center": "c" * 257}, BAD),
    (AWS_ROOT, "cost_center", {"cost_center": "CC 42/ml"}, OK),
    (AWS_ROOT, "extra_tags", {"extra_tags": {"aws:createdBy": "me"}}, BAD),
    (AWS_ROOT, "extra_tags", {"extra_tags": {"k" * 129: "v"}}, BAD),
    (AWS_ROOT, "extra_tags", {"extra_tags": {"Team": "Data Platform"}}, OK),
    (AWS_ROOT, "access_log_bucket_name", {"access_log_bucket_name": "Logs_Bucket"}, BAD),
    (AWS_ROOT, "access_log_bucket_name", {"access_log_bucket_name": None}, OK),
    # ---- GCP root, per environment ---------------------------------------------------
    (GCP_ROOT, "project_id", {"project_id": "Example"}, BAD),
    (GCP_ROOT, "region", {"region": "us-central"}, BAD),
    (GCP_ROOT, "name_prefix", {"name_prefix": "mlops-platform-x"}, BAD),
    (GCP_ROOT, "owner", {"owner": "Data Platform"}, BAD),
    (GCP_ROOT, "owner", {"owner": "data-platform"}, OK),
    (GCP_ROOT, "cost_center", {"cost_center": "CC 42"}, BAD),
    (GCP_ROOT, "environment", {"environment": "prod-1"}, BAD),
    (GCP_ROOT, "environment", {"environment": "qa"}, OK),
    (GCP_ROOT, "extra_labels", {"extra_labels": {"Team": "data"}}, BAD),
    (GCP_ROOT, "extra_labels", {"extra_labels": {"team": "Data"}}, BAD),
    (GCP_ROOT, "extra_labels", {"extra_labels": {"team": "data-platform"}}, OK),
    (GCP_ROOT, "network", {"network": "My_Net"}, BAD),
    (GCP_ROOT, "network", {"network": "projects/example-mlops/global/networks/vpc-1"}, OK),
    (GCP_ROOT, "subnetwork", {"subnetwork": "sub net"}, BAD),
    (GCP_ROOT, "access_log_bucket_name", {"access_log_bucket_name": "Logs"}, BAD),
    (GCP_ROOT, "access_log_bucket_name", {"access_log_bucket_name": "example-mlops-logs"}, OK),
    # ---- Azure root, per environment -------------------------------------------------
    (AZURE_ROOT, "subscription_id", {"subscription_id": "my-subscription"}, BAD),
    (AZURE_ROOT, "subscription_id", {"subscription_id": "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"}, OK),
    (AZURE_ROOT, "location", {"location": "West Europe"}, BAD),
    (AZURE_ROOT, "location", {"location": "swedencentral"}, OK),
    (AZURE_ROOT, "name_prefix", {"name_prefix": "mlops-platform-x"}, BAD),
    (AZURE_ROOT, "environment", {"environment": "Prod"}, BAD),
    (AZURE_ROOT, "environment", {"environment": "qa"}, OK),
    (AZURE_ROOT, "owner", {"owner": " "}, BAD),
    (AZURE_ROOT, "owner", {"owner": "ml/platform"}, BAD),
    (AZURE_ROOT, "owner", {"owner": "Data Platform"}, OK),
    (AZURE_ROOT, "cost_center", {"cost_center": "CC<42>"}, BAD),
    (AZURE_ROOT, "cost_center", {"cost_center": "CC 42"}, OK),
    (AZURE_ROOT, "extra_tags", {"extra_tags": {"Microsoft.Team": "x"}}, BAD),
    (AZURE_ROOT, "extra_tags", {"extra_tags": {"team?": "x"}}, BAD),
    (AZURE_ROOT, "extra_tags", {"extra_tags": {"Team": "Data Platform"}}, OK),
]


def _targets(spec: str) -> list[tuple[Path, str | None]]:
    """A module alone, or a root once per environment."""
    directory = REPO_ROOT / spec
    return [(directory, env) for env in environments(directory)] or [(directory, None)]


def inputs(directory: Path, env: str | None = None, setting: dict[str, Any] | None = None) -> Inputs:
    """An environment's var-files (as Terraform reads them), or the module samples, plus the setting."""
    values = dict(MODULE_SAMPLES.get(rel(directory), {}))
    values.update(setting or {})
    return Inputs(env_var_files(directory, env) if env else (), values)


EXPANDED = [(d, env, var, setting, ok) for spec, var, setting, ok in CASES for d, env in _targets(spec)]


def _shown(value: Any) -> str:
    """A value for a test id: long ones cut, with their length."""
    text = str(value)
    return text if len(text) <= 80 else f"{text[:24]}...({len(text)} chars)"


CASE_IDS = [f"{JUDGE}:{target_id(d, e)}:{v}={_shown(s[v] if v in s else s)}:{'ok' if ok else 'bad'}" for d, e, v, s, ok in EXPANDED]
# Modules alone and roots with each environment's settings.
TARGETS = [(d, None) for d in module_dirs()] + env_targets()
TARGET_IDS = [f"{JUDGE}:{target_id(d, e)}" for d, e in TARGETS]


@pytest.fixture(scope="module")
def judge():
    return terraform_judge()


@pytest.fixture(scope="module")
def case_verdicts(judge):
    """All cases judged at once (Terraform: parallel plans, one init per directory)."""
    return judge.verdicts([(d, inputs(d, env, setting)) for d, env, _, setting, _ in EXPANDED])


@pytest.mark.parametrize("case", range(len(EXPANDED)), ids=CASE_IDS)
def test_validation_accepts_good_and_rejects_bad_values(case, case_verdicts, judge):
    directory, _, variable, setting, accepted = EXPANDED[case]
    assert variable in named(directory, "variable"), f"{rel(directory)} has no variable {variable!r}"
    verdict = case_verdicts[case]
    if accepted:
        assert verdict.accepted, f"[{judge.name}] {variable}={setting} should be accepted, but: {verdict.describe()}"
    else:
        assert verdict.rejects(variable), (
            f"[{judge.name}] {variable}={setting} should be rejected by {variable}, but: {verdict.describe()}"
        )


ALL_DIRS = module_dirs() + root_dirs()


def test_every_validation_block_is_shown_rejecting_something(case_verdicts, judge):
    """Coverage: each validation block has a bad-value case that it alone or jointly rejects."""
    covered: set[tuple[str, str, int]] = set()
    for (d, _, _, _, ok), verdict in zip(EXPANDED, case_verdicts):
        if not ok:
            covered |= {(rel(d), var, i) for var, idx in verdict.validations.items() for i in idx}
    missing = [
        f"{rel(d)}: variable {name!r} validation {i}"
        for d in ALL_DIRS
        for name, body in named(d, "variable").items()
        for i, _ in enumerate(body.get("validation", []))
        if (rel(d), name, i) not in covered
    ]
    assert not missing, f"[{judge.name}] validation blocks with no rejecting test case:\n" + "\n".join(missing)


@pytest.mark.parametrize("directory,env", TARGETS, ids=TARGET_IDS)
def test_defaults_and_environment_settings_pass_every_validation(directory, env, judge):
    """A module with its defaults; a root with the example and env/<env>.tfvars, as `terraform plan
    -var-file=env/<env>.tfvars` reads them."""
    verdict = judge.verdict(directory, inputs(directory, env))
    assert verdict.accepted, f"[{judge.name}] {target_id(directory, env)}: defaults/settings rejected: {verdict.describe()}"


TFVARS_FILES = [f for root in root_dirs() for env in environments(root) for f in env_var_files(root, env)]
TFVARS_FILES = sorted(set(TFVARS_FILES))


@pytest.mark.parametrize("path", TFVARS_FILES, ids=rel)
def test_tfvars_file_sets_only_declared_variables(path):
    root = path.parent.parent if path.parent.name == "env" else path.parent
    unknown = sorted(set(tfvars(path)) - set(named(root, "variable")))
    assert not unknown, f"{rel(path)} sets undeclared variables {unknown}"


@pytest.mark.parametrize("directory,env", env_targets(), ids=[target_id(d, e) for d, e in env_targets()])
def test_environment_sets_every_required_variable(directory, env):
    """terraform.tfvars (from its example) and env/<env>.tfvars together leave no variable unset."""
    given = set().union(*(tfvars(f) for f in env_var_files(directory, env)))
    required = sorted(n for n, b in named(directory, "variable").items() if "default" not in b)
    missing = [n for n in required if n not in given]
    assert not missing, f"{target_id(directory, env)}: neither terraform.tfvars.example nor env/{env}.tfvars sets {missing}"


_SIMPLE_REF = re.compile(r"\$\{(var|local)\.([A-Za-z_][\w-]*)\}")


def _render(template: Any, env_values: dict[str, Any], env_locals: dict[str, Any]) -> Any:
    """Resolves `"${var.x}"` and simple string templates like `"${var.a}-${local.b}"`."""
    if not isinstance(template, str) or "${" not in template:
        return template
    whole = _SIMPLE_REF.fullmatch(template)
    if whole:
        kind, name = whole.groups()
        source = env_values if kind == "var" else env_locals
        return _render(source.get(name), env_values, env_locals)
    if re.fullmatch(r"(?:[^$]|\$\{(?:var|local)\.[\w-]+\})*", template):
        return _SIMPLE_REF.sub(lambda m: str(_render("${%s.%s}" % m.groups(), env_values, env_locals)), template)
    return _UNRESOLVED


_UNRESOLVED = object()


@pytest.mark.parametrize("directory,env", env_targets(), ids=[f"{JUDGE}:{target_id(d, e)}" for d, e in env_targets()])
def test_environment_inputs_pass_the_module_validations(directory, env, judge):
    """The values a root hands its module (defaults, tfvars example, env/<env>.tfvars) are valid there."""
    values_of_env = env_values(directory, env)
    env_locals = locals_of(directory)
    calls = named(directory, "module")
    assert calls, f"{rel(directory)} calls no module"
    for call in calls.values():
        mod_dir = module_source_dir(directory, call)
        values = dict(MODULE_SAMPLES.get(rel(mod_dir), {}))
        for arg, expr in call.items():
            if arg.startswith("__") or arg == "source":
                continue
            resolved = _render(expr, values_of_env, env_locals)
            if resolved is not _UNRESOLVED:
                values[arg] = resolved
        verdict = judge.verdict(mod_dir, Inputs((), values))
        assert verdict.accepted, f"[{judge.name}] {target_id(directory, env)} passes values its module rejects: {verdict.describe()}"


def _longest(directory: Path, variable: str) -> int:
    """The longest value the variable's first validation allows (its regex ends in `{1,N}$`)."""
    cond = strip_interpolation(named(directory, "variable")[variable]["validation"][0]["condition"])
    return int(re.search(r"\{1,(\d+)\}", cond).group(1)) + 1


@pytest.mark.parametrize("directory", root_dirs(), ids=[f"{JUDGE}:{rel(d)}" for d in root_dirs()])
def test_longest_valid_name_prefix_and_environment_still_fit_the_module(directory, judge):
    """The root's name_prefix and environment limits guarantee a valid module name ("<prefix>-<env>")."""
    prefix, env = "m" * _longest(directory, "name_prefix"), "e" * _longest(directory, "environment")
    example = (directory / "terraform.tfvars.example",)
    fits = judge.verdict(directory, Inputs(example, {"name_prefix": prefix, "environment": env}))
    assert fits.accepted, f"[{judge.name}] name_prefix {prefix!r}, environment {env!r}: {fits.describe()}"
    for variable, value in (("name_prefix", prefix + "m"), ("environment", env + "e")):
        too_long = judge.verdict(directory, Inputs(example, {"name_prefix": prefix, "environment": env, variable: value}))
        assert too_long.rejects(variable), f"[{judge.name}] {variable} {value!r}: {too_long.describe()}"
    mod_dir = module_source_dir(directory, next(iter(named(directory, "module").values())))
    name = f"{prefix}-{env}"
    module_verdict = judge.verdict(mod_dir, Inputs((), dict(MODULE_SAMPLES[rel(mod_dir)], name=name)))
    assert module_verdict.accepted, (
        f"[{judge.name}] {rel(directory)}: name_prefix {prefix!r} and environment {env!r} are valid but the module "
        f"rejects name {name!r}: {module_verdict.describe()}"
    )
