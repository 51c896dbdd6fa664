variable "environment" {
  type        = string
  description = "Environment these settings are for (\"dev\", \"prod\"): the file env/<environment>.tfvars sets it. Named in resource names and the Environment tag."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,4}$", var.environment))
    error_message = "environment must be 2-5 lowercase letters or digits, starting with a letter, for example \"dev\" or \"prod\" (pass -var-file=env/<environment>.tfvars)."
  }
}

variable "subscription_id" {
  type        = string
  description = "Azure subscription of this environment (az account show --query id); the provider refuses to act on another."

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID (az account show --query id -o tsv)."
  }
}

variable "location" {
  type        = string
  description = "Azure region of this environment (it must offer the GPU VM size)."
  default     = "westeurope"

  validation {
    condition     = can(regex("^[a-z]+[a-z0-9]*$", var.location))
    error_message = "location must be an Azure region name in lowercase without spaces, for example \"westeurope\"."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the environment name is appended."
  default     = "mlops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,13}$", var.name_prefix))
    error_message = "name_prefix must be 2-14 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "owner" {
  type        = string
  description = "Team that owns the resources; becomes the Owner tag."

  validation {
    condition     = length(trimspace(var.owner)) > 0 && length(var.owner) <= 256 && !can(regex("[<>%&\\\\?/]", var.owner))
    error_message = "owner must be 1-256 characters, not blank, without < > % & \\ ? / (it is an Azure tag value)."
  }
}

variable "cost_center" {
  type        = string
  description = "Cost center the resources are billed to; becomes the CostCenter tag."
  default     = "ml-platform"

  validation {
    condition     = length(trimspace(var.cost_center)) > 0 && length(var.cost_center) <= 256 && !can(regex("[<>%&\\\\?/]", var.cost_center))
    error_message = "cost_center must be 1-256 characters, not blank, without < > % & \\ ? / (it is an Azure tag value)."
  }
}

variable "extra_tags" {
  type        = map(string)
  description = "Additional tags for every resource. The required tags (Project, Environment, ManagedBy, Owner, CostCenter) win on conflict."
  default     = {}

  validation {
    condition = alltrue([for k, v in var.extra_tags : length(k) <= 512 && length(v) <= 256 && !can(regex("[<>%&\\\\?/]", k)) &&
    !can(regex("(?i)^(azure|microsoft|windows)", k))])
    error_message = "extra_tags keys must be at most 512 characters without < > % & \\ ? / and not start with azure, microsoft or windows (reserved); values at most 256 characters."
  }
}

variable "sku_tier" {
  type        = string
  description = "AKS control-plane tier (\"Free\": no SLA; \"Standard\": API server SLA)."
  default     = "Standard"
}

variable "vnet_subnet_id" {
  type        = string
  description = "Existing node subnet (with the Microsoft.Storage service endpoint)."
}

variable "private_cluster_enabled" {
  type        = bool
  description = "API server reachable only inside the VNet."
  default     = true
}

variable "api_server_authorized_ip_ranges" {
  type        = list(string)
  description = "CIDR blocks allowed to reach a public API server."
  default     = []
}

variable "admin_group_object_ids" {
  type        = list(string)
  description = "Entra groups that become cluster admins."
  default     = []
}

variable "gpu_vm_size" {
  type        = string
  description = "NVIDIA GPU VM size of the GPU pool (T4, A10 or A100)."
  default     = "Standard_NC4as_T4_v3"
}

variable "gpu_spot" {
  type        = bool
  description = "Use Spot VMs for the GPU pool."
  default     = false
}

variable "gpu_min_count" {
  type        = number
  description = "Minimum GPU nodes; 0 means no GPU cost while idle."
  default     = 0
}

variable "gpu_max_count" {
  type        = number
  description = "Maximum GPU nodes."
  default     = 4
}

variable "gpu_zones" {
  type        = list(string)
  description = "Availability zones of the GPU pool (empty: no pinning)."
  default     = []
}

variable "storage_replication_type" {
  type        = string
  description = "Replication of the artifact storage account."
  default     = "ZRS"
}

variable "storage_allowed_ip_ranges" {
  type        = list(string)
  description = "Public IPs/CIDRs allowed to reach the storage account besides the node subnet."
  default     = []
}

variable "pipeline_root_retention_days" {
  type        = number
  description = "Days intermediate pipeline artifacts are kept (0 = forever)."
  default     = 90
}

variable "registry_sku" {
  type        = string
  description = "Container registry tier (Premium: retention policy, zone redundancy)."
  default     = "Premium"
}
