/* SPDX-License-Identifier: MIT */
/* compressor.c -- embedding compression (Ding & Lerch, arXiv 2402.06761;
 * SPEC section 2): a trainable linear teacher transformation e' = A e + a
 * with a linear head on e', trained on the target labels with SGD+momentum
 * or Adam (PyTorch's update rules), and the student's distance loss to
 * stopgrad(e') (MSE, cosine, 1 - distance correlation) with its gradient.
 * Parameters and optimizer state are float64. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "compress.h"

/* offsets of A (k x dt), a (k), W (C x k), bias (C) in the parameter vector */
static int64_t lelp__np(const lelp_compressor* c)
{
    return c->k * c->dt + c->k + c->C * c->k + c->C;
}

static void lelp__compressor_views(const lelp_compressor* c, double** A, double** a, double** W, double** bw)
{
    *A = c->P;
    *a = c->P + c->k * c->dt;
    *W = *a + c->k;
    *bw = *W + c->C * c->k;
}

/* A ~ N(0, 1/dt) from stream (seed, 0, 2), W ~ N(0, 1/k) from (seed, 1, 2),
 * biases 0; the optimizer state restarts. */
static void lelp__compressor_init(lelp_compressor* c)
{
    double *A, *a, *W, *bw;
    lelp__compressor_views(c, &A, &a, &W, &bw);
    const int64_t np = lelp__np(c);
    memset(c->P, 0, (size_t)np * sizeof(double));
    memset(c->m1, 0, (size_t)np * sizeof(double));
    memset(c->m2, 0, (size_t)np * sizeof(double));
    lelp__rng r;
    lelp__rng_init(&r, c->seed, 0, 2);
    for (int64_t i = 0; i < c->k * c->dt; i++) A[i] = lelp__rng_normal(&r) / sqrt((double)c->dt);
    lelp__rng_init(&r, c->seed, 1, 2);
    for (int64_t i = 0; i < c->C * c->k; i++) W[i] = lelp__rng_normal(&r) / sqrt((double)c->k);
    c->steps = 0;
}

void lelp__compressor_release(lelp_compressor* c)
{
    lelp__mem mem = c->mem;
    size_t b = lelp__bytes(lelp__np(c), 1, sizeof(double));
    lelp__free(&mem, c->P, b);
    lelp__free(&mem, c->m1, b);
    lelp__free(&mem, c->m2, b);
    lelp__free(&mem, c->G, b);
    c->magic = LELP__MAGIC_DEAD;
    lelp__free(&mem, c, sizeof *c);
}

int lelp__compressor_alloc(const lelp__mem* mem, int64_t dt, int64_t k, int64_t C, lelp_compressor** out,
                           const char* fn)
{
    *out = NULL;
    /* k*dt*8 in int64 (k, dt <= 2^20): in size_t it would be capped at 4 GiB on 32-bit targets */
    if (dt < 1 || dt > LELP__MAX_COMP_DIM || k < 1 || k > LELP__MAX_COMP_DIM || C < 1 || C > LELP__MAX_C ||
        k * dt * 8 > LELP__MAX_COMP_BYTES)
        return lelp__fail(LELP_E_INVALID_ARG, "%s: teacher_dim = %lld, student_dim = %lld, "
                          "C = %lld must be in [1, 2^20] with k*dt*8 <= 2^40 bytes", fn, (long long)dt, (long long)k,
                          (long long)C);
    const int64_t np = k * dt + k + C * k + C;
    if (lelp__bytes(np, 1, sizeof(double)) == SIZE_MAX)
        return lelp__fail(LELP_E_NOMEM, "%s: %lld parameters of 8 bytes do not fit this platform's size_t", fn,
                          (long long)np);
    lelp_compressor* c = lelp__calloc(mem, sizeof *c);
    if (!c) return lelp__fail(LELP_E_NOMEM, "%s: out of memory", fn);
    c->magic = LELP__MAGIC_COMPRESSOR;
    c->self = c;
    c->mem = *mem;
    c->dt = dt;
    c->k = k;
    c->C = C;
    c->distance = LELP_DISTANCE_MSE;
    c->optimizer = LELP_OPTIMIZER_ADAM;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->format_version = LELP__COMPRESSOR_FORMAT_VERSION;
    c->writer_version = LELP_VERSION_NUMBER;
    size_t b = lelp__bytes(lelp__np(c), 1, sizeof(double));
    c->P = lelp__alloc(mem, b);
    c->m1 = lelp__alloc(mem, b);
    c->m2 = lelp__alloc(mem, b);
    c->G = lelp__alloc(mem, b);
    if (!c->P || !c->m1 || !c->m2 || !c->G) {
        lelp__compressor_release(c);
        return lelp__fail(LELP_E_NOMEM, "%s: out of memory", fn);
    }
    *out = c;
    return LELP_OK;
}

int lelp_compressor_create(lelp_compressor** out, int64_t teacher_dim, int64_t student_dim, int64_t C,
                           const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_compressor_create: out is NULL");
    *out = NULL;
    int st = lelp__check_allocator(alloc, "lelp_compressor_create");
    if (st) return st;
    lelp__mem mem;
    lelp__mem_init(&mem, alloc);
    if ((st = lelp__compressor_alloc(&mem, teacher_dim, student_dim, C, out, "lelp_compressor_create"))) return st;
    lelp__compressor_init(*out);
    return LELP_OK;
}

void lelp_compressor_free(lelp_compressor* c)
{
    if (!c || c->magic != LELP__MAGIC_COMPRESSOR || c->self != c) return;
    lelp__compressor_release(c);
}

/* Setting the seed re-initialises the weights (only before the first step:
 * the seed is LELP__FIXED after it). */
static void lelp__compressor_param_set(void* handle, int param)
{
    if (param == LELP_COMPRESSOR_SEED) lelp__compressor_init(handle);
}

static int lelp__compressor_stepped(const void* handle)
{
    return ((const lelp_compressor*)handle)->steps > 0;
}

static const lelp__param_set lelp__compressor_params = {LELP__MAGIC_COMPRESSOR, "compressor", lelp__compressor_stepped,
                                                        "after the first step", NULL, lelp__compressor_param_set};

int lelp_compressor_set_int(lelp_compressor* c, int param, int64_t value)
{
    return lelp__param_set_int(c, &lelp__compressor_params, param, value, "lelp_compressor_set_int");
}

int lelp_compressor_set_double(lelp_compressor* c, int param, double value)
{
    return lelp__param_set_double(c, &lelp__compressor_params, param, value, "lelp_compressor_set_double");
}

int lelp_compressor_get_int(const lelp_compressor* c, int param, int64_t* value)
{
    return lelp__param_get_int(c, &lelp__compressor_params, param, value, "lelp_compressor_get_int");
}

int lelp_compressor_get_double(const lelp_compressor* c, int param, double* value)
{
    return lelp__param_get_double(c, &lelp__compressor_params, param, value, "lelp_compressor_get_double");
}

/* Ed (n x dt double) = E; Z (n x k) = Ed A^T + a */
static void lelp__compress_rows(const lelp_compressor* c, const float* E, int64_t n, double* Ed, double* Z)
{
    double *A, *a, *W, *bw;
    lelp__compressor_views(c, &A, &a, &W, &bw);
    for (int64_t i = 0; i < n * c->dt; i++) Ed[i] = (double)E[i];
    for (int64_t i = 0; i < n; i++) memcpy(Z + i * c->k, a, (size_t)c->k * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)c->k, (int)c->dt, 1.0, Ed, (int)c->dt, A,
                (int)c->dt, 1.0, Z, (int)c->k);
}

/* width: 't' the teacher dimension, 's' the student dimension; the handle is
 * checked before any of its fields is read */
static int lelp__check_rows(const lelp_compressor* c, const float* X, int64_t n, char width_of, const char* name,
                            const char* what)
{
    int st = lelp__check_handle(c, LELP__MAGIC_COMPRESSOR, what, "compressor");
    if (st) return st;
    const int64_t width = width_of == 't' ? c->dt : c->k;
    if (!X) return lelp__fail(LELP_E_NULL, "%s: %s is NULL", what, name);
    if (n < 1) return lelp__fail(LELP_E_INVALID_ARG, "%s: n = %lld must be >= 1", what, (long long)n);
    if (lelp__bytes(n, width, sizeof(double)) == SIZE_MAX)
        return lelp__fail(LELP_E_INVALID_ARG, "%s: n*width overflows", what);
    return lelp__check_finite_f32(X, n, width, what, name);
}

int lelp_compressor_compress(const lelp_compressor* c, const float* E, int64_t n, float* out)
{
    int st = lelp__check_rows(c, E, n, 't', "E", "lelp_compressor_compress");
    if (st) return st;
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_compressor_compress: out is NULL");
    size_t eb = lelp__bytes(n, c->dt, sizeof(double)), zb = lelp__bytes(n, c->k, sizeof(double));
    double* Ed = lelp__alloc(&c->mem, eb);
    double* Z = lelp__alloc(&c->mem, zb);
    if (Ed && Z) {
        lelp__compress_rows(c, E, n, Ed, Z);
        for (int64_t i = 0; i < n * c->k; i++) out[i] = (float)Z[i];
    } else {
        st = lelp__fail(LELP_E_NOMEM, "lelp_compressor_compress: out of memory for %lld rows", (long long)n);
    }
    lelp__free(&c->mem, Ed, eb);
    lelp__free(&c->mem, Z, zb);
    return st;
}

/* Head loss on logits L (n x C, overwritten with dLoss/dL): mean softmax CE
 * over rows, or sigmoid BCE averaged over all n*C entries (PyTorch's means). */
static double lelp__head_loss(const lelp_compressor* c, double* L, const int32_t* y, const float* Y, int64_t n)
{
    const int64_t C = c->C;
    double loss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double* l = L + i * C;
        if (!c->multilabel) {
            double lse = lelp__lse_f64(l, C);
            loss += lse - l[y[i]];
            for (int64_t k = 0; k < C; k++) l[k] = (exp(l[k] - lse) - (k == y[i])) / (double)n;
        } else {
            for (int64_t k = 0; k < C; k++) {
                double x = l[k], t = (double)Y[i * C + k];
                /* softplus(x) - t x, stable for either sign */
                loss += (x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x))) - t * x;
                double sig = x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
                l[k] = (sig - t) / (double)(n * C);
            }
        }
    }
    return c->multilabel ? loss / (double)(n * C) : loss / (double)n;
}

/* PyTorch's SGD (momentum, L2 weight decay) and Adam (L2 weight decay). */
static void lelp__optimizer_update(lelp_compressor* c)
{
    const int64_t np = lelp__np(c);
    double* p = c->P;
    double* g = c->G;
    c->steps++;
    if (c->optimizer == LELP_OPTIMIZER_SGD) {
        for (int64_t i = 0; i < np; i++) {
            double gi = g[i] + c->wd * p[i];
            c->m1[i] = c->steps == 1 ? gi : c->momentum * c->m1[i] + gi;
            p[i] -= c->lr * c->m1[i];
        }
        return;
    }
    const double b1t = 1.0 - pow(c->beta1, (double)c->steps), b2t = 1.0 - pow(c->beta2, (double)c->steps);
    for (int64_t i = 0; i < np; i++) {
        double gi = g[i] + c->wd * p[i];
        c->m1[i] = c->beta1 * c->m1[i] + (1.0 - c->beta1) * gi;
        c->m2[i] = c->beta2 * c->m2[i] + (1.0 - c->beta2) * gi * gi;
        p[i] -= c->lr * (c->m1[i] / b1t) / (sqrt(c->m2[i] / b2t) + 1e-8);
    }
}

static int lelp__step_checks(lelp_compressor* c, const float* E, const int32_t* labels, const float* Y, int64_t n,
                             double* loss)
{
    int st = lelp__check_rows(c, E, n, 't', "E", "lelp_compressor_step");
    if (st) return st;
    if (!loss) return lelp__fail(LELP_E_NULL, "lelp_compressor_step: loss is NULL");
    if (!c->multilabel) {
        if (!labels) return lelp__fail(LELP_E_NULL, "lelp_compressor_step: labels is NULL (single-label compressor)");
        if (Y) return lelp__fail(LELP_E_PARAM_COMBINATION, "lelp_compressor_step: Y given to a single-label compressor");
        return lelp__check_labels(labels, n, c->C, "lelp_compressor_step", "labels");
    }
    if (!Y) return lelp__fail(LELP_E_NULL, "lelp_compressor_step: Y is NULL (multi-label compressor)");
    if (labels) return lelp__fail(LELP_E_PARAM_COMBINATION, "lelp_compressor_step: labels given to a multi-label compressor");
    if ((st = lelp__check_finite_f32(Y, n, c->C, "lelp_compressor_step", "Y"))) return st;
    for (int64_t i = 0; i < n * c->C; i++)
        if (Y[i] < 0.0f || Y[i] > 1.0f)
            return lelp__fail(LELP_E_INVALID_TARGETS, "lelp_compressor_step: Y at row %lld is outside [0, 1]",
                              (long long)(i / c->C));
    return LELP_OK;
}

int lelp_compressor_step(lelp_compressor* c, const float* E, const int32_t* labels, const float* Y, int64_t n,
                         double* loss)
{
    int st = lelp__step_checks(c, E, labels, Y, n, loss);
    if (st) return st;
    const int64_t dt = c->dt, k = c->k, C = c->C;
    size_t eb = lelp__bytes(n, dt, sizeof(double)), zb = lelp__bytes(n, k, sizeof(double));
    size_t lb = lelp__bytes(n, C, sizeof(double));
    double* Ed = lelp__alloc(&c->mem, eb);
    double* Z = lelp__alloc(&c->mem, zb);
    double* dZ = lelp__alloc(&c->mem, zb);
    double* L = lelp__alloc(&c->mem, lb);
    if (!Ed || !Z || !dZ || !L) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_compressor_step: out of memory for %lld rows", (long long)n);
        goto done;
    }
    double *A, *a, *W, *bw, *gA, *ga, *gW, *gb;
    lelp__compressor_views(c, &A, &a, &W, &bw);
    gA = c->G;
    ga = gA + k * dt;
    gW = ga + k;
    gb = gW + C * k;
    lelp__compress_rows(c, E, n, Ed, Z);
    for (int64_t i = 0; i < n; i++) memcpy(L + i * C, bw, (size_t)C * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)C, (int)k, 1.0, Z, (int)k, W, (int)k, 1.0, L,
                (int)C);
    *loss = lelp__head_loss(c, L, labels, Y, n);
    if (!isfinite(*loss)) {
        st = lelp__fail(LELP_E_NUMERICAL, "lelp_compressor_step: the head loss is not finite (learning rate too large?)");
        goto done;
    }
    /* backward: dW = dL^T Z, db = sum dL, dZ = dL W, dA = dZ^T E, da = sum dZ */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)C, (int)k, (int)n, 1.0, L, (int)C, Z, (int)k, 0.0, gW,
                (int)k);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)C, 1.0, L, (int)C, W, (int)k, 0.0, dZ,
                (int)k);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)dt, (int)n, 1.0, dZ, (int)k, Ed, (int)dt, 0.0,
                gA, (int)dt);
    for (int64_t j = 0; j < C; j++) gb[j] = 0.0;
    for (int64_t j = 0; j < k; j++) ga[j] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < C; j++) gb[j] += L[i * C + j];
        for (int64_t j = 0; j < k; j++) ga[j] += dZ[i * k + j];
    }
    lelp__optimizer_update(c);
done:
    lelp__free(&c->mem, Ed, eb);
    lelp__free(&c->mem, Z, zb);
    lelp__free(&c->mem, dZ, zb);
    lelp__free(&c->mem, L, lb);
    return st;
}

int lelp_compressor_weights(const lelp_compressor* c, float* A, float* a, float* W, float* bias)
{
    int st = lelp__check_handle(c, LELP__MAGIC_COMPRESSOR, "lelp_compressor_weights", "compressor");
    if (st) return st;
    double *pA, *pa, *pW, *pb;
    lelp__compressor_views(c, &pA, &pa, &pW, &pb);
    if (A)
        for (int64_t i = 0; i < c->k * c->dt; i++) A[i] = (float)pA[i];
    if (a)
        for (int64_t i = 0; i < c->k; i++) a[i] = (float)pa[i];
    if (W)
        for (int64_t i = 0; i < c->C * c->k; i++) W[i] = (float)pW[i];
    if (bias)
        for (int64_t i = 0; i < c->C; i++) bias[i] = (float)pb[i];
    return LELP_OK;
}

int lelp_compressor_student_loss(const lelp_compressor* c, const float* F, const float* E, int64_t n, double* value,
                                 float* grad)
{
    int st = lelp__check_rows(c, F, n, 's', "F", "lelp_compressor_student_loss");
    if (st) return st;
    if ((st = lelp__check_rows(c, E, n, 't', "E", "lelp_compressor_student_loss"))) return st;
    if (!value) return lelp__fail(LELP_E_NULL, "lelp_compressor_student_loss: value is NULL");
    if (c->distance == LELP_DISTANCE_DCOR && n < 2)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_compressor_student_loss: distance correlation needs n >= 2");
    size_t eb = lelp__bytes(n, c->dt, sizeof(double)), zb = lelp__bytes(n, c->k, sizeof(double));
    double* Ed = lelp__alloc(&c->mem, eb);
    double* Z = lelp__alloc(&c->mem, zb);
    if (!Ed || !Z) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_compressor_student_loss: out of memory for %lld rows", (long long)n);
    } else {
        lelp__compress_rows(c, E, n, Ed, Z);
        st = lelp__distance_loss(&c->mem, c->distance, F, Z, n, c->k, value, grad);
    }
    lelp__free(&c->mem, Ed, eb);
    lelp__free(&c->mem, Z, zb);
    return st;
}
