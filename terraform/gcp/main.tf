locals {
  name = "${var.name_prefix}-${var.environment}"

  labels = merge(var.extra_labels, {
    project     = "mlops-pipelines"
    environment = var.environment
    managed-by  = "terraform"
    owner       = var.owner
    cost-center = var.cost_center
  })
}

module "gpu_training" {
  source = "../modules/gcp_gpu_training"

  project_id = var.project_id
  region     = var.region
  name       = local.name
  labels     = local.labels

  create_cluster             = var.create_cluster
  existing_cluster_name      = var.existing_cluster_name
  network                    = var.network
  subnetwork                 = var.subnetwork
  master_authorized_networks = var.master_authorized_networks
  deletion_protection        = var.deletion_protection

  gpu_node_locations    = var.gpu_node_locations
  gpu_accelerator_type  = var.gpu_accelerator_type
  gpu_accelerator_count = var.gpu_accelerator_count
  gpu_machine_type      = var.gpu_machine_type
  gpu_spot              = var.gpu_spot
  gpu_min_node_count    = var.gpu_min_node_count
  gpu_max_node_count    = var.gpu_max_node_count

  kms_key_name                 = var.kms_key_name
  force_destroy                = var.force_destroy
  pipeline_root_retention_days = var.pipeline_root_retention_days
  access_log_bucket_name       = var.access_log_bucket_name
}
