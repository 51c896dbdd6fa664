# State of the prod environment. With backend.hcl (the state bucket, git-ignored):
#   terraform init -reconfigure -backend-config=env/prod.backend.hcl -backend-config=backend.hcl
prefix = "mlops-pipelines/gcp/prod"
