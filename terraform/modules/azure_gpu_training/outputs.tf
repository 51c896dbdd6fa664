output "cloud_provider" {
  description = "Cloud this module deploys to; read by pipelines/cloud_settings.py."
  value       = "azure"
}

output "region" {
  description = "Azure region (location) of every resource."
  value       = var.location
}

output "resource_group_name" {
  description = "Resource group holding every resource of the module."
  value       = azurerm_resource_group.this.name
}

output "cluster_name" {
  description = "Name of the AKS cluster."
  value       = azurerm_kubernetes_cluster.this.name
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the AKS API server (the private FQDN for a private cluster)."
  value       = "https://${var.private_cluster_enabled ? azurerm_kubernetes_cluster.this.private_fqdn : azurerm_kubernetes_cluster.this.fqdn}:443"
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API server (for the helm provider)."
  value       = azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate
  sensitive   = true
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster (Entra ID login through kubelogin; local accounts are disabled)."
  value       = "az aks get-credentials --resource-group ${azurerm_resource_group.this.name} --name ${azurerm_kubernetes_cluster.this.name} --overwrite-existing && kubelogin convert-kubeconfig -l azurecli"
}

output "gpu_node_pool_name" {
  description = "Name of the GPU node pool."
  value       = azurerm_kubernetes_cluster_node_pool.gpu.name
}

output "gpu_node_selector" {
  description = "Node selector that places a pod on the GPU node pool."
  value       = { (local.gpu_label_key) = local.gpu_label_value }
}

output "gpu_tolerations" {
  description = "Tolerations a pod needs to run on the tainted GPU nodes (Spot pools add AKS's own Spot taint)."
  value       = local.gpu_tolerations
}

output "gpu_accelerator_type" {
  description = "Kubernetes resource name of the GPUs, which OSS KFP requests (kubeflow.gpu.accelerator_type)."
  value       = "nvidia.com/gpu"
}

output "gpu_accelerator_count" {
  description = "GPUs per GPU node."
  value       = local.gpus_per_vm_size[var.gpu_vm_size]
}

output "gpu_vm_size" {
  description = "VM size of the GPU node pool."
  value       = var.gpu_vm_size
}

output "storage_account_name" {
  description = "Storage account of artifacts, models and prediction logs."
  value       = azurerm_storage_account.this.name
}

output "artifact_container_name" {
  description = "Blob container holding pipeline-root/ and models/."
  value       = azurerm_storage_container.artifacts.name
}

output "predictions_container_name" {
  description = "Blob container holding the model server's prediction logs."
  value       = azurerm_storage_container.predictions.name
}

output "pipeline_root" {
  description = "Pipeline root to compile with and send with every KFP run: KFP's minio:// root whose launcher path is the mounted artifact container."
  value       = "minio://${local.kfp_root_bucket}/pipeline-root"
}

output "push_destination" {
  description = "Pusher destination for blessed models: artifacts/models/ of the storage account, as mounted in every task."
  value       = "${local.artifact_mount}/models"
}

output "pipeline_volume" {
  description = "PVC of the artifact container and where every compiled task mounts it (kubeflow.pipeline_volume)."
  value       = { claim_name = local.artifact_claim_name, mount_path = local.artifact_mount }
}

output "image_repository_url" {
  description = "Container registry path of the pipeline image (without tag)."
  value       = "${azurerm_container_registry.this.login_server}/${var.image_name}"
}

output "pipeline_identity_client_id" {
  description = "Client ID of the managed identity the pipeline pods' volume mounts use (workload identity)."
  value       = azurerm_user_assigned_identity.this["pipeline"].client_id
}

output "serving_identity_client_id" {
  description = "Client ID of the managed identity of the model server pods."
  value       = azurerm_user_assigned_identity.this["serving"].client_id
}

output "pipeline_namespace" {
  description = "Kubernetes namespace of the pipeline service account."
  value       = var.pipeline_namespace
}

output "pipeline_service_account" {
  description = "Kubernetes service account of the pipeline pods."
  value       = var.pipeline_service_account
}

output "serving_namespace" {
  description = "Kubernetes namespace of the model server."
  value       = var.serving_namespace
}

output "serving_service_account" {
  description = "Kubernetes service account of the model server pods."
  value       = var.serving_service_account
}

output "kubernetes_manifests" {
  description = "PersistentVolumes and claims of the containers (pipeline: artifacts read-write; serving: models read-only, predictions read-write) and the serving service account; apply with kubectl."
  value       = local.kubernetes_manifests
}
