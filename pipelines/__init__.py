"""mlops-pipelines: config, assembly, module files, runners and the `mlops` CLI."""
