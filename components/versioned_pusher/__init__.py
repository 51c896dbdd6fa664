"""Versioned, atomic push of blessed models to local disk, S3 or GCS, with a manifest."""
