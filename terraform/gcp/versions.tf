terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # Partial configuration: the state prefix of each environment comes from
  # env/<env>.backend.hcl, the state bucket from backend.hcl (copy backend.hcl.example;
  # git-ignored). GCS locks state natively.
  #   terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
  backend "gcs" {}
}
