# Settings of the prod environment (committed). Account-specific values (VPC, subnets, owner,
# access log bucket) are in terraform.tfvars (git-ignored, from terraform.tfvars.example), which
# Terraform reads first; this file wins on a conflict:
#   terraform plan -var-file=env/prod.tfvars -out=tfplan

environment = "prod"

# The EKS API stays private: run terraform from inside the VPC (VPN, CI runner).
cluster_endpoint_public_access = false

# On-demand GPUs, still zero while idle.
gpu_instance_types = ["g5.2xlarge", "g6.2xlarge"]
gpu_capacity_type  = "ON_DEMAND"
gpu_min_size       = 0
gpu_max_size       = 4

# Destroy stops at a non-empty bucket or registry; intermediate artifacts kept 90 days.
force_destroy                = false
pipeline_root_retention_days = 90
