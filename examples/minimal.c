/* SPDX-License-Identifier: MIT */
/* minimal.c -- a complete host loop with liblelp.
 *
 * A synthetic few-class task: C = 2 classes, each made of 3 hidden Gaussian
 * subclasses in d = 32. A "teacher" (a linear head W on the embeddings) gives
 * logits. liblelp streams the embeddings, fits S = 3 subspaces per class,
 * turns each batch into 6-way soft targets, and a softmax-regression student
 * with 6 outputs is trained by SGD on liblelp's loss gradient. Prints the loss
 * per epoch, the student's held-out class accuracy, and how well the hard
 * pseudo-subclasses match the hidden subclasses (purity).
 *
 *   build/examples/minimal            (make demo runs it)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lelp.h"

enum { D = 32, C = 2, S = 3, HIDDEN = 3, N_TRAIN = 3000, N_TEST = 1000, BATCH = 100, EPOCHS = 15 };

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        int st_ = (call);                                                                    \
        if (st_ != LELP_OK) {                                                                \
            fprintf(stderr, "minimal: %s failed: %s (%s)\n", #call, lelp_status_string(st_), \
                    lelp_last_error());                                                      \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

/* Each class is a mixture of HIDDEN clusters; centres are spread so the
 * subclasses are separable but the class boundary is what the head sees. */
static void make_data(float* H, int32_t* y, int32_t* sub, int n, const double* centres)
{
    for (int i = 0; i < n; i++) {
        int c = (int)(uniform() * C), k = (int)(uniform() * HIDDEN);
        const double* mu = centres + (c * HIDDEN + k) * D;
        for (int j = 0; j < D; j++) H[i * D + j] = (float)(mu[j] + 0.8 * gauss());
        y[i] = c;
        sub[i] = c * HIDDEN + k;
    }
}

/* Fraction of examples whose hard pseudo-subclass's majority hidden
 * subclass equals their own. */
static double purity(const int32_t* y, const int32_t* assign, const int32_t* sub, int n)
{
    int count[C * S][C * HIDDEN];
    memset(count, 0, sizeof count);
    for (int i = 0; i < n; i++) count[y[i] * S + assign[i]][sub[i]]++;
    int good = 0;
    for (int p = 0; p < C * S; p++) {
        int best = 0;
        for (int h = 0; h < C * HIDDEN; h++) best = count[p][h] > best ? count[p][h] : best;
        good += best;
    }
    return (double)good / n;
}

int main(void)
{
    static double centres[C * HIDDEN * D], head[C * D];
    static float H[N_TRAIN * D], Ht[N_TEST * D], W[C * D], Z[N_TRAIN * C];
    static float T[BATCH * C * S], U[BATCH * C * S], G[BATCH * C * S];
    static int32_t y[N_TRAIN], yt[N_TEST], sub[N_TRAIN], subt[N_TEST], assign[N_TRAIN], pred[N_TEST];
    static float Ws[C * S * D], bs[C * S], Ut[N_TEST * C * S];

    for (int i = 0; i < C * HIDDEN * D; i++) centres[i] = 2.0 * gauss();
    for (int c = 0; c < C; c++) /* class offset along dimension 0 */
        for (int k = 0; k < HIDDEN; k++) centres[(c * HIDDEN + k) * D] += c ? 4.0 : -4.0;
    make_data(H, y, sub, N_TRAIN, centres);
    make_data(Ht, yt, subt, N_TEST, centres);

    /* the teacher: a fixed linear head mostly along the class direction */
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++) head[c * D + j] = (j == 0 ? (c ? 1.0 : -1.0) : 0.05 * gauss());
    for (int i = 0; i < C * D; i++) W[i] = (float)head[i];
    for (int i = 0; i < N_TRAIN; i++)
        for (int c = 0; c < C; c++) {
            double z = 0.0;
            for (int j = 0; j < D; j++) z += head[c * D + j] * H[i * D + j];
            Z[i * C + c] = (float)z;
        }

    /* 1. stream the teacher's embeddings and fit the subspaces */
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    CHECK(lelp_builder_create(&b, D, C, S, NULL));
    CHECK(lelp_builder_set_int(b, LELP_BUILDER_SEED, 7));
    for (int i = 0; i < N_TRAIN; i += 500) CHECK(lelp_builder_update(b, H + i * D, y + i, 500, D));
    CHECK(lelp_builder_set_head(b, W, C, D));
    CHECK(lelp_builder_fit(b, &m));
    double beta = 0.0;
    CHECK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    CHECK(lelp_model_assign(m, H, y, N_TRAIN, D, assign));
    printf("fit: d=%d C=%d S=%d, automatic beta=%.4f, pseudo-subclass purity vs hidden subclasses: %.3f\n", D, C, S,
           beta, purity(y, assign, sub, N_TRAIN));

    /* 2. train a softmax-regression student on liblelp's targets and gradient */
    lelp_loss* loss = NULL;
    CHECK(lelp_loss_create(&loss, C, S, NULL));
    CHECK(lelp_loss_set_double(loss, LELP_LOSS_TAU, 2.0));
    const double lr = 0.05;
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        double total = 0.0;
        for (int i0 = 0; i0 < N_TRAIN; i0 += BATCH) {
            const float* h = H + i0 * D;
            CHECK(lelp_model_targets_from_logits(m, h, Z + i0 * C, BATCH, D, 2.0, T));
            for (int i = 0; i < BATCH; i++)
                for (int k = 0; k < C * S; k++) {
                    double u = bs[k];
                    for (int j = 0; j < D; j++) u += Ws[k * D + j] * h[i * D + j];
                    U[i * C * S + k] = (float)u;
                }
            double value = 0.0;
            CHECK(lelp_loss_compute(loss, U, T, NULL, NULL, BATCH, &value, G));
            total += value;
            /* dL/dWs = G^T h, dL/dbs = sum G (G is already the batch mean) */
            for (int k = 0; k < C * S; k++) {
                double gb = 0.0;
                for (int i = 0; i < BATCH; i++) gb += G[i * C * S + k];
                bs[k] -= (float)(lr * gb);
                for (int j = 0; j < D; j++) {
                    double gw = 0.0;
                    for (int i = 0; i < BATCH; i++) gw += G[i * C * S + k] * h[i * D + j];
                    Ws[k * D + j] -= (float)(lr * gw);
                }
            }
        }
        printf("epoch %2d  loss %.5f\n", epoch + 1, total / (N_TRAIN / BATCH));
    }

    /* 3. held-out accuracy from the class marginal of the S*C logits */
    for (int i = 0; i < N_TEST; i++)
        for (int k = 0; k < C * S; k++) {
            double u = bs[k];
            for (int j = 0; j < D; j++) u += Ws[k * D + j] * Ht[i * D + j];
            Ut[i * C * S + k] = (float)u;
        }
    CHECK(lelp_predict_class(Ut, N_TEST, C, S, pred));
    int correct = 0;
    for (int i = 0; i < N_TEST; i++) correct += pred[i] == yt[i];
    double acc = (double)correct / N_TEST;
    printf("student held-out accuracy: %.3f (%d test examples)\n", acc, N_TEST);

    lelp_loss_free(loss);
    lelp_model_free(m);
    lelp_builder_free(b);
    if (acc < 0.9) {
        fprintf(stderr, "minimal: accuracy %.3f is below 0.9; something is wrong\n", acc);
        return 1;
    }
    return 0;
}
