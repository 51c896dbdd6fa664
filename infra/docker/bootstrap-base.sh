#!/usr/bin/env bash
# Build a Debian 13 (trixie) base image from Debian packages with mmdebstrap and `docker import` it.
# Why: machines without Docker Hub cannot pull a Python base; the Debian mirror is reachable.
# Usage: bootstrap-base.sh TAG
set -euo pipefail
tag=${1:?usage: bootstrap-base.sh TAG}
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
# Use the mirror this machine's apt already uses, so no host name lives in the repo.
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -h -m1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -h -m1 -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)
fi
[ -n "$mirror" ] || { echo "error: set DEBIAN_MIRROR to a Debian mirror URI" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[base] mmdebstrap trixie from $mirror (about 1-2 min)" >&2
mmdebstrap --variant=minbase --mode=root --quiet \
  --include=python3,python3-venv,python3-pip,python3-dev,ca-certificates,gcc,g++,make,git \
  trixie "$tmp/rootfs.tar" "deb $mirror trixie main"
docker import "$tmp/rootfs.tar" "$tag" >/dev/null
echo "[base] imported $tag" >&2
