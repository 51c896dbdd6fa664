"""Kubeflow Pipelines / Vertex AI: the task entrypoint and the compiled spec's conformance rules."""
