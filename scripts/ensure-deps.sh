#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ensure-deps.sh PKG... -- installs the Debian packages that are missing, and
# says which. Silent when everything is present. Needs root (or prints the
# command to run) when something is missing. Called by `make deps` only: no
# build target installs anything.
set -euo pipefail
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "deps: not a Debian/Ubuntu system (no dpkg/apt-get); install the equivalents of: $*" >&2
    echo "deps: (LELP_NO_DEPS=1 skips this step in make check / make demo)" >&2
    exit 1
fi
missing=()
for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == *"install ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt/dpkg may hold the lock: wait for it (up to 15 min), never break it.
apt=(apt-get -o DPkg::Lock::Timeout=900)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
