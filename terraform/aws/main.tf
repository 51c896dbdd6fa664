locals {
  name = "${var.name_prefix}-${var.environment}"

  tags = merge(var.extra_tags, {
    Project     = "mlops-pipelines"
    Environment = var.environment
    ManagedBy   = "terraform"
    Owner       = var.owner
    CostCenter  = var.cost_center
  })
}

module "gpu_training" {
  source = "../modules/aws_gpu_training"

  name   = local.name
  region = var.region
  tags   = local.tags

  create_cluster                       = var.create_cluster
  existing_cluster_name                = var.existing_cluster_name
  cluster_version                      = var.cluster_version
  vpc_id                               = var.vpc_id
  subnet_ids                           = var.subnet_ids
  cluster_endpoint_public_access       = var.cluster_endpoint_public_access
  cluster_endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs

  gpu_instance_types = var.gpu_instance_types
  gpu_capacity_type  = var.gpu_capacity_type
  gpu_min_size       = var.gpu_min_size
  gpu_max_size       = var.gpu_max_size

  install_cluster_autoscaler = var.install_cluster_autoscaler
  install_pod_identity_agent = var.install_pod_identity_agent

  force_destroy                = var.force_destroy
  pipeline_root_retention_days = var.pipeline_root_retention_days
  access_log_bucket_name       = var.access_log_bucket_name
}
