/* SPDX-License-Identifier: MIT */
/* rotation.c -- the seeded Haar-random S x S rotation of each class. */
#include <math.h>

#include "linalg.h"

/* G is filled row-major from the class's stream; R = Q of G = QR with a
 * positive diagonal of R, computed by modified Gram-Schmidt with one
 * re-orthogonalisation pass (S is small, and MGS yields the positive-diagonal
 * factor directly). R is stored column-major: R[j*S + i] = R(i, j). */
void lelp__haar_rotation(uint64_t seed, int64_t c, int64_t S, double* R)
{
    lelp__rng rng;
    lelp__rng_init(&rng, seed, (uint64_t)c, 0);
    for (int64_t i = 0; i < S; i++)
        for (int64_t j = 0; j < S; j++) R[j * S + i] = lelp__rng_normal(&rng);
    for (int64_t j = 0; j < S; j++) {
        double* q = R + j * S;
        for (int pass = 0; pass < 2; pass++) {
            for (int64_t k = 0; k < j; k++) {
                const double* qk = R + k * S;
                double dot = 0.0;
                for (int64_t i = 0; i < S; i++) dot += qk[i] * q[i];
                for (int64_t i = 0; i < S; i++) q[i] -= dot * qk[i];
            }
        }
        double norm = 0.0;
        for (int64_t i = 0; i < S; i++) norm += q[i] * q[i];
        norm = sqrt(norm);
        for (int64_t i = 0; i < S; i++) q[i] /= norm;
    }
}
