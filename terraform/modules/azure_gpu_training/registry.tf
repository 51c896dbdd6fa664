################################################################################
# Container registry for the pipeline image; the kubelet identity pulls from it
################################################################################

resource "azurerm_container_registry" "this" {
  #checkov:skip=CKV_AZURE_139:Nodes pull and CI pushes over the public endpoint with Entra ID tokens only (admin user and anonymous pull are off); private endpoints need a private DNS zone in the operator's network.
  #checkov:skip=CKV_AZURE_166:Quarantine holds every pushed image until an external scanner releases it; no scanner is part of this setup (Defender for Containers scans without quarantine).
  #checkov:skip=CKV_AZURE_165:Geo-replication doubles the Premium registry cost; the image is rebuilt from the repository (make image) if the region is lost.
  #checkov:skip=CKV_AZURE_233:zone_redundancy_enabled is on whenever registry_sku is Premium (the default and prod); checkov cannot evaluate the condition, and Basic (dev) has no zone redundancy.
  #checkov:skip=CKV_AZURE_164:Content trust (Docker Notary v1) is deprecated by Azure; sign images with Notation instead.
  name                          = local.registry_name
  resource_group_name           = azurerm_resource_group.this.name
  location                      = var.location
  sku                           = var.registry_sku
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = true
  zone_redundancy_enabled       = var.registry_sku == "Premium"
  data_endpoint_enabled         = var.registry_sku == "Premium"
  # Untagged manifests expire; tags are immutable by convention (one tag per build, --image-tag).
  retention_policy_in_days = var.registry_sku == "Premium" ? var.untagged_image_retention_days : null

  tags = local.tags
}

resource "azurerm_role_assignment" "kubelet_pull" {
  scope                            = azurerm_container_registry.this.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.this.kubelet_identity[0].object_id
  skip_service_principal_aad_check = true
}
