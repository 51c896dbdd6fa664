################################################################################
# General
################################################################################

variable "name" {
  type        = string
  description = "Name prefix for every resource (for example \"mlops-dev\"). 3-24 characters: lowercase letters, digits and hyphens, starting with a letter."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  type        = string
  description = "AWS region the resources live in (for example \"eu-west-1\"). Must match the region of the configured aws provider."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, for example \"us-east-1\" or \"eu-central-1\"."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags applied to every taggable resource of the module, on top of the provider's default_tags."
  default     = {}
}

################################################################################
# EKS cluster
################################################################################

variable "create_cluster" {
  type        = bool
  description = "Create a new EKS cluster. Set to false to add the GPU node group to the existing cluster named by existing_cluster_name."
  default     = true
}

variable "existing_cluster_name" {
  type        = string
  description = "Name of an existing EKS cluster to use when create_cluster is false. Ignored otherwise."
  default     = null

  validation {
    condition     = var.create_cluster || var.existing_cluster_name != null
    error_message = "existing_cluster_name is required when create_cluster is false."
  }
}

variable "cluster_version" {
  type        = string
  description = "Kubernetes version of a new EKS cluster (\"1.MINOR\"). Bump the pinned Helm chart versions with it."
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.cluster_version))
    error_message = "cluster_version must look like \"1.34\"."
  }
}

variable "vpc_id" {
  type        = string
  description = "ID of the VPC the cluster and node groups run in."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like \"vpc-0123456789abcdef0\"."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnet IDs (at least two, in different availability zones) for the cluster and its node groups."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least two IDs that look like \"subnet-0123456789abcdef0\"."
  }
}

variable "cluster_endpoint_public_access" {
  type        = bool
  description = "Expose the EKS API endpoint publicly (restricted to cluster_endpoint_public_access_cidrs). The private endpoint is always on."
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the public EKS API endpoint when it is enabled. 0.0.0.0/0 is refused."
  default     = []

  validation {
    condition     = alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$", c)) && c != "0.0.0.0/0"])
    error_message = "cluster_endpoint_public_access_cidrs must be IPv4 CIDR blocks such as \"203.0.113.0/24\"; 0.0.0.0/0 is not allowed."
  }

  validation {
    condition     = !var.cluster_endpoint_public_access || length(var.cluster_endpoint_public_access_cidrs) > 0
    error_message = "Name at least one CIDR in cluster_endpoint_public_access_cidrs when cluster_endpoint_public_access is true."
  }
}

variable "cluster_log_retention_days" {
  type        = number
  description = "Retention in days of the EKS control-plane log group."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cluster_log_retention_days)
    error_message = "cluster_log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}

variable "system_instance_types" {
  type        = list(string)
  description = "Instance types of the small on-demand CPU node group that runs cluster add-ons (CoreDNS, autoscaler). Only created with a new cluster."
  default     = ["t3.large"]

  validation {
    condition     = length(var.system_instance_types) > 0 && alltrue([for t in var.system_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "system_instance_types must be a non-empty list of EC2 instance types such as \"t3.large\"."
  }
}

################################################################################
# GPU node group
################################################################################

variable "gpu_instance_types" {
  type        = list(string)
  description = "EC2 GPU instance types of the GPU node group, in order of preference (for example [\"g5.xlarge\", \"g6.xlarge\"])."
  default     = ["g5.xlarge"]

  validation {
    condition     = length(var.gpu_instance_types) > 0 && alltrue([for t in var.gpu_instance_types : can(regex("^(g4dn|g5|g6|g6e|gr6|p3|p3dn|p4d|p4de|p5|p5e|p5en)\\.[0-9]*x?large$", t))])
    error_message = "gpu_instance_types must be a non-empty list of NVIDIA GPU instance types (g4dn, g5, g6, g6e, gr6, p3, p3dn, p4d, p4de, p5, p5e, p5en families), for example \"g5.xlarge\"."
  }
}

variable "gpu_ami_type" {
  type        = string
  description = "EKS-optimized AMI type with NVIDIA drivers for the GPU node group. With AL2023 the module installs the NVIDIA device plugin chart; Bottlerocket runs the plugin itself."
  default     = "AL2023_x86_64_NVIDIA"

  validation {
    condition     = contains(["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"], var.gpu_ami_type)
    error_message = "gpu_ami_type must be \"AL2023_x86_64_NVIDIA\" or \"BOTTLEROCKET_x86_64_NVIDIA\"."
  }
}

variable "gpu_capacity_type" {
  type        = string
  description = "Capacity type of the GPU node group: \"ON_DEMAND\" or \"SPOT\" (cheaper, can be interrupted; TFX runs resume from cached components)."
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.gpu_capacity_type)
    error_message = "gpu_capacity_type must be \"ON_DEMAND\" or \"SPOT\"."
  }
}

variable "gpu_min_size" {
  type        = number
  description = "Minimum number of GPU nodes. Keep 0 so an idle cluster costs no GPU time."
  default     = 0

  validation {
    condition     = var.gpu_min_size >= 0 && floor(var.gpu_min_size) == var.gpu_min_size
    error_message = "gpu_min_size must be a whole number >= 0."
  }
}

variable "gpu_max_size" {
  type        = number
  description = "Maximum number of GPU nodes the cluster autoscaler may start."
  default     = 2

  validation {
    condition     = var.gpu_max_size >= 1 && var.gpu_max_size <= 100 && floor(var.gpu_max_size) == var.gpu_max_size
    error_message = "gpu_max_size must be a whole number between 1 and 100."
  }

  validation {
    condition     = var.gpu_max_size >= var.gpu_min_size
    error_message = "gpu_max_size must be greater than or equal to gpu_min_size."
  }
}

variable "gpu_disk_size_gb" {
  type        = number
  description = "Root volume size in GiB of each GPU node (images with CUDA are large)."
  default     = 100

  validation {
    condition     = var.gpu_disk_size_gb >= 50 && var.gpu_disk_size_gb <= 2000
    error_message = "gpu_disk_size_gb must be between 50 and 2000."
  }
}

variable "nvidia_device_plugin_chart_version" {
  type        = string
  description = "Pinned version of the NVIDIA k8s-device-plugin Helm chart."
  default     = "0.18.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.nvidia_device_plugin_chart_version))
    error_message = "nvidia_device_plugin_chart_version must be an exact version such as \"0.18.0\" (no ranges)."
  }
}

variable "install_cluster_autoscaler" {
  type        = bool
  description = "Install the Kubernetes cluster autoscaler, which scales the GPU node group up from zero when a GPU pod is pending and back down when idle. Disable if the cluster already runs an autoscaler (cluster-autoscaler or Karpenter)."
  default     = true
}

variable "cluster_autoscaler_chart_version" {
  type        = string
  description = "Pinned version of the cluster-autoscaler Helm chart."
  default     = "9.53.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.cluster_autoscaler_chart_version))
    error_message = "cluster_autoscaler_chart_version must be an exact version such as \"9.53.0\" (no ranges)."
  }
}

variable "install_pod_identity_agent" {
  type        = bool
  description = "Install the eks-pod-identity-agent add-on. Set to false for an existing cluster that already has it."
  default     = true
}

################################################################################
# Storage and registry
################################################################################

variable "artifact_bucket_name" {
  type        = string
  description = "Name of the S3 artifact bucket. Default: \"<name>-artifacts-<account id>-<region>\"."
  default     = null

  validation {
    condition     = var.artifact_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket_name))
    error_message = "artifact_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete a non-empty artifact bucket and registry. Keep false in production."
  default     = false
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days that overwritten or deleted object versions are kept in the artifact bucket before they expire."
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
  description = "Existing S3 bucket that receives server access logs of the artifact bucket. null disables access logging (CloudTrail data events are the alternative)."
  default     = null
}

variable "image_name" {
  type        = string
  description = "Image name inside the registry namespace; the ECR repository is \"<name>/<image_name>\"."
  default     = "mlops-pipelines"

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", var.image_name))
    error_message = "image_name must be lowercase letters and digits, optionally separated by '.', '_' or '-'."
  }
}

variable "image_retention_count" {
  type        = number
  description = "Number of most recent images kept in the ECR repository; older ones expire."
  default     = 50

  validation {
    condition     = var.image_retention_count >= 1 && var.image_retention_count <= 10000
    error_message = "image_retention_count must be between 1 and 10000."
  }
}

variable "kms_key_deletion_window_days" {
  type        = number
  description = "Waiting period before the module's KMS key is deleted after terraform destroy."
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30."
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
