# Settings of the dev environment (committed). Subscription-specific values (subscription,
# subnet, owner, admin groups, allowed networks) are in terraform.tfvars (git-ignored, from
# terraform.tfvars.example), which Terraform reads first; this file wins on a conflict:
#   terraform plan -var-file=env/dev.tfvars -out=tfplan

environment = "dev"

# No control-plane SLA; the API server is public, limited to api_server_authorized_ip_ranges.
sku_tier                = "Free"
private_cluster_enabled = false

# One Spot T4 at most, zero while idle.
gpu_vm_size   = "Standard_NC4as_T4_v3"
gpu_spot      = true
gpu_min_count = 0
gpu_max_count = 1

# One copy per zone is not needed for disposable artifacts; kept 30 days.
storage_replication_type     = "LRS"
pipeline_root_retention_days = 30
registry_sku                 = "Basic"
