terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # Partial configuration: the state bucket comes from backend.hcl
  # (copy backend.hcl.example). GCS locks state natively.
  #   terraform init -backend-config=backend.hcl
  backend "gcs" {
    prefix = "mlops-pipelines/gcp/dev"
  }
}
