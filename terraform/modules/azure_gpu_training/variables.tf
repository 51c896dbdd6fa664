################################################################################
# General
################################################################################

variable "name" {
  type        = string
  description = "Name prefix for every resource (for example \"mlops-dev\"). 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "location" {
  type        = string
  description = "Azure region of every resource, as the CLI names it (for example \"westeurope\", \"eastus2\"). Pick one that offers the GPU VM size (az vm list-skus --location <region> --size Standard_NC)."

  validation {
    condition     = can(regex("^[a-z]+[a-z0-9]*$", var.location))
    error_message = "location must be an Azure region name in lowercase without spaces, for example \"westeurope\" or \"eastus2\" (not \"West Europe\")."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags applied to every taggable resource of the module (azurerm has no provider-wide default tags)."
  default     = {}
}

variable "resource_group_name" {
  type        = string
  description = "Name of the resource group the module creates for its resources. null: \"<name>-rg\"."
  default     = null

  validation {
    condition     = var.resource_group_name == null || can(regex("^[-A-Za-z0-9_.()]{1,89}[-A-Za-z0-9_()]$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'."
  }
}

################################################################################
# AKS cluster
################################################################################

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the cluster (\"1.MINOR\"); AKS applies patches itself (automatic_upgrade_channel = patch). Bump the pinned Helm chart version with it."
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like \"1.34\" (minor version only; AKS picks the patch)."
  }
}

variable "sku_tier" {
  type        = string
  description = "AKS control-plane tier: \"Standard\" (financially backed API server SLA, about $73/month) or \"Free\" (no SLA, for trials)."
  default     = "Standard"

  validation {
    condition     = contains(["Free", "Standard", "Premium"], var.sku_tier)
    error_message = "sku_tier must be \"Free\", \"Standard\" or \"Premium\"."
  }
}

variable "vnet_subnet_id" {
  type        = string
  description = "Resource ID of an existing subnet for the nodes (/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/virtualNetworks/V/subnets/N). It needs the Microsoft.Storage service endpoint: the storage account admits only this subnet and storage_allowed_ip_ranges."

  validation {
    condition     = can(regex("^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworks/[^/]+/subnets/[^/]+$", var.vnet_subnet_id))
    error_message = "vnet_subnet_id must be a subnet resource ID: /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet> (az network vnet subnet show --query id)."
  }
}

variable "pod_cidr" {
  type        = string
  description = "Pod address range of the Azure CNI overlay (not routed in the VNet, must not overlap it)."
  default     = "10.244.0.0/16"

  validation {
    condition     = can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$", var.pod_cidr))
    error_message = "pod_cidr must be an IPv4 CIDR block, for example \"10.244.0.0/16\"."
  }
}

variable "service_cidr" {
  type        = string
  description = "Kubernetes service address range (must not overlap the VNet or pod_cidr). The cluster DNS service takes its 10th address."
  default     = "10.245.0.0/16"

  validation {
    condition     = can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|1[0-9]|2[0-8])$", var.service_cidr))
    error_message = "service_cidr must be an IPv4 CIDR block of /28 or larger (the DNS service takes its 10th address), for example \"10.245.0.0/16\"."
  }
}

variable "private_cluster_enabled" {
  type        = bool
  description = "Give the API server only a private endpoint in the VNet. When false, only api_server_authorized_ip_ranges reach the public endpoint."
  default     = true
}

variable "api_server_authorized_ip_ranges" {
  type        = list(string)
  description = "CIDR blocks allowed to reach a public API server endpoint (required when private_cluster_enabled is false). 0.0.0.0/0 is refused."
  default     = []

  validation {
    condition     = alltrue([for c in var.api_server_authorized_ip_ranges : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$", c)) && c != "0.0.0.0/0"])
    error_message = "api_server_authorized_ip_ranges must be IPv4 CIDR blocks; 0.0.0.0/0 is not allowed."
  }

  validation {
    condition     = var.private_cluster_enabled || length(var.api_server_authorized_ip_ranges) > 0
    error_message = "api_server_authorized_ip_ranges must list your networks when private_cluster_enabled is false (a public API server open to everyone is refused)."
  }
}

variable "admin_group_object_ids" {
  type        = list(string)
  description = "Object IDs of Microsoft Entra groups that become cluster admins (Azure RBAC for Kubernetes; local accounts are disabled)."
  default     = []

  validation {
    condition     = alltrue([for g in var.admin_group_object_ids : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", g))])
    error_message = "admin_group_object_ids must be Entra group object IDs (GUIDs): az ad group show --group <name> --query id."
  }
}

variable "system_vm_size" {
  type        = string
  description = "VM size of the system node pool (CoreDNS, metrics, CSI drivers). It must have a local temp disk of at least 64 GB for the ephemeral OS disk (a \"d\" size such as Standard_D4ds_v5)."
  default     = "Standard_D4ds_v5"

  validation {
    condition     = can(regex("^Standard_[A-Z][A-Za-z0-9]*d[A-Za-z0-9]*_v[0-9]+$", var.system_vm_size))
    error_message = "system_vm_size must be a VM size with a local temp disk (a \"d\" in the family suffix), such as \"Standard_D4ds_v5\"."
  }
}

variable "host_encryption_enabled" {
  type        = bool
  description = "Encrypt node temp disks and caches on the host. Needs the EncryptionAtHost feature registered on the subscription (az feature register --namespace Microsoft.Compute --name EncryptionAtHost)."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Days the Log Analytics workspace keeps cluster logs (container insights and control-plane logs)."
  default     = 90

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number between 30 and 730."
  }
}

################################################################################
# GPU node pool
################################################################################

variable "gpu_vm_size" {
  type        = string
  description = "NVIDIA GPU VM size of the GPU pool: T4 (Standard_NC*as_T4_v3), A10 (Standard_NV36ads_A10_v5 / NV72ads, whole GPUs only) or A100 (Standard_NC*ads_A100_v4, Standard_ND96asr_v4, Standard_ND96amsr_A100_v4)."
  default     = "Standard_NC4as_T4_v3"

  validation {
    condition = contains([
      "Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3",
      "Standard_NV36ads_A10_v5", "Standard_NV72ads_A10_v5",
      "Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4", "Standard_NC96ads_A100_v4", "Standard_ND96asr_v4", "Standard_ND96amsr_A100_v4",
    ], var.gpu_vm_size)
    error_message = "gpu_vm_size must be an NVIDIA T4, A10 or A100 size: Standard_NC4as_T4_v3, Standard_NC8as_T4_v3, Standard_NC16as_T4_v3, Standard_NC64as_T4_v3, Standard_NV36ads_A10_v5, Standard_NV72ads_A10_v5, Standard_NC24ads_A100_v4, Standard_NC48ads_A100_v4, Standard_NC96ads_A100_v4, Standard_ND96asr_v4 or Standard_ND96amsr_A100_v4 (fractional A10 sizes have no CUDA driver on AKS)."
  }
}

variable "gpu_spot" {
  type        = bool
  description = "Use Spot VMs for the GPU pool (much cheaper, can be evicted; TFX runs resume from cached components). AKS taints Spot nodes, and the gpu_tolerations output then tolerates that taint too."
  default     = false
}

variable "gpu_min_count" {
  type        = number
  description = "Minimum number of GPU nodes. Keep 0 so an idle cluster costs no GPU time."
  default     = 0

  validation {
    condition     = var.gpu_min_count >= 0 && floor(var.gpu_min_count) == var.gpu_min_count
    error_message = "gpu_min_count must be a whole number >= 0."
  }
}

variable "gpu_max_count" {
  type        = number
  description = "Maximum number of GPU nodes the cluster autoscaler may start (check the region's GPU vCPU quota)."
  default     = 2

  validation {
    condition     = var.gpu_max_count >= 1 && var.gpu_max_count <= 100 && floor(var.gpu_max_count) == var.gpu_max_count
    error_message = "gpu_max_count must be a whole number between 1 and 100."
  }

  validation {
    condition     = var.gpu_max_count >= var.gpu_min_count
    error_message = "gpu_max_count must be greater than or equal to gpu_min_count."
  }
}

variable "gpu_zones" {
  type        = list(string)
  description = "Availability zones of the GPU pool (GPU sizes are offered in some zones only). Empty: no zone pinning."
  default     = []

  validation {
    condition     = alltrue([for z in var.gpu_zones : contains(["1", "2", "3"], z)])
    error_message = "gpu_zones must hold \"1\", \"2\" or \"3\"."
  }
}

variable "gpu_os_disk_size_gb" {
  type        = number
  description = "OS disk size in GB of each GPU node (the CUDA driver and the pipeline image are large)."
  default     = 128

  validation {
    condition     = var.gpu_os_disk_size_gb >= 64 && var.gpu_os_disk_size_gb <= 2048
    error_message = "gpu_os_disk_size_gb must be between 64 and 2048."
  }
}

variable "nvidia_device_plugin_chart_version" {
  type        = string
  description = "Pinned version of the NVIDIA k8s-device-plugin Helm chart (AKS installs the driver on GPU nodes, not the device plugin)."
  default     = "0.18.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.nvidia_device_plugin_chart_version))
    error_message = "nvidia_device_plugin_chart_version must be an exact version such as \"0.18.0\" (no ranges)."
  }
}

################################################################################
# Storage and registry
################################################################################

variable "storage_replication_type" {
  type        = string
  description = "Replication of the artifact storage account: ZRS keeps a copy in each zone of the region; GZRS/RAGZRS add a paired region."
  default     = "ZRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "storage_allowed_ip_ranges" {
  type        = list(string)
  description = "Public IPs or CIDR blocks (no /31 or /32: give the address) that may reach the storage account besides the node subnet, for example a CI runner uploading data."
  default     = []

  validation {
    condition     = alltrue([for c in var.storage_allowed_ip_ranges : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}(/([0-9]|[12][0-9]|30))?$", c))])
    error_message = "storage_allowed_ip_ranges must be public IPv4 addresses or CIDR blocks up to /30 (Azure storage refuses /31 and /32: give the plain address)."
  }
}

variable "soft_delete_retention_days" {
  type        = number
  description = "Days deleted blobs and containers can be restored (blob and container soft delete)."
  default     = 30

  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 365
    error_message = "soft_delete_retention_days must be between 7 and 365."
  }
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days that overwritten or deleted blob versions are kept before they are deleted."
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 3650
    error_message = "noncurrent_version_retention_days must be between 1 and 3650."
  }
}

variable "pipeline_root_retention_days" {
  type        = number
  description = "Days that intermediate pipeline artifacts under pipeline-root/ are kept. Pushed models under models/ never expire. 0 keeps them forever."
  default     = 90

  validation {
    condition     = var.pipeline_root_retention_days >= 0 && var.pipeline_root_retention_days <= 3650
    error_message = "pipeline_root_retention_days must be between 0 (keep forever) and 3650."
  }
}

variable "prediction_log_retention_days" {
  type        = number
  description = "Days that prediction logs in the predictions container are kept. 0 keeps them forever."
  default     = 180

  validation {
    condition     = var.prediction_log_retention_days >= 0 && var.prediction_log_retention_days <= 3650
    error_message = "prediction_log_retention_days must be between 0 (keep forever) and 3650."
  }
}

variable "registry_sku" {
  type        = string
  description = "Azure Container Registry tier. Premium is needed for the untagged-manifest retention policy, zone redundancy and dedicated data endpoints."
  default     = "Premium"

  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.registry_sku)
    error_message = "registry_sku must be \"Basic\", \"Standard\" or \"Premium\"."
  }
}

variable "image_name" {
  type        = string
  description = "Image repository name inside the container registry."
  default     = "mlops-pipelines"

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", var.image_name))
    error_message = "image_name must be lowercase letters and digits, optionally separated by '.', '_' or '-'."
  }
}

variable "untagged_image_retention_days" {
  type        = number
  description = "Days untagged manifests are kept in the registry (Premium only; tags are never deleted)."
  default     = 30

  validation {
    condition     = var.untagged_image_retention_days >= 1 && var.untagged_image_retention_days <= 365
    error_message = "untagged_image_retention_days must be between 1 and 365."
  }
}

################################################################################
# Workload identities (pipeline and serving pods)
################################################################################

variable "pipeline_namespace" {
  type        = string
  description = "Kubernetes namespace the pipeline pods run in (Kubeflow Pipelines' default is \"kubeflow\")."
  default     = "kubeflow"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.pipeline_namespace))
    error_message = "pipeline_namespace must be a valid Kubernetes namespace name."
  }
}

variable "pipeline_service_account" {
  type        = string
  description = "Kubernetes service account the pipeline pods run as (Kubeflow Pipelines' default is \"pipeline-runner\")."
  default     = "pipeline-runner"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.pipeline_service_account))
    error_message = "pipeline_service_account must be a valid Kubernetes service account name."
  }
}

variable "serving_namespace" {
  type        = string
  description = "Kubernetes namespace of the model server (mlops serve)."
  default     = "mlops"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.serving_namespace))
    error_message = "serving_namespace must be a valid Kubernetes namespace name."
  }
}

variable "serving_service_account" {
  type        = string
  description = "Kubernetes service account of the model server pods."
  default     = "mlops-serve"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.serving_service_account))
    error_message = "serving_service_account must be a valid Kubernetes service account name."
  }
}
