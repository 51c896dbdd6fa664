################################################################################
# Workload identities: one managed identity per Kubernetes service account,
# each with data-plane roles on exactly the containers it uses
################################################################################

locals {
  identities = {
    pipeline = { namespace = var.pipeline_namespace, service_account = var.pipeline_service_account }
    serving  = { namespace = var.serving_namespace, service_account = var.serving_service_account }
  }

  # pipeline: reads and writes artifacts and pushed models. serving: reads pushed models,
  # writes prediction logs. Neither can list keys or change the account.
  container_roles = {
    pipeline-artifacts  = { identity = "pipeline", container = azurerm_storage_container.artifacts.id, role = "Storage Blob Data Contributor" }
    serving-artifacts   = { identity = "serving", container = azurerm_storage_container.artifacts.id, role = "Storage Blob Data Reader" }
    serving-predictions = { identity = "serving", container = azurerm_storage_container.predictions.id, role = "Storage Blob Data Contributor" }
  }
}

resource "azurerm_user_assigned_identity" "this" {
  for_each = local.identities

  name                = "${var.name}-${each.key}"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.tags
}

# Only the named Kubernetes service account of this cluster may act as the identity.
resource "azurerm_federated_identity_credential" "this" {
  for_each = local.identities

  name                = "${var.name}-${each.key}-k8s"
  resource_group_name = azurerm_resource_group.this.name
  parent_id           = azurerm_user_assigned_identity.this[each.key].id
  audience            = ["api://AzureADTokenExchange"]
  issuer              = azurerm_kubernetes_cluster.this.oidc_issuer_url
  subject             = "system:serviceaccount:${each.value.namespace}:${each.value.service_account}"
}

resource "azurerm_role_assignment" "containers" {
  for_each = local.container_roles

  scope                            = each.value.container
  role_definition_name             = each.value.role
  principal_id                     = azurerm_user_assigned_identity.this[each.value.identity].principal_id
  skip_service_principal_aad_check = true
}
