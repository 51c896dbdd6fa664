#!/usr/bin/env bash
# Create (or reuse) the host Airflow venv .venv-airflow from infra/airflow/requirements.txt, and
# the venv of the Kubeflow Pipelines / Vertex AI clients .venv-pipeline-clients from
# infra/airflow/pipeline-clients.txt (constrained by the image's infra/docker/requirements.lock).
#
# Idempotent: a stamp file inside each venv holds the sha256 of its requirements (and lock) file
# and the Python version; when they match, nothing is done. A changed pin rebuilds that venv.
# Also makes sure Debian's Chromium is present for the Playwright browser test
# (Playwright cannot download its own browsers on these machines), and Java 17+ for Spark.
#
# Usage: infra/scripts/setup-airflow.sh        (env: PYTHON=python3.11, SKIP_CHROMIUM=1, SKIP_JAVA=1)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

PYTHON=${PYTHON:-python3.11}
VENV=.venv-airflow
REQS=infra/airflow/requirements.txt
CLIENTS_VENV=.venv-pipeline-clients
CLIENTS_REQS=infra/airflow/pipeline-clients.txt
LOCK=infra/docker/requirements.lock

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "[setup-airflow] $PYTHON not found: Airflow 3.3 here is tested on Python 3.11 (set PYTHON=...)" >&2
  exit 1
fi

# ensure_venv DIR STAMP FROM DURATION IMPORTS PIP_ARGS...: (re)create DIR with `pip install
# PIP_ARGS` unless its stamp file holds STAMP; then `pip check` and, if IMPORTS is not empty,
# `python -c IMPORTS`.
ensure_venv() {
  local venv=$1 want=$2 from=$3 duration=$4 imports=$5
  shift 5
  local stamp="$venv/.mlops-stamp"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "[setup-airflow] $venv is up to date"
    return 0
  fi
  echo "[setup-airflow] creating $venv from $from (about $duration)" >&2
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  # (this machine's pip config lists local indexes that warn for every missing project: hide those lines)
  "$venv/bin/python" -m pip install --quiet "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  "$venv/bin/python" -m pip check
  if [ -n "$imports" ]; then
    "$venv/bin/python" -c "$imports"
  fi
  printf '%s' "$want" >"$stamp"
  echo "[setup-airflow] $venv ready"
}

pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
ensure_venv "$VENV" "$(sha256sum "$REQS" | cut -c1-64) $pyver" "$REQS" "1-2 minutes" "" -r "$REQS"

# The KFP / Vertex AI clients: their own venv (why: infra/airflow/pipeline-clients.txt), with the
# project image's lock file as constraints so they are the versions the image has.
ensure_venv "$CLIENTS_VENV" "$(cat "$CLIENTS_REQS" "$LOCK" | sha256sum | cut -c1-64) $pyver" "$CLIENTS_REQS" "1 minute" \
  'import kfp, google.cloud.aiplatform, yaml' -r "$CLIENTS_REQS" -c "$LOCK"

# apt_install PACKAGE WHY: a Debian package, when we are root with apt (else say what to install).
apt_install() {
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup-airflow] installing Debian $1 ($2)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >/dev/null; }
  else
    echo "[setup-airflow] $1 missing; install it (apt-get install $1) for $2" >&2
  fi
}

if [ "${SKIP_CHROMIUM:-0}" != "1" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium "the browser test"
fi

# Spark (pyspark in .venv-airflow: the feature_engineering DAG and its tests) runs on Java 17+;
# Debian 12's default-jre-headless is OpenJDK 17.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
if [ "${SKIP_JAVA:-0}" != "1" ] && { ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; }; then
  apt_install default-jre-headless "Spark (Java 17 or newer)"
fi
