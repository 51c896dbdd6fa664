data "google_project" "this" {
  project_id = var.project_id
}

data "google_container_cluster" "existing" {
  count = var.create_cluster ? 0 : 1

  project  = var.project_id
  location = var.region
  name     = var.existing_cluster_name
}

locals {
  cluster_name     = var.create_cluster ? google_container_cluster.this[0].name : data.google_container_cluster.existing[0].name
  cluster_id       = var.create_cluster ? google_container_cluster.this[0].id : data.google_container_cluster.existing[0].id
  cluster_endpoint = var.create_cluster ? google_container_cluster.this[0].endpoint : data.google_container_cluster.existing[0].endpoint

  bucket_name     = coalesce(var.artifact_bucket_name, trim(substr("${var.name}-artifacts-${var.project_id}", 0, 63), "-"))
  bucket_location = coalesce(var.bucket_location, upper(var.region))

  registry_host  = "${var.region}-docker.pkg.dev"
  image_repo_url = "${local.registry_host}/${var.project_id}/${google_artifact_registry_repository.this.repository_id}/${var.image_name}"

  # GKE labels every GPU node with its accelerator type and taints it nvidia.com/gpu.
  gpu_label_key = "cloud.google.com/gke-accelerator"
  gpu_taint_key = "nvidia.com/gpu"

  workload_pool = "${var.project_id}.svc.id.goog"

  labels = merge({ component = "gpu-training" }, var.labels)

  apis = var.enable_apis ? toset([
    "artifactregistry.googleapis.com",
    "binaryauthorization.googleapis.com",
    "container.googleapis.com",
    "iam.googleapis.com",
    "storage.googleapis.com",
  ]) : toset([])
}

resource "google_project_service" "this" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

################################################################################
# Node service account: logs and metrics only, plus pulling the pipeline image
################################################################################

resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-gke-nodes"
  display_name = "GKE nodes of ${var.name}"
}

resource "google_project_iam_member" "nodes" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

################################################################################
# GKE cluster (optional: an existing cluster can be used instead)
################################################################################

resource "google_container_cluster" "this" {
  #checkov:skip=CKV_GCP_21:resource_labels is local.labels, a merge() of var.labels that checkov cannot evaluate; tests/infra/test_terraform_static.py asserts the required labels instead.
  count = var.create_cluster ? 1 : 0

  project             = var.project_id
  name                = var.name
  location            = var.region
  network             = var.network
  subnetwork          = var.subnetwork
  deletion_protection = var.deletion_protection

  # Node pools are managed below; the default pool is removed right after creation.
  remove_default_node_pool = true
  initial_node_count       = 1

  networking_mode = "VPC_NATIVE"
  ip_allocation_policy {
    cluster_secondary_range_name  = var.pods_secondary_range_name
    services_secondary_range_name = var.services_secondary_range_name
  }

  # Dataplane V2 enforces Kubernetes NetworkPolicy itself; the legacy Calico add-on stays off.
  datapath_provider = "ADVANCED_DATAPATH"
  network_policy {
    enabled = false
  }
  enable_intranode_visibility = true
  enable_shielded_nodes       = true
  enable_legacy_abac          = false

  release_channel {
    channel = var.release_channel
  }

  workload_identity_config {
    workload_pool = local.workload_pool
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = var.enable_private_endpoint
    master_ipv4_cidr_block  = var.master_ipv4_cidr_block
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value.cidr_block
        display_name = cidr_blocks.value.display_name
      }
    }
  }

  dynamic "authenticator_groups_config" {
    for_each = var.rbac_security_group == null ? [] : [var.rbac_security_group]
    content {
      security_group = authenticator_groups_config.value
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  binary_authorization {
    evaluation_mode = var.enable_binary_authorization ? "PROJECT_SINGLETON_POLICY_ENFORCE" : "DISABLED"
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]
  }

  # Settings of the short-lived default pool; real pools are below.
  node_config {
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  resource_labels = local.labels

  lifecycle {
    ignore_changes = [node_config, initial_node_count]
  }

  depends_on = [google_project_service.this, google_project_iam_member.nodes]
}

resource "google_container_node_pool" "system" {
  count = var.create_cluster ? 1 : 0

  project  = var.project_id
  name     = "system"
  cluster  = local.cluster_id
  location = var.region

  autoscaling {
    total_min_node_count = 1
    total_max_node_count = 3
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.system_machine_type
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-balanced"
    disk_size_gb    = 50
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = { "mlops/node-pool" = "system" }
    resource_labels = local.labels
    metadata        = { disable-legacy-endpoints = "true" }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  lifecycle {
    ignore_changes = [initial_node_count]
  }
}

resource "google_container_node_pool" "gpu" {
  project        = var.project_id
  name           = "gpu-${var.gpu_accelerator_type}"
  cluster        = local.cluster_id
  location       = var.region
  node_locations = length(var.gpu_node_locations) > 0 ? var.gpu_node_locations : null

  # The GKE cluster autoscaler starts GPU nodes for pending GPU pods and removes idle ones.
  autoscaling {
    total_min_node_count = var.gpu_min_node_count
    total_max_node_count = var.gpu_max_node_count
    location_policy      = "ANY"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.gpu_machine_type
    spot            = var.gpu_spot
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-balanced"
    disk_size_gb    = var.gpu_disk_size_gb
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = { "mlops/node-pool" = "gpu" }
    resource_labels = local.labels
    metadata        = { disable-legacy-endpoints = "true" }

    guest_accelerator {
      type  = var.gpu_accelerator_type
      count = var.gpu_accelerator_count
      # GKE installs the NVIDIA driver and device plugin itself.
      gpu_driver_installation_config {
        gpu_driver_version = var.gpu_driver_version
      }
    }

    # Only pods that tolerate nvidia.com/gpu (the training steps) are scheduled here.
    taint {
      key    = local.gpu_taint_key
      value  = "present"
      effect = "NO_SCHEDULE"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  lifecycle {
    ignore_changes = [initial_node_count]
  }
}

################################################################################
# GCS artifact bucket: pipeline root and pushed models
################################################################################

resource "google_kms_crypto_key_iam_member" "gcs_cmek" {
  count = var.kms_key_name == null ? 0 : 1

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:service-${data.google_project.this.number}@gs-project-accounts.iam.gserviceaccount.com"
}

resource "google_kms_crypto_key_iam_member" "registry_cmek" {
  count = var.kms_key_name == null ? 0 : 1

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
}

resource "google_storage_bucket" "artifacts" {
  project                     = var.project_id
  name                        = local.bucket_name
  location                    = local.bucket_location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  versioning {
    enabled = true
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  dynamic "logging" {
    for_each = var.access_log_bucket_name == null ? [] : [var.access_log_bucket_name]
    content {
      log_bucket        = logging.value
      log_object_prefix = "gcs/${local.bucket_name}/"
    }
  }

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = var.noncurrent_version_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Intermediate artifacts only; pushed models under models/ never expire.
  dynamic "lifecycle_rule" {
    for_each = var.pipeline_root_retention_days > 0 ? [var.pipeline_root_retention_days] : []
    content {
      condition {
        age            = lifecycle_rule.value
        matches_prefix = ["pipeline-root/"]
      }
      action {
        type = "Delete"
      }
    }
  }

  labels = local.labels

  depends_on = [google_project_service.this, google_kms_crypto_key_iam_member.gcs_cmek]
}

################################################################################
# Artifact Registry repository for the pipeline image
################################################################################

resource "google_artifact_registry_repository" "this" {
  project       = var.project_id
  location      = var.region
  repository_id = var.name
  format        = "DOCKER"
  description   = "Pipeline images of ${var.name}"
  kms_key_name  = var.kms_key_name

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-most-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.image_retention_count
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "7776000s"
    }
  }

  labels = local.labels

  depends_on = [google_project_service.this, google_kms_crypto_key_iam_member.registry_cmek]
}

resource "google_artifact_registry_repository_iam_member" "nodes_pull" {
  project    = var.project_id
  location   = google_artifact_registry_repository.this.location
  repository = google_artifact_registry_repository.this.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.nodes.email}"
}

################################################################################
# Pipeline pods: least-privilege Google service account through Workload Identity
################################################################################

resource "google_service_account" "pipeline" {
  project      = var.project_id
  account_id   = "${var.name}-pipeline"
  display_name = "Pipeline pods of ${var.name} (${var.pipeline_namespace}/${var.pipeline_service_account})"
}

# Only the named Kubernetes service account may act as the pipeline account.
resource "google_service_account_iam_member" "pipeline_workload_identity" {
  service_account_id = google_service_account.pipeline.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${local.workload_pool}[${var.pipeline_namespace}/${var.pipeline_service_account}]"

  # The workload pool exists once the cluster has Workload Identity.
  depends_on = [google_container_cluster.this]
}

# Objects in this bucket only: read, write, delete, list.
resource "google_storage_bucket_iam_member" "pipeline_objects" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.pipeline.email}"
}

# Bucket metadata (buckets.get), which TensorFlow's GCS filesystem reads.
resource "google_storage_bucket_iam_member" "pipeline_bucket_metadata" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${google_service_account.pipeline.email}"
}

resource "google_artifact_registry_repository_iam_member" "pipeline_pull" {
  project    = var.project_id
  location   = google_artifact_registry_repository.this.location
  repository = google_artifact_registry_repository.this.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.pipeline.email}"
}
