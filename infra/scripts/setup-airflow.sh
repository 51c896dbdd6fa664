#!/usr/bin/env bash
# Create (or reuse) the host Airflow venv .venv-airflow from infra/airflow/requirements.txt.
#
# Idempotent: a stamp file inside the venv holds the sha256 of the requirements file and of
# the Python version; when both match, nothing is done. A changed pin rebuilds the venv.
# Also makes sure Debian's Chromium is present for the Playwright browser test
# (Playwright cannot download its own browsers on these machines).
#
# Usage: infra/scripts/setup-airflow.sh        (env: PYTHON=python3.11, SKIP_CHROMIUM=1)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

PYTHON=${PYTHON:-python3.11}
VENV=.venv-airflow
REQS=infra/airflow/requirements.txt
STAMP="$VENV/.mlops-stamp"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "[setup-airflow] $PYTHON not found: Airflow 3.3 here is tested on Python 3.11 (set PYTHON=...)" >&2
  exit 1
fi

want="$(sha256sum "$REQS" | cut -c1-64) $("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "[setup-airflow] $VENV is up to date"
else
  echo "[setup-airflow] creating $VENV from $REQS (about 1-2 minutes)" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  # (this machine's pip config lists local indexes that warn for every missing project: hide those lines)
  "$VENV/bin/python" -m pip install --quiet -r "$REQS" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  "$VENV/bin/python" -m pip check
  printf '%s' "$want" >"$STAMP"
  echo "[setup-airflow] $VENV ready"
fi

if [ "${SKIP_CHROMIUM:-0}" != "1" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup-airflow] installing Debian chromium for the browser test" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }
  else
    echo "[setup-airflow] /usr/bin/chromium missing; install it (apt-get install chromium) for the browser test" >&2
  fi
fi
