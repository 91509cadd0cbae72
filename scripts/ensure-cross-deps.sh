#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ensure-cross-deps.sh "ARCH..." PKG... -- what make check-cross needs: adds
# each Debian architecture (dpkg --add-architecture, for the :ARCH multiarch
# libraries) when missing, then installs the missing packages through
# ensure-deps.sh (which runs apt-get update first when something is missing).
set -euo pipefail
archs=$1
shift
have=" $(dpkg --print-architecture) $(dpkg --print-foreign-architectures | tr '\n' ' ') "
for a in $archs; do
    [[ "$have" == *" $a "* ]] && continue
    if [ "$(id -u)" -ne 0 ]; then
        echo "ensure-cross-deps: architecture $a not enabled; run: sudo dpkg --add-architecture $a" >&2
        exit 1
    fi
    echo "ensure-cross-deps: dpkg --add-architecture $a"
    dpkg --add-architecture "$a"
done
exec bash "$(dirname "$0")/ensure-deps.sh" "$@"
