terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.20"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
  }

  # Partial configuration: the state key of each environment comes from env/<env>.backend.hcl,
  # the state storage account from backend.hcl (copy backend.hcl.example; git-ignored). The
  # azurerm backend locks state with a blob lease; use_azuread_auth needs no account key.
  #   terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
  backend "azurerm" {
    use_azuread_auth = true
  }
}
