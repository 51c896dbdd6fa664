variable "environment" {
  type        = string
  description = "Environment these settings are for (\"dev\", \"prod\"): the file env/<environment>.tfvars sets it. Named in resource names and the Environment tag."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,4}$", var.environment))
    error_message = "environment must be 2-5 lowercase letters or digits, starting with a letter, for example \"dev\" or \"prod\" (pass -var-file=env/<environment>.tfvars)."
  }
}

variable "region" {
  type        = string
  description = "AWS region of this environment."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, for example \"eu-west-1\"."
  }
}

variable "allowed_account_ids" {
  type        = list(string)
  description = "AWS account IDs this environment may be applied to; guards against applying with the wrong credentials. Empty allows any."
  default     = []

  validation {
    condition     = alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "allowed_account_ids must be 12-digit AWS account IDs."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the environment name is appended."
  default     = "mlops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name_prefix))
    error_message = "name_prefix must be 2-16 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "owner" {
  type        = string
  description = "Team that owns the resources; becomes the Owner tag."

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "owner must not be empty."
  }
}

variable "cost_center" {
  type        = string
  description = "Cost center the resources are billed to; becomes the CostCenter tag."
  default     = "ml-platform"

  validation {
    condition     = length(trimspace(var.cost_center)) > 0 && length(var.cost_center) <= 256
    error_message = "cost_center must be 1-256 characters and not blank (it is a tag value)."
  }
}

variable "extra_tags" {
  type        = map(string)
  description = "Additional tags for every resource. The required tags (Project, Environment, ManagedBy, Owner, CostCenter) win on conflict."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.extra_tags : length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "extra_tags keys must be at most 128 characters and not start with \"aws:\" (reserved by AWS); values at most 256."
  }
}

variable "create_cluster" {
  type        = bool
  description = "Create a new EKS cluster; false adds the GPU node group to existing_cluster_name."
  default     = true
}

variable "existing_cluster_name" {
  type        = string
  description = "Existing EKS cluster to use when create_cluster is false."
  default     = null
}

variable "cluster_version" {
  type        = string
  description = "Kubernetes version of a new EKS cluster."
  default     = "1.34"
}

variable "vpc_id" {
  type        = string
  description = "VPC the cluster runs in."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (two or more availability zones) for the cluster and node groups."
}

variable "cluster_endpoint_public_access" {
  type        = bool
  description = "Expose the EKS API publicly, limited to cluster_endpoint_public_access_cidrs."
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach a public EKS API endpoint."
  default     = []
}

variable "gpu_instance_types" {
  type        = list(string)
  description = "GPU instance types of the GPU node group, in order of preference."
  default     = ["g5.2xlarge", "g6.2xlarge"]
}

variable "gpu_capacity_type" {
  type        = string
  description = "\"SPOT\" or \"ON_DEMAND\" GPU capacity."
  default     = "ON_DEMAND"
}

variable "gpu_min_size" {
  type        = number
  description = "Minimum GPU nodes; 0 means no GPU cost while idle."
  default     = 0
}

variable "gpu_max_size" {
  type        = number
  description = "Maximum GPU nodes."
  default     = 4
}

variable "install_cluster_autoscaler" {
  type        = bool
  description = "Install the cluster autoscaler (needed to scale the GPU group up from zero)."
  default     = true
}

variable "install_pod_identity_agent" {
  type        = bool
  description = "Install the eks-pod-identity-agent add-on (false if an existing cluster already has it)."
  default     = true
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete a non-empty bucket and registry."
  default     = false
}

variable "pipeline_root_retention_days" {
  type        = number
  description = "Days intermediate pipeline artifacts are kept (0 = forever)."
  default     = 90
}

variable "access_log_bucket_name" {
  type        = string
  description = "Existing bucket for S3 server access logs of the artifact bucket (null = off)."
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens."
  }
}
