# State of the dev environment. With backend.hcl (the state bucket, git-ignored):
#   terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
key = "mlops-pipelines/aws/dev/terraform.tfstate"
