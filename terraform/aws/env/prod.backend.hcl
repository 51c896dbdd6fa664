# State of the prod environment. With backend.hcl (the state bucket, git-ignored):
#   terraform init -reconfigure -backend-config=env/prod.backend.hcl -backend-config=backend.hcl
key = "mlops-pipelines/aws/prod/terraform.tfstate"
