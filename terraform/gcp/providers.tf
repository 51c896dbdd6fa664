provider "google" {
  project = var.project_id
  region  = var.region

  # Every labelable resource gets these, on top of the module's explicit labels.
  default_labels = local.labels
}
