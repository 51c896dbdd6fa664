# `terraform output -json` of this environment is the input of
#   python -m pipelines.cloud_settings --tf-output out.json

output "cloud_provider" {
  description = "Cloud of this environment (\"gcp\")."
  value       = module.gpu_training.cloud_provider
}

output "project_id" {
  description = "GCP project of this environment."
  value       = module.gpu_training.project_id
}

output "region" {
  description = "GCP region of this environment."
  value       = module.gpu_training.region
}

output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = module.gpu_training.cluster_name
}

output "cluster_endpoint" {
  description = "Endpoint of the GKE control plane."
  value       = module.gpu_training.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = module.gpu_training.kubeconfig_command
}

output "gpu_node_pool_name" {
  description = "Name of the GPU node pool."
  value       = module.gpu_training.gpu_node_pool_name
}

output "gpu_node_selector" {
  description = "Node selector for GPU pods."
  value       = module.gpu_training.gpu_node_selector
}

output "gpu_tolerations" {
  description = "Tolerations for GPU pods."
  value       = module.gpu_training.gpu_tolerations
}

output "gpu_accelerator_type" {
  description = "GPU type of the GPU node pool."
  value       = module.gpu_training.gpu_accelerator_type
}

output "gpu_accelerator_count" {
  description = "GPUs per GPU node."
  value       = module.gpu_training.gpu_accelerator_count
}

output "artifact_bucket_name" {
  description = "Name of the GCS artifact bucket."
  value       = module.gpu_training.artifact_bucket_name
}

output "pipeline_root" {
  description = "TFX pipeline root (gs://...)."
  value       = module.gpu_training.pipeline_root
}

output "push_destination" {
  description = "Pusher destination for blessed models (gs://...)."
  value       = module.gpu_training.push_destination
}

output "image_repository_url" {
  description = "Artifact Registry path of the pipeline image (without tag)."
  value       = module.gpu_training.image_repository_url
}

output "pipeline_service_account_email" {
  description = "Google service account of the pipeline pods (Workload Identity)."
  value       = module.gpu_training.pipeline_service_account_email
}

output "pipeline_namespace" {
  description = "Kubernetes namespace of the pipeline service account."
  value       = module.gpu_training.pipeline_namespace
}

output "pipeline_service_account" {
  description = "Kubernetes service account of the pipeline pods."
  value       = module.gpu_training.pipeline_service_account
}

output "pipeline_service_account_annotations" {
  description = "Annotations for the Kubernetes service account (Workload Identity)."
  value       = module.gpu_training.pipeline_service_account_annotations
}
