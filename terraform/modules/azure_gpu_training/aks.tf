################################################################################
# AKS cluster: Entra ID RBAC only, OIDC issuer + workload identity, Blob CSI driver
################################################################################

resource "azurerm_kubernetes_cluster" "this" {
  #checkov:skip=CKV_AZURE_117:Node OS disks are ephemeral (VM cache/temp disk, nothing persists) and host_encryption_enabled encrypts them on the host; a disk encryption set is a customer-managed Key Vault key the operator owns.
  name                = var.name
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  dns_prefix          = var.name
  kubernetes_version  = var.kubernetes_version
  sku_tier            = var.sku_tier

  automatic_upgrade_channel    = "patch"
  node_os_upgrade_channel      = "NodeImage"
  image_cleaner_enabled        = true
  image_cleaner_interval_hours = 48

  # Pods get Entra tokens for their Kubernetes service account (pipeline, serving, Blob CSI mounts).
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  # No static kubeconfig credentials: every user and tool authenticates with Entra ID.
  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_active_directory_role_based_access_control {
    tenant_id              = data.azurerm_client_config.current.tenant_id
    admin_group_object_ids = var.admin_group_object_ids
    azure_rbac_enabled     = true
  }

  private_cluster_enabled = var.private_cluster_enabled
  dynamic "api_server_access_profile" {
    for_each = var.private_cluster_enabled ? [] : [var.api_server_authorized_ip_ranges]
    content {
      authorized_ip_ranges = api_server_access_profile.value
    }
  }

  azure_policy_enabled = true

  default_node_pool {
    name                         = "system"
    vm_size                      = var.system_vm_size
    vnet_subnet_id               = var.vnet_subnet_id
    auto_scaling_enabled         = true
    min_count                    = 1
    max_count                    = 3
    only_critical_addons_enabled = true
    os_disk_type                 = "Ephemeral"
    os_disk_size_gb              = 64
    max_pods                     = 50
    host_encryption_enabled      = var.host_encryption_enabled
    temporary_name_for_rotation  = "systemtmp"
    node_labels                  = { "mlops/node-pool" = "system" }
    tags                         = local.tags

    upgrade_settings {
      max_surge = "10%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  # Azure CNI overlay: pod IPs outside the VNet; Cilium enforces NetworkPolicy.
  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = var.pod_cidr
    service_cidr        = var.service_cidr
    dns_service_ip      = cidrhost(var.service_cidr, 10)
    load_balancer_sku   = "standard"
  }

  # The artifact and prediction containers are mounted through BlobFuse2 (docs/kubeflow.md, Azure).
  storage_profile {
    blob_driver_enabled         = true
    disk_driver_enabled         = true
    file_driver_enabled         = false
    snapshot_controller_enabled = true
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.this.id
    msi_auth_for_monitoring_enabled = true
  }

  tags = local.tags

  lifecycle {
    # The autoscaler owns the node counts.
    ignore_changes = [default_node_pool[0].node_count]
  }
}

# Control-plane logs (API server, audit, autoscaler) go to the same workspace as container logs.
resource "azurerm_monitor_diagnostic_setting" "aks" {
  name                       = "${var.name}-control-plane"
  target_resource_id         = azurerm_kubernetes_cluster.this.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  dynamic "enabled_log" {
    for_each = toset(["kube-apiserver", "kube-audit-admin", "kube-controller-manager", "cluster-autoscaler", "guard"])
    content {
      category = enabled_log.value
    }
  }
}

################################################################################
# GPU node pool: autoscaled from zero, tainted, labelled
################################################################################

resource "azurerm_kubernetes_cluster_node_pool" "gpu" {
  name                  = "gpu"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.this.id
  mode                  = "User"
  vm_size               = var.gpu_vm_size
  vnet_subnet_id        = var.vnet_subnet_id
  zones                 = length(var.gpu_zones) > 0 ? var.gpu_zones : null
  os_sku                = "Ubuntu"
  os_disk_type          = "Managed"
  os_disk_size_gb       = var.gpu_os_disk_size_gb
  max_pods              = 50

  # AKS's cluster autoscaler starts a GPU node for a pending pod that requests nvidia.com/gpu
  # and tolerates the taint, and removes it when idle; AKS installs the NVIDIA driver.
  auto_scaling_enabled    = true
  min_count               = var.gpu_min_count
  max_count               = var.gpu_max_count
  host_encryption_enabled = var.host_encryption_enabled

  priority        = var.gpu_spot ? "Spot" : "Regular"
  eviction_policy = var.gpu_spot ? "Delete" : null
  spot_max_price  = var.gpu_spot ? -1 : null

  node_labels = {
    (local.gpu_label_key) = local.gpu_label_value
    "mlops/node-pool"     = "gpu"
  }
  # Only pods that tolerate nvidia.com/gpu (the compiled Trainer task) are scheduled here.
  node_taints = var.gpu_spot ? [local.gpu_taint, local.spot_taint] : [local.gpu_taint]

  tags = local.tags

  lifecycle {
    ignore_changes = [node_count]
  }
}

# AKS installs the driver on GPU nodes but not the device plugin that advertises nvidia.com/gpu.
resource "helm_release" "nvidia_device_plugin" {
  name       = "nvidia-device-plugin"
  namespace  = "kube-system"
  repository = "https://nvidia.github.io/k8s-device-plugin"
  chart      = "nvidia-device-plugin"
  version    = var.nvidia_device_plugin_chart_version

  values = [yamlencode({
    nodeSelector = { (local.gpu_label_key) = local.gpu_label_value }
    tolerations  = local.gpu_tolerations
  })]

  depends_on = [azurerm_kubernetes_cluster_node_pool.gpu]
}
