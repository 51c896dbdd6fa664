#!/usr/bin/env bash
# Run the Terraform/infrastructure tests (tests/infra).
#
# Idempotent: creates two virtual environments on first use and reuses them afterwards.
#   .venv-infra    python-hcl2 + pytest + PyYAML (the test runner), promql-parser (a real PromQL
#                  parser, Rust, for the alert rules) and kubernetes-validate (the Kubernetes
#                  JSON schemas, bundled: the manifests are validated offline)
#   .venv-checkov  checkov, kept apart because its hcl2 fork replaces python-hcl2's
#                  `hcl2` module and its pins conflict with Airflow's.
# A stamp file inside each venv records the pinned versions; a change of pin rebuilds it.
#
# Usage: infra/scripts/test-infra.sh [--setup-only] [extra pytest args]
#   --setup-only   create/refresh the venvs and stop (used by `make setup`)
# Needs only python3 (>= 3.11, with the venv module) and access to a Python package index.
# A `terraform` binary on PATH is optional: where there is one, Terraform itself judges the
# variable validations (tests/infra/tf_judge.py); without one, tests/infra/hcl_expr.py does,
# and the test report says which.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

PYTHON=${PYTHON:-python3}
INFRA_PKGS=(python-hcl2==8.1.4 pytest==9.2.0 "pyyaml>=6,<7" promql-parser==0.11.0 kubernetes-validate==1.37.0)
CHECKOV_PKGS=(checkov==3.3.30)

# ensure_venv DIR PKG...: (re)create DIR and install PKGs unless its stamp matches.
ensure_venv() {
  local dir=$1; shift
  local want="$*"
  local stamp="$dir/.mlops-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$dir/bin/python" -c "" 2>/dev/null; then
    return 0
  fi
  echo "[test-infra] creating $dir ($want)" >&2
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet "$@"
  printf '%s' "$want" >"$stamp"
}

ensure_venv .venv-infra "${INFRA_PKGS[@]}"
ensure_venv .venv-checkov "${CHECKOV_PKGS[@]}"

if [ "${1:-}" = "--setup-only" ]; then
  echo "[test-infra] venvs ready: .venv-infra, .venv-checkov" >&2
  exit 0
fi

mkdir -p test-results
exec .venv-infra/bin/pytest tests/infra -q --junitxml=test-results/infra.xml "$@"
