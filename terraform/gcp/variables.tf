variable "environment" {
  type        = string
  description = "Environment these settings are for (\"dev\", \"prod\"): the file env/<environment>.tfvars sets it. Named in resource names and the environment label."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,4}$", var.environment))
    error_message = "environment must be 2-5 lowercase letters or digits, starting with a letter, for example \"dev\" or \"prod\" (pass -var-file=env/<environment>.tfvars)."
  }
}

variable "project_id" {
  type        = string
  description = "GCP project of this environment."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "GCP region of this environment."
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like a GCP region, for example \"us-central1\"."
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
  description = "Team that owns the resources; becomes the owner label (lowercase letters, digits, '_' and '-')."

  validation {
    condition     = can(regex("^[a-z0-9_-]{1,63}$", var.owner))
    error_message = "owner must be 1-63 lowercase letters, digits, '_' or '-' (it is used as a label value)."
  }
}

variable "cost_center" {
  type        = string
  description = "Cost center the resources are billed to; becomes the cost-center label."
  default     = "ml-platform"

  validation {
    condition     = can(regex("^[a-z0-9_-]{1,63}$", var.cost_center))
    error_message = "cost_center must be 1-63 lowercase letters, digits, '_' or '-' (it is used as a label value)."
  }
}

variable "extra_labels" {
  type        = map(string)
  description = "Additional labels for every resource. The required labels (project, environment, managed-by, owner, cost-center) win on conflict."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.extra_labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "extra_labels keys must start with a lowercase letter; keys and values may hold only lowercase letters, digits, '_' and '-' (max 63 characters)."
  }
}

variable "create_cluster" {
  type        = bool
  description = "Create a new GKE cluster; false adds the GPU node pool to existing_cluster_name."
  default     = true
}

variable "existing_cluster_name" {
  type        = string
  description = "Existing regional GKE cluster to use when create_cluster is false."
  default     = null
}

variable "network" {
  type        = string
  description = "VPC network of a new cluster."
  default     = "default"

  validation {
    condition     = can(regex("^(.+/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.network))
    error_message = "network must be a VPC network name (lowercase letters, digits and hyphens, starting with a letter) or its self link."
  }
}

variable "subnetwork" {
  type        = string
  description = "Subnetwork of a new cluster."
  default     = "default"

  validation {
    condition     = can(regex("^(.+/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.subnetwork))
    error_message = "subnetwork must be a subnetwork name (lowercase letters, digits and hyphens, starting with a letter) or its self link."
  }
}

variable "master_authorized_networks" {
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
  description = "CIDR blocks allowed to reach the GKE control plane."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the cluster on terraform destroy."
  default     = true
}

variable "gpu_node_locations" {
  type        = list(string)
  description = "Zones that offer the GPU type (empty: the cluster's zones)."
  default     = []
}

variable "gpu_accelerator_type" {
  type        = string
  description = "GPU type of the GPU node pool."
  default     = "nvidia-l4"
}

variable "gpu_accelerator_count" {
  type        = number
  description = "GPUs per GPU node."
  default     = 1
}

variable "gpu_machine_type" {
  type        = string
  description = "Machine type of the GPU nodes (must fit the GPU type)."
  default     = "g2-standard-8"
}

variable "gpu_spot" {
  type        = bool
  description = "Use Spot VMs for GPU nodes."
  default     = false
}

variable "gpu_min_node_count" {
  type        = number
  description = "Minimum GPU nodes; 0 means no GPU cost while idle."
  default     = 0
}

variable "gpu_max_node_count" {
  type        = number
  description = "Maximum GPU nodes."
  default     = 4
}

variable "kms_key_name" {
  type        = string
  description = "Optional Cloud KMS key for the bucket and registry (null: Google-managed keys)."
  default     = null
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete a non-empty bucket."
  default     = false
}

variable "pipeline_root_retention_days" {
  type        = number
  description = "Days intermediate pipeline artifacts are kept (0 = forever)."
  default     = 90
}

variable "access_log_bucket_name" {
  type        = string
  description = "Existing bucket for usage logs of the artifact bucket (null = off)."
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be a Cloud Storage bucket name: 3-63 lowercase letters, digits, dots, '_' and '-'."
  }
}
