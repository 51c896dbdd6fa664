locals {
  name = "${var.name_prefix}-${var.environment}"

  # azurerm has no provider-wide default tags: the module puts these on every resource.
  tags = merge(var.extra_tags, {
    Project     = "mlops-pipelines"
    Environment = var.environment
    ManagedBy   = "terraform"
    Owner       = var.owner
    CostCenter  = var.cost_center
  })
}

module "gpu_training" {
  source = "../modules/azure_gpu_training"

  name     = local.name
  location = var.location
  tags     = local.tags

  sku_tier                        = var.sku_tier
  vnet_subnet_id                  = var.vnet_subnet_id
  private_cluster_enabled         = var.private_cluster_enabled
  api_server_authorized_ip_ranges = var.api_server_authorized_ip_ranges
  admin_group_object_ids          = var.admin_group_object_ids

  gpu_vm_size   = var.gpu_vm_size
  gpu_spot      = var.gpu_spot
  gpu_min_count = var.gpu_min_count
  gpu_max_count = var.gpu_max_count
  gpu_zones     = var.gpu_zones

  storage_replication_type     = var.storage_replication_type
  storage_allowed_ip_ranges    = var.storage_allowed_ip_ranges
  pipeline_root_retention_days = var.pipeline_root_retention_days
  registry_sku                 = var.registry_sku
}
