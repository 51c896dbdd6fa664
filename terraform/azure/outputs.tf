# `terraform output -json` of this environment is the input of
#   python -m pipelines.cloud_settings --tf-output out.json

output "cloud_provider" {
  description = "Cloud of this environment (\"azure\")."
  value       = module.gpu_training.cloud_provider
}

output "region" {
  description = "Azure region of this environment."
  value       = module.gpu_training.region
}

output "resource_group_name" {
  description = "Resource group of this environment's resources."
  value       = module.gpu_training.resource_group_name
}

output "cluster_name" {
  description = "Name of the AKS cluster."
  value       = module.gpu_training.cluster_name
}

output "cluster_endpoint" {
  description = "Endpoint of the AKS API server."
  value       = module.gpu_training.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster (Entra ID via kubelogin)."
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
  description = "Kubernetes resource name of the GPUs (nvidia.com/gpu)."
  value       = module.gpu_training.gpu_accelerator_type
}

output "gpu_accelerator_count" {
  description = "GPUs per GPU node."
  value       = module.gpu_training.gpu_accelerator_count
}

output "gpu_vm_size" {
  description = "VM size of the GPU node pool."
  value       = module.gpu_training.gpu_vm_size
}

output "storage_account_name" {
  description = "Storage account of artifacts, models and prediction logs."
  value       = module.gpu_training.storage_account_name
}

output "artifact_container_name" {
  description = "Blob container of pipeline-root/ and models/."
  value       = module.gpu_training.artifact_container_name
}

output "predictions_container_name" {
  description = "Blob container of prediction logs."
  value       = module.gpu_training.predictions_container_name
}

output "pipeline_root" {
  description = "Pipeline root for KFP runs (minio://..., mounted from the artifact container)."
  value       = module.gpu_training.pipeline_root
}

output "push_destination" {
  description = "Pusher destination for blessed models (a path on the mounted artifact container)."
  value       = module.gpu_training.push_destination
}

output "pipeline_volume" {
  description = "PVC and mount path of the artifact container in every compiled task."
  value       = module.gpu_training.pipeline_volume
}

output "image_repository_url" {
  description = "Container registry path of the pipeline image (without tag)."
  value       = module.gpu_training.image_repository_url
}

output "pipeline_identity_client_id" {
  description = "Client ID of the pipeline pods' managed identity (workload identity)."
  value       = module.gpu_training.pipeline_identity_client_id
}

output "serving_identity_client_id" {
  description = "Client ID of the model server pods' managed identity (workload identity)."
  value       = module.gpu_training.serving_identity_client_id
}

output "pipeline_namespace" {
  description = "Kubernetes namespace of the pipeline service account."
  value       = module.gpu_training.pipeline_namespace
}

output "pipeline_service_account" {
  description = "Kubernetes service account of the pipeline pods."
  value       = module.gpu_training.pipeline_service_account
}

output "serving_namespace" {
  description = "Kubernetes namespace of the model server."
  value       = module.gpu_training.serving_namespace
}

output "serving_service_account" {
  description = "Kubernetes service account of the model server pods."
  value       = module.gpu_training.serving_service_account
}

output "kubernetes_manifests" {
  description = "PersistentVolumes, claims and the serving service account to apply with kubectl."
  value       = module.gpu_training.kubernetes_manifests
}
