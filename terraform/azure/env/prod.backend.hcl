# State of the prod environment. With backend.hcl (the state storage account, git-ignored):
#   terraform init -reconfigure -backend-config=env/prod.backend.hcl -backend-config=backend.hcl
key = "mlops-pipelines/azure/prod/terraform.tfstate"
