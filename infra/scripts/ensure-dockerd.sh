#!/usr/bin/env bash
# Make sure a Docker engine answers. If none does, start a private dockerd as root.
# Why: CI and fresh machines have the docker.io package (or not) but no running daemon.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing docker.io (Debian package)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  else
    echo "error: no Docker engine answers and dockerd is not installed; install Docker and retry" >&2
    exit 1
  fi
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: no Docker engine answers; start one (e.g. 'sudo systemctl start docker') and retry" >&2
  exit 1
fi

state=${MLOPS_DOCKERD_STATE:-/var/lib/mlops-dockerd}
mkdir -p "$state"
echo "[setup] starting dockerd (log: $state/dockerd.log)" >&2
# --bridge=none/--iptables=false: these machines cannot create bridges; builds and runs use --network host|none.
setsid dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  --data-root "$state/data" --exec-root "$state/exec" --pidfile "$state/dockerd.pid" \
  -H unix:///var/run/docker.sock >"$state/dockerd.log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "[setup] dockerd is up" >&2; exit 0; fi
  sleep 1
done
echo "error: dockerd did not answer within 60 s; see $state/dockerd.log" >&2
tail -20 "$state/dockerd.log" >&2 || true
exit 1
