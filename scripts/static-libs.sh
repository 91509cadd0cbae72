#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# static-libs.sh -- prints what a static liblelp.a needs after it on the link
# line (lelp.pc's Libs.private, lelpConfig.cmake's lelp::lelp_static), derived
# from this machine's libraries rather than hard-coded:
#  - $LAPACK_STATIC_LIBS if set, else `pkg-config --static --libs lapacke openblas`
#    (OpenBLAS's static archive needs LAPACK, libgfortran, pthread), else $LAPACK_LIBS;
#  - when that names -lgfortran: the libraries gcc's libgfortran.spec adds when
#    gfortran links (-lquadmath: libgfortran.a calls quadmath_snprintf);
#  - -lm -lpthread.
set -uo pipefail
CC=${CC:-cc}
libs=${LAPACK_STATIC_LIBS:-}
if [ -z "$libs" ]; then
    libs=$(pkg-config --static --libs lapacke openblas 2>/dev/null) || libs=${LAPACK_LIBS:--llapacke -lopenblas}
fi
extra=""
if [[ " $libs " == *" -lgfortran "* ]]; then
    for compiler in "${CC%% *}" gcc gfortran; do
        spec=$("$compiler" -print-file-name=libgfortran.spec 2>/dev/null) || continue
        [ -f "$spec" ] || continue
        # '*lib: %{static-libgfortran:--as-needed} -lquadmath %{...} -lm %(libgcc) %(liborig)'
        extra=$(sed -n '/^\*lib:/ { s/%[{(][^})]*[})]//g; s/^\*lib://; p }' "$spec" | tr -s ' ' '\n' | grep '^-l' | tr '\n' ' ')
        break
    done
fi
# one copy of each flag, keeping the last (a library after everything that uses it)
printf '%s\n' $libs $extra -lm -lpthread | awk '{ a[NR] = $0; last[$0] = NR } END { s = ""; for (i = 1; i <= NR; i++) if (last[a[i]] == i) s = s (s ? " " : "") a[i]; print s }'
