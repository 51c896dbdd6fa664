# Settings of the dev environment (committed). Account-specific values (VPC, subnets, owner)
# are in terraform.tfvars (git-ignored, from terraform.tfvars.example), which Terraform reads
# first; this file wins on a conflict:
#   terraform plan -var-file=env/dev.tfvars -out=tfplan

environment = "dev"

# Cheap, interruptible GPUs that scale to zero.
gpu_instance_types = ["g5.xlarge", "g6.xlarge", "g4dn.xlarge"]
gpu_capacity_type  = "SPOT"
gpu_min_size       = 0
gpu_max_size       = 1

# Disposable: destroy removes a non-empty bucket and registry; intermediate artifacts kept 30 days.
force_destroy                = true
pipeline_root_retention_days = 30
