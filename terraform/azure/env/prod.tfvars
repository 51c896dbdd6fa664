# Settings of the prod environment (committed). Subscription-specific values (subscription,
# subnet, owner, admin groups) are in terraform.tfvars (git-ignored, from
# terraform.tfvars.example), which Terraform reads first; this file wins on a conflict:
#   terraform plan -var-file=env/prod.tfvars -out=tfplan

environment = "prod"

# API server SLA; the API server stays private: run terraform from inside the VNet (VPN, CI runner).
sku_tier                = "Standard"
private_cluster_enabled = true

# On-demand A10s (one whole GPU per node), still zero while idle.
gpu_vm_size   = "Standard_NV36ads_A10_v5"
gpu_spot      = false
gpu_min_count = 0
gpu_max_count = 4

# Zone-redundant artifacts, intermediate ones kept 90 days; registry with retention policy.
storage_replication_type     = "ZRS"
pipeline_root_retention_days = 90
registry_sku                 = "Premium"
