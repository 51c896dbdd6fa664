# Settings of the dev environment (committed). Project-specific values (project, owner,
# authorized networks) are in terraform.tfvars (git-ignored, from terraform.tfvars.example),
# which Terraform reads first; this file wins on a conflict:
#   terraform plan -var-file=env/dev.tfvars -out=tfplan

environment = "dev"

# One preemptible T4 at most, zero while idle. T4s are offered in these zones of us-central1
# (the default region; change them with the region).
gpu_node_locations    = ["us-central1-a", "us-central1-b", "us-central1-f"]
gpu_accelerator_type  = "nvidia-tesla-t4"
gpu_accelerator_count = 1
gpu_machine_type      = "n1-standard-8"
gpu_spot              = true
gpu_min_node_count    = 0
gpu_max_node_count    = 1

# Disposable: destroy removes the cluster and a non-empty bucket; intermediate artifacts kept 30 days.
deletion_protection          = false
force_destroy                = true
pipeline_root_retention_days = 30
