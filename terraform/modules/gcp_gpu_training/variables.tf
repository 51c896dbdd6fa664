################################################################################
# General
################################################################################

variable "project_id" {
  type        = string
  description = "ID of the GCP project the resources are created in."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "GCP region of the cluster, bucket and registry (for example \"europe-west4\")."

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like a GCP region, for example \"us-central1\" or \"europe-west4\"."
  }
}

variable "name" {
  type        = string
  description = "Name prefix for every resource (for example \"mlops-dev\"). 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every labelable resource of the module (cluster, node VMs, bucket, registry), on top of the provider's default_labels."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels keys must start with a lowercase letter; keys and values may hold only lowercase letters, digits, '_' and '-' (max 63 characters)."
  }
}

variable "enable_apis" {
  type        = bool
  description = "Enable the project APIs the module needs (container, artifactregistry, storage, iam, binaryauthorization). APIs are left enabled on destroy."
  default     = true
}

################################################################################
# GKE cluster
################################################################################

variable "create_cluster" {
  type        = bool
  description = "Create a new GKE cluster. Set to false to add the GPU node pool to the existing regional cluster named by existing_cluster_name (Workload Identity must be enabled on it)."
  default     = true
}

variable "existing_cluster_name" {
  type        = string
  description = "Name of an existing GKE cluster in var.region to use when create_cluster is false. Ignored otherwise."
  default     = null

  validation {
    condition     = var.create_cluster || var.existing_cluster_name != null
    error_message = "existing_cluster_name is required when create_cluster is false."
  }
}

variable "network" {
  type        = string
  description = "Name or self link of the VPC network of a new cluster."
  default     = "default"
}

variable "subnetwork" {
  type        = string
  description = "Name or self link of the subnetwork of a new cluster."
  default     = "default"
}

variable "pods_secondary_range_name" {
  type        = string
  description = "Secondary range of the subnetwork for pod IPs. null lets GKE create one."
  default     = null
}

variable "services_secondary_range_name" {
  type        = string
  description = "Secondary range of the subnetwork for service IPs. null lets GKE create one."
  default     = null
}

variable "master_ipv4_cidr_block" {
  type        = string
  description = "/28 range for the control plane of the private cluster."
  default     = "172.16.0.0/28"

  validation {
    condition     = can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/28$", var.master_ipv4_cidr_block))
    error_message = "master_ipv4_cidr_block must be an IPv4 /28 range, for example \"172.16.0.0/28\"."
  }
}

variable "enable_private_endpoint" {
  type        = bool
  description = "Make the control plane reachable only from inside the VPC. When false, only master_authorized_networks reach the public endpoint."
  default     = false
}

variable "master_authorized_networks" {
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
  description = "CIDR blocks allowed to reach the control plane. 0.0.0.0/0 is refused."
  default     = []

  validation {
    condition     = alltrue([for n in var.master_authorized_networks : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$", n.cidr_block)) && n.cidr_block != "0.0.0.0/0"])
    error_message = "master_authorized_networks cidr_block values must be IPv4 CIDR blocks; 0.0.0.0/0 is not allowed."
  }
}

variable "release_channel" {
  type        = string
  description = "GKE release channel of a new cluster."
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be \"RAPID\", \"REGULAR\" or \"STABLE\"."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the cluster on terraform destroy. Keep true in production."
  default     = true
}

variable "enable_binary_authorization" {
  type        = bool
  description = "Enforce the project's Binary Authorization policy on the cluster (the default policy allows all images)."
  default     = true
}

variable "rbac_security_group" {
  type        = string
  description = "Google Groups for RBAC: the gke-security-groups@<your domain> group whose member groups can be bound in Kubernetes RBAC. null leaves it off (needs Google Workspace or Cloud Identity)."
  default     = null

  validation {
    condition     = var.rbac_security_group == null || can(regex("^gke-security-groups@[a-z0-9.-]+\\.[a-z]+$", var.rbac_security_group))
    error_message = "rbac_security_group must be gke-security-groups@<your domain>."
  }
}

variable "system_machine_type" {
  type        = string
  description = "Machine type of the small CPU node pool that runs system pods. Only created with a new cluster."
  default     = "e2-standard-4"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*-[a-z]+-[0-9]+$", var.system_machine_type))
    error_message = "system_machine_type must be a machine type such as \"e2-standard-4\"."
  }
}

################################################################################
# GPU node pool
################################################################################

variable "gpu_node_locations" {
  type        = list(string)
  description = "Zones of the GPU node pool (GPU types are only offered in some zones). Empty uses the cluster's zones."
  default     = []

  validation {
    condition     = alltrue([for z in var.gpu_node_locations : can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", z))])
    error_message = "gpu_node_locations must be zones such as \"us-central1-a\"."
  }
}

variable "gpu_accelerator_type" {
  type        = string
  description = "GPU type attached to each GPU node."
  default     = "nvidia-tesla-t4"

  validation {
    condition     = contains(["nvidia-tesla-t4", "nvidia-l4", "nvidia-tesla-v100", "nvidia-tesla-p100", "nvidia-tesla-p4", "nvidia-tesla-a100", "nvidia-a100-80gb", "nvidia-h100-80gb"], var.gpu_accelerator_type)
    error_message = "gpu_accelerator_type must be one of nvidia-tesla-t4, nvidia-l4, nvidia-tesla-v100, nvidia-tesla-p100, nvidia-tesla-p4, nvidia-tesla-a100, nvidia-a100-80gb, nvidia-h100-80gb."
  }
}

variable "gpu_accelerator_count" {
  type        = number
  description = "GPUs per GPU node."
  default     = 1

  validation {
    condition     = contains([1, 2, 4, 8], var.gpu_accelerator_count)
    error_message = "gpu_accelerator_count must be 1, 2, 4 or 8."
  }
}

variable "gpu_machine_type" {
  type        = string
  description = "Machine type of the GPU nodes. It must fit the GPU: n1-* for T4/V100/P100/P4, g2-* for L4, a2-highgpu-* for A100 40GB, a2-ultragpu-* for A100 80GB, a3-* for H100."
  default     = "n1-standard-8"

  validation {
    condition = (
      (contains(["nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-tesla-p100", "nvidia-tesla-p4"], var.gpu_accelerator_type) && startswith(var.gpu_machine_type, "n1-")) ||
      (var.gpu_accelerator_type == "nvidia-l4" && startswith(var.gpu_machine_type, "g2-")) ||
      (var.gpu_accelerator_type == "nvidia-tesla-a100" && startswith(var.gpu_machine_type, "a2-highgpu-")) ||
      (var.gpu_accelerator_type == "nvidia-a100-80gb" && startswith(var.gpu_machine_type, "a2-ultragpu-")) ||
      (var.gpu_accelerator_type == "nvidia-h100-80gb" && startswith(var.gpu_machine_type, "a3-"))
    )
    error_message = "gpu_machine_type does not fit gpu_accelerator_type: use n1-* for T4/V100/P100/P4, g2-* for L4, a2-highgpu-* for A100 40GB, a2-ultragpu-* for A100 80GB, a3-* for H100."
  }
}

variable "gpu_driver_version" {
  type        = string
  description = "NVIDIA driver GKE installs on the GPU nodes: \"DEFAULT\" or \"LATEST\"."
  default     = "DEFAULT"

  validation {
    condition     = contains(["DEFAULT", "LATEST"], var.gpu_driver_version)
    error_message = "gpu_driver_version must be \"DEFAULT\" or \"LATEST\"."
  }
}

variable "gpu_spot" {
  type        = bool
  description = "Use Spot VMs for the GPU nodes (much cheaper, can be preempted; TFX runs resume from cached components)."
  default     = false
}

variable "gpu_min_node_count" {
  type        = number
  description = "Minimum number of GPU nodes across all zones. Keep 0 so an idle cluster costs no GPU time."
  default     = 0

  validation {
    condition     = var.gpu_min_node_count >= 0 && floor(var.gpu_min_node_count) == var.gpu_min_node_count
    error_message = "gpu_min_node_count must be a whole number >= 0."
  }
}

variable "gpu_max_node_count" {
  type        = number
  description = "Maximum number of GPU nodes across all zones."
  default     = 2

  validation {
    condition     = var.gpu_max_node_count >= 1 && var.gpu_max_node_count <= 100 && floor(var.gpu_max_node_count) == var.gpu_max_node_count
    error_message = "gpu_max_node_count must be a whole number between 1 and 100."
  }

  validation {
    condition     = var.gpu_max_node_count >= var.gpu_min_node_count
    error_message = "gpu_max_node_count must be greater than or equal to gpu_min_node_count."
  }
}

variable "gpu_disk_size_gb" {
  type        = number
  description = "Boot disk size in GB of each GPU node."
  default     = 100

  validation {
    condition     = var.gpu_disk_size_gb >= 50 && var.gpu_disk_size_gb <= 2000
    error_message = "gpu_disk_size_gb must be between 50 and 2000."
  }
}

################################################################################
# Storage and registry
################################################################################

variable "artifact_bucket_name" {
  type        = string
  description = "Name of the GCS artifact bucket. Default: \"<name>-artifacts-<project id>\" (cut to 63 characters)."
  default     = null

  validation {
    condition     = var.artifact_bucket_name == null || can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.artifact_bucket_name))
    error_message = "artifact_bucket_name must be 3-63 lowercase letters, digits, '_' and '-', starting and ending with a letter or digit."
  }
}

variable "bucket_location" {
  type        = string
  description = "Location of the artifact bucket. null uses var.region (same region as the cluster: no egress, lower latency)."
  default     = null
}

variable "kms_key_name" {
  type        = string
  description = "Optional Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K, in the bucket's and registry's location) for customer-managed encryption of the bucket and registry. null uses Google-managed keys."
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must look like projects/P/locations/L/keyRings/R/cryptoKeys/K."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete a non-empty artifact bucket. Keep false in production."
  default     = false
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days that overwritten or deleted object versions are kept before they are deleted."
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

variable "access_log_bucket_name" {
  type        = string
  description = "Existing GCS bucket that receives usage logs of the artifact bucket. null disables usage logs (Cloud Audit Logs are the alternative)."
  default     = null
}

variable "image_name" {
  type        = string
  description = "Image name inside the Artifact Registry repository."
  default     = "mlops-pipelines"

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", var.image_name))
    error_message = "image_name must be lowercase letters and digits, optionally separated by '.', '_' or '-'."
  }
}

variable "image_retention_count" {
  type        = number
  description = "Number of most recent image versions always kept; other versions older than 90 days are deleted."
  default     = 50

  validation {
    condition     = var.image_retention_count >= 1 && var.image_retention_count <= 10000
    error_message = "image_retention_count must be between 1 and 10000."
  }
}

################################################################################
# Pipeline workload identity
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
