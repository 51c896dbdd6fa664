# Settings of the prod environment (committed). Project-specific values (project, owner,
# authorized networks, KMS key, log bucket) are in terraform.tfvars (git-ignored, from
# terraform.tfvars.example), which Terraform reads first; this file wins on a conflict:
#   terraform plan -var-file=env/prod.tfvars -out=tfplan

environment = "prod"

# On-demand L4 GPUs, zero while idle. L4s are offered in these zones of us-central1
# (the default region; change them with the region).
gpu_node_locations    = ["us-central1-a", "us-central1-b", "us-central1-c"]
gpu_accelerator_type  = "nvidia-l4"
gpu_accelerator_count = 1
gpu_machine_type      = "g2-standard-8"
gpu_spot              = false
gpu_min_node_count    = 0
gpu_max_node_count    = 4

# Destroy stops at the cluster and a non-empty bucket; intermediate artifacts kept 90 days.
deletion_protection          = true
force_destroy                = false
pipeline_root_retention_days = 90
