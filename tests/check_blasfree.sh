#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The prediction/loss part of liblelp must build and link without BLAS or
# LAPACK, so an edge inference stack can embed it alone (SPEC 1.3).
set -euo pipefail
CC=${CC:-cc}
out=${BUILD:-build}/blasfree
mkdir -p "$out"
# The edge file set is defined once, in the Makefile (EDGE_SRCS).
files=${EDGE_SRCS:-$(make --no-print-directory -s print-edge-srcs)}
objs=()
for f in $files; do
    o="$out/$(basename "$f" .c).o"
    $CC -std=c11 -O2 -ffp-contract=off -Iinclude -Iliblelp -c "$f" -o "$o"
    objs+=("$o")
done
if nm "${objs[@]}" | grep -E ' U (cblas_|LAPACKE_|[sd]gemm_|openblas)'; then
    echo "check_blasfree: FAIL: a BLAS-free file references BLAS/LAPACK" >&2
    exit 1
fi
cat > "$out/edge.c" <<'C'
#include <stdio.h>
#include "lelp.h"
int main(void)
{
    float u[8] = {1, 2, 3, 4, 0, -1, 2, 5}, t[4] = {0.1f, 0.2f, 0.3f, 0.4f}, o[4], g[4];
    int32_t cls[2];
    lelp_loss* l = 0;
    double v = 0;
    if (lelp_predict_log_proba(u, 2, 2, 2, o) || lelp_predict_class(u, 2, 2, 2, cls)) return 1;
    if (lelp_loss_create(&l, 2, 2, 0) || lelp_loss_compute(l, u, t, 0, 0, 1, &v, g)) { puts(lelp_last_error()); return 2; }
    lelp_loss_free(l);
    return v > 0 ? 0 : 3;
}
C
$CC -std=c11 -Iinclude "$out/edge.c" "${objs[@]}" -lm -o "$out/edge"
"$out/edge"
echo "check_blasfree: ok ($(echo $files | wc -w) edge files link with -lm only)"
