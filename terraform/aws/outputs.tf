# `terraform output -json` of this environment is the input of
#   python -m pipelines.cloud_settings --tf-output out.json

output "cloud_provider" {
  description = "Cloud of this environment (\"aws\")."
  value       = module.gpu_training.cloud_provider
}

output "region" {
  description = "AWS region of this environment."
  value       = module.gpu_training.region
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.gpu_training.cluster_name
}

output "cluster_endpoint" {
  description = "Endpoint of the EKS API server."
  value       = module.gpu_training.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = module.gpu_training.kubeconfig_command
}

output "gpu_node_group_name" {
  description = "Name of the GPU managed node group."
  value       = module.gpu_training.gpu_node_group_name
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
  description = "GPU resource name pods request."
  value       = module.gpu_training.gpu_accelerator_type
}

output "artifact_bucket_name" {
  description = "Name of the S3 artifact bucket."
  value       = module.gpu_training.artifact_bucket_name
}

output "pipeline_root" {
  description = "TFX pipeline root (s3://...)."
  value       = module.gpu_training.pipeline_root
}

output "push_destination" {
  description = "Pusher destination for blessed models (s3://...)."
  value       = module.gpu_training.push_destination
}

output "kms_key_arn" {
  description = "KMS key of the bucket, registry, EKS secrets and logs."
  value       = module.gpu_training.kms_key_arn
}

output "image_repository_url" {
  description = "ECR repository URL of the pipeline image (without tag)."
  value       = module.gpu_training.image_repository_url
}

output "pipeline_role_arn" {
  description = "IAM role of the pipeline pods (EKS Pod Identity)."
  value       = module.gpu_training.pipeline_role_arn
}

output "pipeline_namespace" {
  description = "Kubernetes namespace of the pipeline service account."
  value       = module.gpu_training.pipeline_namespace
}

output "pipeline_service_account" {
  description = "Kubernetes service account of the pipeline pods."
  value       = module.gpu_training.pipeline_service_account
}
