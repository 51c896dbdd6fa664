################################################################################
# Storage account: pipeline artifacts and pushed models (container "artifacts"),
# prediction logs of the model server (container "predictions")
################################################################################

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV2_AZURE_1:Encrypted at rest with Microsoft-managed keys plus infrastructure (double) encryption; a customer-managed key needs a Key Vault the operator owns, as the optional CMEK of the GCP module.
  #checkov:skip=CKV_AZURE_59:Pods mount the containers through BlobFuse2 over the public endpoint, restricted by network_rules to the node subnet (service endpoint) and storage_allowed_ip_ranges; private endpoints need a private DNS zone in the operator's network.
  #checkov:skip=CKV2_AZURE_33:Same as CKV_AZURE_59: the node subnet reaches the account through its service endpoint; a private endpoint needs a private DNS zone in the operator's network.
  #checkov:skip=CKV_AZURE_206:ZRS by default (a copy in each zone of the region); artifacts are reproducible and versioned in place. Set storage_replication_type to GZRS/RAGZRS where DR needs a paired region.
  #checkov:skip=CKV_AZURE_33:Queue service logging; this account stores blobs only and no queue is ever created.
  name                     = local.storage_account_name
  resource_group_name      = azurerm_resource_group.this.name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.storage_replication_type

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  infrastructure_encryption_enabled = true
  # Entra ID only: the Blob CSI driver mounts with the pods' workload identity token, never a key.
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  local_user_enabled              = false
  sftp_enabled                    = false

  # Versioning keeps overwritten and deleted blobs; blob versioning excludes a hierarchical
  # namespace, so this is a flat-namespace account (see docs/kubeflow.md on renames).
  blob_properties {
    versioning_enabled  = true
    change_feed_enabled = true

    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices", "Logging", "Metrics"]
    virtual_network_subnet_ids = [var.vnet_subnet_id]
    ip_rules                   = var.storage_allowed_ip_ranges
  }

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  tags = local.tags
}

resource "azurerm_storage_container" "artifacts" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging is the diagnostic setting storage_blob below, which checkov does not link to the container.
  name                  = "artifacts"
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "predictions" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging is the diagnostic setting storage_blob below, which checkov does not link to the container.
  name                  = "predictions"
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

# Reads, writes and deletes of blobs, for audit, in the cluster's workspace.
resource "azurerm_monitor_diagnostic_setting" "storage_blob" {
  name                       = "${var.name}-blob-access"
  target_resource_id         = "${azurerm_storage_account.this.id}/blobServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  dynamic "enabled_log" {
    for_each = toset(["StorageRead", "StorageWrite", "StorageDelete"])
    content {
      category = enabled_log.value
    }
  }
}

resource "azurerm_storage_management_policy" "this" {
  storage_account_id = azurerm_storage_account.this.id

  rule {
    name    = "expire-old-versions"
    enabled = true
    filters {
      blob_types = ["blockBlob"]
    }
    actions {
      version {
        delete_after_days_since_creation = var.noncurrent_version_retention_days
      }
    }
  }

  # Intermediate artifacts and prediction logs expire (0 keeps them); pushed models under
  # artifacts/models/ never do.
  dynamic "rule" {
    for_each = { for name, r in {
      expire-pipeline-root   = { prefix = "${azurerm_storage_container.artifacts.name}/pipeline-root/", days = var.pipeline_root_retention_days }
      expire-prediction-logs = { prefix = "${azurerm_storage_container.predictions.name}/", days = var.prediction_log_retention_days }
    } : name => r if r.days > 0 }
    content {
      name    = rule.key
      enabled = true
      filters {
        blob_types   = ["blockBlob", "appendBlob"]
        prefix_match = [rule.value.prefix]
      }
      actions {
        base_blob {
          delete_after_days_since_modification_greater_than = rule.value.days
        }
      }
    }
  }
}
