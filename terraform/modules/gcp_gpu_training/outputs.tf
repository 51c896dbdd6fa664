output "cloud_provider" {
  description = "Cloud this module deploys to; read by pipelines/cloud_settings.py."
  value       = "gcp"
}

output "project_id" {
  description = "GCP project of the resources."
  value       = var.project_id
}

output "region" {
  description = "GCP region of the cluster, bucket and registry."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the GKE cluster (created or existing)."
  value       = local.cluster_name
}

output "cluster_endpoint" {
  description = "Endpoint (IP address) of the GKE control plane."
  value       = local.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "gcloud container clusters get-credentials ${local.cluster_name} --region ${var.region} --project ${var.project_id}"
}

output "gpu_node_pool_name" {
  description = "Name of the GPU node pool."
  value       = google_container_node_pool.gpu.name
}

output "gpu_node_selector" {
  description = "Node selector that places a pod on the GPU node pool."
  value       = { (local.gpu_label_key) = var.gpu_accelerator_type }
}

output "gpu_tolerations" {
  description = "Tolerations a pod needs to run on the tainted GPU nodes."
  value       = [{ key = local.gpu_taint_key, operator = "Exists", effect = "NoSchedule" }]
}

output "gpu_accelerator_type" {
  description = "GPU type of the GPU node pool (for example nvidia-tesla-t4)."
  value       = var.gpu_accelerator_type
}

output "gpu_accelerator_count" {
  description = "GPUs per GPU node."
  value       = var.gpu_accelerator_count
}

output "artifact_bucket_name" {
  description = "Name of the GCS artifact bucket."
  value       = google_storage_bucket.artifacts.name
}

output "pipeline_root" {
  description = "TFX pipeline root inside the artifact bucket."
  value       = "gs://${google_storage_bucket.artifacts.name}/pipeline-root"
}

output "push_destination" {
  description = "Pusher destination for blessed models inside the artifact bucket."
  value       = "gs://${google_storage_bucket.artifacts.name}/models"
}

output "image_repository_url" {
  description = "Artifact Registry path of the pipeline image (without tag)."
  value       = local.image_repo_url
}

output "pipeline_service_account_email" {
  description = "Google service account the pipeline pods act as through Workload Identity."
  value       = google_service_account.pipeline.email
}

output "pipeline_namespace" {
  description = "Kubernetes namespace of the pipeline service account."
  value       = var.pipeline_namespace
}

output "pipeline_service_account" {
  description = "Kubernetes service account of the pipeline pods."
  value       = var.pipeline_service_account
}

output "pipeline_service_account_annotations" {
  description = "Annotations to put on the Kubernetes service account so its pods act as the Google service account."
  value       = { "iam.gke.io/gcp-service-account" = google_service_account.pipeline.email }
}
