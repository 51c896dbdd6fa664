# State of the dev environment. With backend.hcl (the state bucket, git-ignored):
#   terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
prefix = "mlops-pipelines/gcp/dev"
