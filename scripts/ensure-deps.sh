#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ensure-deps.sh PKG... -- installs the Debian packages that are missing, and
# says which. Silent when everything is present. Needs root (or prints the
# command to run) when something is missing.
set -euo pipefail
missing=()
for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == *"install ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-deps: missing Debian packages: ${missing[*]}" >&2
    echo "ensure-deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "ensure-deps: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ensure-deps: installed ${missing[*]}"
