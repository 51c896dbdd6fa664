# State of the dev environment. With backend.hcl (the state storage account, git-ignored):
#   terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
key = "mlops-pipelines/azure/dev/terraform.tfstate"
