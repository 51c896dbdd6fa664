"""Execute a compiled spec without a cluster through ``kfp.local`` (see docs/kubeflow.md)."""
