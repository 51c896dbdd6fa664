#!/usr/bin/env bash
# Run the host-side Airflow tests (tests/airflow) in .venv-airflow, in ONE pytest session.
#
# Sets the venvs up first if needed (infra/scripts/setup-airflow.sh, idempotent): .venv-airflow
# and .venv-pipeline-clients, whose kfp.Client / aiplatform.PipelineJob the kubeflow and vertex
# runner tests start. The tests start and stop their own servers (webhook receiver, SMTP sink,
# KFP and Vertex AI stand-ins, a local Airflow for the browser test), all on 127.0.0.1.
#
# The end-to-end test (marked slow) needs Docker and the project image mlops-pipelines:latest
# (`make image`); it fails with a clear message when the image is missing. Skip it with
#   infra/scripts/test-airflow.sh -m "not slow"
#
# Usage: infra/scripts/test-airflow.sh [extra pytest args]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

bash infra/scripts/setup-airflow.sh >&2
mkdir -p test-results
exec .venv-airflow/bin/pytest tests/airflow -q --junitxml=test-results/airflow.xml "$@"
