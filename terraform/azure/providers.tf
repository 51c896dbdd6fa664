provider "azurerm" {
  subscription_id = var.subscription_id
  # The artifact account refuses shared keys: data-plane calls use Entra ID.
  storage_use_azuread = true

  features {}
}

# Talks to the cluster with short-lived Entra ID tokens (kubelogin, as `az login`); local
# accounts are disabled. 6dae42f8-... is the fixed application ID of the AKS API server.
provider "helm" {
  kubernetes = {
    host                   = module.gpu_training.cluster_endpoint
    cluster_ca_certificate = base64decode(module.gpu_training.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "kubelogin"
      args        = ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    }
  }
}
