output "cloud_provider" {
  description = "Cloud this module deploys to; read by pipelines/cloud_settings.py."
  value       = "aws"
}

output "region" {
  description = "AWS region of the cluster, bucket and registry."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the EKS cluster (created or existing)."
  value       = local.cluster_name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = local.cluster_arn
}

output "cluster_endpoint" {
  description = "Endpoint of the EKS API server."
  value       = local.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded CA certificate of the EKS API server."
  value       = local.cluster_ca_data
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${local.cluster_name}"
}

output "gpu_node_group_name" {
  description = "Name of the GPU managed node group."
  value       = aws_eks_node_group.gpu.node_group_name
}

output "gpu_node_selector" {
  description = "Node selector that places a pod on the GPU node group."
  value       = { (local.gpu_label_key) = local.gpu_label_value }
}

output "gpu_tolerations" {
  description = "Tolerations a pod needs to run on the tainted GPU nodes."
  value       = [{ key = local.gpu_taint_key, operator = "Exists", effect = "NoSchedule" }]
}

output "gpu_accelerator_type" {
  description = "Extended resource name GPU pods request (resources.limits)."
  value       = "nvidia.com/gpu"
}

output "artifact_bucket_name" {
  description = "Name of the S3 artifact bucket."
  value       = aws_s3_bucket.artifacts.id
}

output "artifact_bucket_arn" {
  description = "ARN of the S3 artifact bucket."
  value       = aws_s3_bucket.artifacts.arn
}

output "pipeline_root" {
  description = "TFX pipeline root inside the artifact bucket."
  value       = "s3://${aws_s3_bucket.artifacts.id}/pipeline-root"
}

output "push_destination" {
  description = "Pusher destination for blessed models inside the artifact bucket."
  value       = "s3://${aws_s3_bucket.artifacts.id}/models"
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket, registry, EKS secrets and logs."
  value       = aws_kms_key.this.arn
}

output "image_repository_url" {
  description = "URL of the ECR repository of the pipeline image (without tag)."
  value       = aws_ecr_repository.this.repository_url
}

output "pipeline_role_arn" {
  description = "ARN of the IAM role pipeline pods receive through EKS Pod Identity."
  value       = aws_iam_role.pipeline.arn
}

output "pipeline_namespace" {
  description = "Kubernetes namespace whose pipeline service account receives the pipeline role."
  value       = var.pipeline_namespace
}

output "pipeline_service_account" {
  description = "Kubernetes service account that receives the pipeline role."
  value       = var.pipeline_service_account
}
