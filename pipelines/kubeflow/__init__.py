"""Kubeflow Pipelines / Vertex AI: the compiler, the task entrypoint and the compiled spec's conformance rules."""
