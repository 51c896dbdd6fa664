data "azurerm_client_config" "current" {}

locals {
  resource_group_name = coalesce(var.resource_group_name, "${var.name}-rg")

  # Globally unique names without a random provider: a short hash of the subscription and
  # name keeps them stable across plans (storage: 3-24, registry: 5-50 lowercase letters/digits).
  name_hash            = substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.name}"), 0, 8)
  compact_name         = replace(var.name, "-", "")
  storage_account_name = "${substr(local.compact_name, 0, 12)}art${local.name_hash}"
  registry_name        = "${local.compact_name}${local.name_hash}"

  # What the compiled Trainer task selects and tolerates (pipelines/config.py GpuConfig defaults:
  # toleration nvidia.com/gpu Exists NoSchedule); tests/infra cross-check both against the pool.
  gpu_label_key   = "nvidia.com/gpu.present"
  gpu_label_value = "true"
  gpu_taint_key   = "nvidia.com/gpu"
  gpu_taint       = "${local.gpu_taint_key}=present:NoSchedule"
  # AKS taints every Spot node with this itself; declaring it keeps plans free of drift.
  spot_taint_key = "kubernetes.azure.com/scalesetpriority"
  spot_taint     = "${local.spot_taint_key}=spot:NoSchedule"

  # GPUs per node of each allowed VM size (variables.tf validates the size).
  gpus_per_vm_size = {
    Standard_NC4as_T4_v3      = 1
    Standard_NC8as_T4_v3      = 1
    Standard_NC16as_T4_v3     = 1
    Standard_NC64as_T4_v3     = 4
    Standard_NV36ads_A10_v5   = 1
    Standard_NV72ads_A10_v5   = 2
    Standard_NC24ads_A100_v4  = 1
    Standard_NC48ads_A100_v4  = 2
    Standard_NC96ads_A100_v4  = 4
    Standard_ND96asr_v4       = 8
    Standard_ND96amsr_A100_v4 = 8
  }

  gpu_tolerations = concat(
    [{ key = local.gpu_taint_key, operator = "Exists", effect = "NoSchedule" }],
    var.gpu_spot ? [{ key = local.spot_taint_key, operator = "Exists", effect = "NoSchedule" }] : [],
  )

  # OSS KFP 2.17's driver accepts only gs://, s3:// and minio:// pipeline roots, and its launcher
  # keeps a task's files under /minio/<bucket>/... for a minio:// root. The artifact container is
  # mounted there (docs/kubeflow.md, Azure), so the root names KFP's own bucket.
  kfp_root_bucket = "mlpipeline"
  artifact_mount  = "/minio/${local.kfp_root_bucket}"

  tags = merge({ Component = "gpu-training" }, var.tags)
}

resource "azurerm_resource_group" "this" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

################################################################################
# Log Analytics: container insights and control-plane logs of the cluster
################################################################################

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.name}-logs"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  # Queries and ingestion need Entra ID tokens; shared workspace keys are not accepted.
  local_authentication_enabled = false
  tags                         = local.tags
}

locals {
  # The PVC every compiled task mounts (pipelines/config.py kubeflow.pipeline_volume).
  artifact_claim_name = "mlops-artifacts"

  kubernetes_manifests = templatefile("${path.module}/templates/volumes.yaml.tftpl", {
    name                    = var.name
    storage_account         = azurerm_storage_account.this.name
    resource_group          = azurerm_resource_group.this.name
    artifacts_container     = azurerm_storage_container.artifacts.name
    predictions_container   = azurerm_storage_container.predictions.name
    pipeline_client_id      = azurerm_user_assigned_identity.this["pipeline"].client_id
    serving_client_id       = azurerm_user_assigned_identity.this["serving"].client_id
    pipeline_namespace      = var.pipeline_namespace
    serving_namespace       = var.serving_namespace
    serving_service_account = var.serving_service_account
    claim_name              = local.artifact_claim_name
  })
}
