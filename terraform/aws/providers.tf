provider "aws" {
  region              = var.region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  # Every taggable AWS resource gets these, on top of the module's explicit tags.
  default_tags {
    tags = local.tags
  }
}

# Talks to the cluster the module creates (or finds) with short-lived `aws eks get-token` credentials.
provider "helm" {
  kubernetes = {
    host                   = module.gpu_training.cluster_endpoint
    cluster_ca_certificate = base64decode(module.gpu_training.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.gpu_training.cluster_name, "--region", var.region]
    }
  }
}
