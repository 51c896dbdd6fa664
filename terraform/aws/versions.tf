terraform {
  # use_lockfile (S3-native state locking) is generally available from Terraform 1.11.
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
  }

  # Partial configuration: the state key of each environment comes from env/<env>.backend.hcl,
  # the bucket and region from backend.hcl (copy backend.hcl.example; git-ignored), so no
  # account-specific name is committed.
  #   terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
