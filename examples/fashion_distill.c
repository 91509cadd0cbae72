/* SPDX-License-Identifier: MIT */
/* fashion_distill.c -- few-class distillation on real data, end to end, with
 * the host owning its training loop and calling liblelp per batch.
 *
 * Task: Fashion-MNIST with its 10 classes grouped into 2 superclasses,
 * {0,2,3,4,6} vs {1,5,7,8,9}. Per seed:
 *   teacher   784-512-256-2 ReLU MLP, Adam, on the full binary training set;
 *             its 256-d penultimate activations are the embeddings, its last
 *             layer the head W;
 *   LELP      the training subset's embeddings streamed into a builder with
 *             the head, fit (S per class, beta automatic by default);
 *   students  784-32-k MLPs on the same subset, same seed, same epochs:
 *             (a) labels only (alpha = 1), (b) vanilla KD (S = 1, softmax(z/tau)),
 *             (c) LELP targets (k = 2S) -- all through lelp_loss_compute.
 * Prints test accuracy (mean +- std over seeds) and the pseudo-subclass quality:
 * NMI between each training example's hard pseudo-subclass and its hidden
 * Fashion-MNIST class, per superclass, next to k-means (k = S) on the same
 * embeddings. NMI = 2 I(U;V) / (H(U) + H(V)) (arithmetic normalisation, as
 * scikit-learn's default).
 *
 *   build/examples/fashion_distill [--data DIR] [--seeds 3] [--first-seed 0] [--train 3000]
 *       [--S 5] [--beta auto|B] [--epochs 30] [--teacher-epochs 2] [--tau 2]
 * DIR holds the decompressed IDX files (make demo prepares build/data from
 * Debian's dataset-fashion-mnist with gzip -dc, so nothing here needs zlib).
 * Progress (epoch, loss, elapsed) goes to stderr, as a bar on a terminal; the
 * result tables go to stdout. Exit status 0, 1 on bad data, 2 on bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lelp.h"

#define CHECK(call)                                                                                  \
    do {                                                                                             \
        int st_ = (call);                                                                            \
        if (st_ != LELP_OK) {                                                                        \
            fprintf(stderr, "fashion_distill: %s: %s (%s)\n", #call, lelp_status_string(st_),        \
                    lelp_last_error());                                                              \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

static const int SUPER[10] = {0, 1, 0, 0, 0, 1, 0, 1, 1, 1};

typedef struct options {
    const char* data;
    int seeds, first_seed, train, S, epochs, teacher_epochs;
    double beta, tau;
} options;

/* ---- small utilities ------------------------------------------------------------- */
static uint64_t rng_state;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double grand(void)
{
    return sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand());
}
static void shuffle(int* a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(urand() * (i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static void* xmalloc(size_t n)
{
    void* p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "fashion_distill: out of memory\n");
        exit(1);
    }
    return p;
}

/* IDX file (decompressed): magic 0x00 0x00 type ndim, ndim big-endian u32
 * sizes, then the data; Fashion-MNIST's are uint8 (type 0x08). */
static uint8_t* read_idx(const char* dir, const char* name, int want_ndim, int* count, int* dim)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fashion_distill: cannot open %s (run `make demo`, which prepares build/data, or pass --data)\n",
                path);
        exit(1);
    }
    unsigned char h[4];
    if (fread(h, 1, 4, f) != 4 || h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] != want_ndim) {
        fprintf(stderr, "fashion_distill: %s: not an uncompressed uint8 IDX file of rank %d\n", path, want_ndim);
        exit(1);
    }
    uint64_t dims[3] = {0, 1, 1};
    for (int k = 0; k < want_ndim; k++) {
        if (fread(h, 1, 4, f) != 4) {
            fprintf(stderr, "fashion_distill: %s: truncated header\n", path);
            exit(1);
        }
        dims[k] = (uint64_t)h[0] << 24 | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 8 | h[3];
    }
    if (dims[0] == 0 || dims[0] > 1000000 || dims[1] * dims[2] > 4096) {
        fprintf(stderr, "fashion_distill: %s: implausible IDX shape\n", path);
        exit(1);
    }
    *count = (int)dims[0];
    *dim = (int)(dims[1] * dims[2]);
    size_t n = (size_t)*count * (size_t)*dim;
    uint8_t* buf = xmalloc(n);
    if (fread(buf, 1, n, f) != n) {
        fprintf(stderr, "fashion_distill: %s is truncated\n", path);
        exit(1);
    }
    fclose(f);
    return buf;
}

/* ---- a dense ReLU MLP with Adam, on SGEMM ------------------------------------------ */
typedef struct layer {
    int in, out;
    float *W, *b, *gW, *gb, *mW, *vW, *mb, *vb;
} layer;

typedef struct mlp {
    int L;
    layer l[3];
    float* act[4];  /* activations per layer, batch x width */
    float* grad[4]; /* gradients w.r.t. activations */
    int batch;
    long step;
} mlp;

static void layer_init(layer* l, int in, int out)
{
    l->in = in;
    l->out = out;
    size_t n = (size_t)in * out;
    l->W = xmalloc(n * 4);
    l->gW = xmalloc(n * 4);
    l->mW = xmalloc(n * 4);
    l->vW = xmalloc(n * 4);
    l->b = xmalloc((size_t)out * 4);
    l->gb = xmalloc((size_t)out * 4);
    l->mb = xmalloc((size_t)out * 4);
    l->vb = xmalloc((size_t)out * 4);
    double scale = sqrt(2.0 / in); /* He initialisation */
    for (size_t i = 0; i < n; i++) l->W[i] = (float)(grand() * scale);
}

static void layer_free(layer* l)
{
    free(l->W), free(l->gW), free(l->mW), free(l->vW), free(l->b), free(l->gb), free(l->mb), free(l->vb);
}

static mlp* mlp_new(int L, const int* widths, int batch)
{
    mlp* m = xmalloc(sizeof *m);
    m->L = L;
    m->batch = batch;
    for (int i = 0; i < L; i++) layer_init(&m->l[i], widths[i], widths[i + 1]);
    for (int i = 0; i <= L; i++) {
        m->act[i] = xmalloc((size_t)batch * widths[i] * 4);
        m->grad[i] = xmalloc((size_t)batch * widths[i] * 4);
    }
    return m;
}

static void mlp_free(mlp* m)
{
    for (int i = 0; i < m->L; i++) layer_free(&m->l[i]);
    for (int i = 0; i <= m->L; i++) free(m->act[i]), free(m->grad[i]);
    free(m);
}

/* forward n <= batch rows of x; returns the output activations (logits) */
static float* mlp_forward(mlp* m, const float* x, int n)
{
    memcpy(m->act[0], x, (size_t)n * m->l[0].in * 4);
    for (int i = 0; i < m->L; i++) {
        layer* l = &m->l[i];
        float* y = m->act[i + 1];
        for (int r = 0; r < n; r++) memcpy(y + (size_t)r * l->out, l->b, (size_t)l->out * 4);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, l->out, l->in, 1.0f, m->act[i], l->in, l->W, l->in,
                    1.0f, y, l->out);
        if (i + 1 < m->L)
            for (size_t k = 0; k < (size_t)n * l->out; k++) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
    }
    return m->act[m->L];
}

/* backward from d(loss)/d(logits) in m->grad[L], then one Adam step */
static void mlp_backward_step(mlp* m, int n, float lr)
{
    for (int i = m->L - 1; i >= 0; i--) {
        layer* l = &m->l[i];
        float* dy = m->grad[i + 1];
        if (i + 1 < m->L) /* through the ReLU */
            for (size_t k = 0; k < (size_t)n * l->out; k++)
                if (m->act[i + 1][k] <= 0.0f) dy[k] = 0.0f;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->out, l->in, n, 1.0f, dy, l->out, m->act[i], l->in,
                    0.0f, l->gW, l->in);
        for (int o = 0; o < l->out; o++) {
            float s = 0.0f;
            for (int r = 0; r < n; r++) s += dy[(size_t)r * l->out + o];
            l->gb[o] = s;
        }
        if (i > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, l->in, l->out, 1.0f, dy, l->out, l->W, l->in,
                        0.0f, m->grad[i], l->in);
    }
    m->step++;
    const float b1 = 0.9f, b2 = 0.999f;
    const float c1 = 1.0f - powf(b1, (float)m->step), c2 = 1.0f - powf(b2, (float)m->step);
    for (int i = 0; i < m->L; i++) {
        layer* l = &m->l[i];
        float* p[2] = {l->W, l->b};
        float* g[2] = {l->gW, l->gb};
        float* mm[2] = {l->mW, l->mb};
        float* vv[2] = {l->vW, l->vb};
        size_t cnt[2] = {(size_t)l->in * l->out, (size_t)l->out};
        for (int t = 0; t < 2; t++)
            for (size_t k = 0; k < cnt[t]; k++) {
                mm[t][k] = b1 * mm[t][k] + (1.0f - b1) * g[t][k];
                vv[t][k] = b2 * vv[t][k] + (1.0f - b2) * g[t][k] * g[t][k];
                p[t][k] -= lr * (mm[t][k] / c1) / (sqrtf(vv[t][k] / c2) + 1e-8f);
            }
    }
}

/* ---- progress on stderr ------------------------------------------------------------ */
static int tty;
static double t_start;
static void progress(const char* what, int done, int total, double loss)
{
    double el = now() - t_start;
    if (tty) {
        int w = 30, f = total ? done * w / total : w;
        fprintf(stderr, "\r%-28s [%.*s%*s] epoch %3d/%-3d loss %.4f  %5.1fs", what, f, "##############################",
                w - f, "", done, total, loss, el);
        if (done == total) fputc('\n', stderr);
    } else if (done == total || done % (total >= 3 ? total / 3 : 1) == 0) {
        /* off a terminal: a few lines per model, not one per epoch */
        fprintf(stderr, "%s: epoch %d/%d, loss %.4f, %.1fs elapsed\n", what, done, total, loss, el);
    }
}

/* ---- training with liblelp's loss ---------------------------------------------------- */
typedef struct dataset {
    float* X; /* n x 784 */
    int32_t* y2;
    int32_t* y10;
    int n;
} dataset;

/* Trains m for `epochs` on (X, targets T (n x K) or labels) through lelp_loss. */
static double train(mlp* m, const dataset* D, const float* T, lelp_loss* loss, int K, int epochs, float lr,
                    const char* what)
{
    int* order = xmalloc((size_t)D->n * sizeof(int));
    for (int i = 0; i < D->n; i++) order[i] = i;
    float* xb = xmalloc((size_t)m->batch * 784 * 4);
    float* tb = xmalloc((size_t)m->batch * K * 4);
    int32_t* yb = xmalloc((size_t)m->batch * 4);
    double last = 0.0;
    for (int e = 0; e < epochs; e++) {
        shuffle(order, D->n);
        double sum = 0.0;
        int batches = 0;
        for (int i0 = 0; i0 < D->n; i0 += m->batch) {
            int n = D->n - i0 < m->batch ? D->n - i0 : m->batch;
            for (int r = 0; r < n; r++) {
                int i = order[i0 + r];
                memcpy(xb + (size_t)r * 784, D->X + (size_t)i * 784, 784 * 4);
                yb[r] = D->y2[i];
                if (T) memcpy(tb + (size_t)r * K, T + (size_t)i * K, (size_t)K * 4);
            }
            float* u = mlp_forward(m, xb, n);
            double v = 0.0;
            CHECK(lelp_loss_compute(loss, u, T ? tb : NULL, yb, NULL, n, &v, m->grad[m->L]));
            mlp_backward_step(m, n, lr);
            sum += v;
            batches++;
        }
        last = sum / batches;
        progress(what, e + 1, epochs, last);
    }
    free(order), free(xb), free(tb), free(yb);
    return last;
}

/* test accuracy through liblelp's BLAS-free prediction */
static double accuracy(mlp* m, const dataset* D, int C, int S)
{
    int correct = 0;
    int32_t* pred = xmalloc((size_t)m->batch * 4);
    for (int i0 = 0; i0 < D->n; i0 += m->batch) {
        int n = D->n - i0 < m->batch ? D->n - i0 : m->batch;
        float* u = mlp_forward(m, D->X + (size_t)i0 * 784, n);
        CHECK(lelp_predict_class(u, n, C, S, pred));
        for (int r = 0; r < n; r++) correct += pred[r] == D->y2[i0 + r];
    }
    free(pred);
    return (double)correct / D->n;
}

/* ---- clustering quality ---------------------------------------------------------------- */
/* NMI with arithmetic normalisation between cluster ids a (0..ka-1) and b (0..9) */
static double nmi(const int32_t* a, int ka, const int32_t* b, int n)
{
    double joint[64][10] = {{0}}, pa[64] = {0}, pb[10] = {0};
    for (int i = 0; i < n; i++) {
        joint[a[i]][b[i]] += 1.0 / n;
        pa[a[i]] += 1.0 / n;
        pb[b[i]] += 1.0 / n;
    }
    double mi = 0, Ha = 0, Hb = 0;
    for (int i = 0; i < ka; i++) {
        if (pa[i] > 0) Ha -= pa[i] * log(pa[i]);
        for (int j = 0; j < 10; j++)
            if (joint[i][j] > 0) mi += joint[i][j] * log(joint[i][j] / (pa[i] * pb[j]));
    }
    for (int j = 0; j < 10; j++)
        if (pb[j] > 0) Hb -= pb[j] * log(pb[j]);
    return Ha + Hb > 0 ? 2.0 * mi / (Ha + Hb) : 0.0;
}

/* k-means (Lloyd, k-means++ seeding from the seeded stream), 50 iterations */
static void kmeans(const float* X, int n, int d, int k, int32_t* out)
{
    double* cen = xmalloc((size_t)k * d * sizeof(double));
    double* dist = xmalloc((size_t)n * sizeof(double));
    int first = (int)(urand() * n);
    for (int j = 0; j < d; j++) cen[j] = X[(size_t)first * d + j];
    for (int c = 1; c < k; c++) {
        double total = 0;
        for (int i = 0; i < n; i++) {
            double best = INFINITY;
            for (int q = 0; q < c; q++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (X[(size_t)i * d + j] - cen[q * d + j]) * (X[(size_t)i * d + j] - cen[q * d + j]);
                best = s < best ? s : best;
            }
            dist[i] = best;
            total += best;
        }
        double r = urand() * total;
        int pick = n - 1;
        for (int i = 0; i < n; i++) {
            r -= dist[i];
            if (r <= 0) {
                pick = i;
                break;
            }
        }
        for (int j = 0; j < d; j++) cen[c * d + j] = X[(size_t)pick * d + j];
    }
    for (int it = 0; it < 50; it++) {
        for (int i = 0; i < n; i++) {
            double best = INFINITY;
            for (int q = 0; q < k; q++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (X[(size_t)i * d + j] - cen[q * d + j]) * (X[(size_t)i * d + j] - cen[q * d + j]);
                if (s < best) {
                    best = s;
                    out[i] = q;
                }
            }
        }
        /* new centres; an empty cluster keeps its old centre */
        int cnt[64] = {0};
        for (int i = 0; i < n; i++) cnt[out[i]]++;
        for (int q = 0; q < k; q++)
            if (cnt[q]) memset(cen + (size_t)q * d, 0, (size_t)d * sizeof(double));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) cen[out[i] * d + j] += X[(size_t)i * d + j];
        for (int q = 0; q < k; q++)
            for (int j = 0; j < d; j++)
                if (cnt[q]) cen[q * d + j] /= cnt[q];
    }
    free(cen);
    free(dist);
}

/* ---- one seed ---------------------------------------------------------------------------- */
typedef struct result {
    double acc[4];  /* teacher, labels, KD, LELP */
    double nmi_lelp[2], nmi_km[2];
    double beta;
} result;

static void run_seed(const options* o, int seed, const dataset* full, const dataset* test, result* R)
{
    rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(seed + 1) * 0xD1B54A32D192ED03ULL;
    const int S = o->S;
    char what[64];
    /* subset */
    dataset sub = {xmalloc((size_t)o->train * 784 * 4), xmalloc((size_t)o->train * 4), xmalloc((size_t)o->train * 4),
                   o->train};
    int* idx = xmalloc((size_t)full->n * sizeof(int));
    for (int i = 0; i < full->n; i++) idx[i] = i;
    shuffle(idx, full->n);
    for (int i = 0; i < o->train; i++) {
        memcpy(sub.X + (size_t)i * 784, full->X + (size_t)idx[i] * 784, 784 * 4);
        sub.y2[i] = full->y2[idx[i]];
        sub.y10[i] = full->y10[idx[i]];
    }
    free(idx);
    /* teacher on the full binary training set */
    const int tw[4] = {784, 512, 256, 2};
    mlp* teacher = mlp_new(3, tw, 128);
    lelp_loss* ce = NULL;
    CHECK(lelp_loss_create(&ce, 2, 1, NULL));
    CHECK(lelp_loss_set_double(ce, LELP_LOSS_ALPHA, 1.0));
    snprintf(what, sizeof what, "seed %d teacher", seed);
    train(teacher, full, NULL, ce, 2, o->teacher_epochs, 1e-3f, what);
    R->acc[0] = accuracy(teacher, test, 2, 1);
    /* embeddings (256-d penultimate) and logits of the subset */
    float* E = xmalloc((size_t)o->train * 256 * 4);
    float* Z = xmalloc((size_t)o->train * 2 * 4);
    for (int i0 = 0; i0 < o->train; i0 += 128) {
        int n = o->train - i0 < 128 ? o->train - i0 : 128;
        float* z = mlp_forward(teacher, sub.X + (size_t)i0 * 784, n);
        memcpy(E + (size_t)i0 * 256, teacher->act[2], (size_t)n * 256 * 4);
        memcpy(Z + (size_t)i0 * 2, z, (size_t)n * 2 * 4);
    }
    /* LELP: stream, head, fit */
    lelp_builder* b = NULL;
    lelp_model* model = NULL;
    CHECK(lelp_builder_create(&b, 256, 2, S, NULL));
    CHECK(lelp_builder_set_int(b, LELP_BUILDER_SEED, seed));
    CHECK(lelp_builder_set_double(b, LELP_BUILDER_BETA, o->beta));
    for (int i0 = 0; i0 < o->train; i0 += 500) {
        int n = o->train - i0 < 500 ? o->train - i0 : 500;
        CHECK(lelp_builder_update(b, E + (size_t)i0 * 256, sub.y2 + i0, n, 256));
    }
    CHECK(lelp_builder_set_head(b, teacher->l[2].W, 2, 256));
    CHECK(lelp_builder_fit(b, &model));
    CHECK(lelp_model_get_double(model, LELP_MODEL_BETA, &R->beta));
    float* T = xmalloc((size_t)o->train * 2 * S * 4);
    float* Tkd = xmalloc((size_t)o->train * 2 * 4);
    CHECK(lelp_model_targets_from_logits(model, E, Z, o->train, 256, o->tau, T));
    CHECK(lelp_softmax_targets(Z, o->train, 2, o->tau, Tkd));
    /* pseudo-subclass quality vs hidden classes, and k-means on the same embeddings */
    int32_t* assign = xmalloc((size_t)o->train * 4);
    CHECK(lelp_model_assign(model, E, sub.y2, o->train, 256, assign));
    for (int c = 0; c < 2; c++) {
        int n = 0;
        for (int i = 0; i < o->train; i++) n += sub.y2[i] == c;
        int32_t *a = xmalloc((size_t)n * 4), *h = xmalloc((size_t)n * 4), *km = xmalloc((size_t)n * 4);
        float* Ec = xmalloc((size_t)n * 256 * 4);
        for (int i = 0, k = 0; i < o->train; i++)
            if (sub.y2[i] == c) {
                a[k] = assign[i];
                h[k] = sub.y10[i];
                memcpy(Ec + (size_t)k * 256, E + (size_t)i * 256, 256 * 4);
                k++;
            }
        kmeans(Ec, n, 256, S, km);
        R->nmi_lelp[c] = nmi(a, S, h, n);
        R->nmi_km[c] = nmi(km, S, h, n);
        free(a), free(h), free(km), free(Ec);
    }
    /* three students: same init seed, same data order, same epochs */
    const int kinds[3][2] = {{2, 1}, {2, 1}, {2, S}}; /* (C, S) of the output layer */
    for (int s = 0; s < 3; s++) {
        rng_state = 0xA0761D6478BD642FULL ^ (uint64_t)(seed + 1) * 0xE7037ED1A0B428DBULL;
        const int sw[3] = {784, 32, kinds[s][0] * kinds[s][1]};
        mlp* st = mlp_new(2, sw, 64);
        lelp_loss* l = NULL;
        CHECK(lelp_loss_create(&l, kinds[s][0], kinds[s][1], NULL));
        if (s == 0) CHECK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0));
        else CHECK(lelp_loss_set_double(l, LELP_LOSS_TAU, o->tau));
        static const char* names[3] = {"labels only", "vanilla KD", "LELP"};
        snprintf(what, sizeof what, "seed %d student %s", seed, names[s]);
        train(st, &sub, s == 0 ? NULL : (s == 1 ? Tkd : T), l, sw[2], o->epochs, 1e-3f, what);
        R->acc[1 + s] = accuracy(st, test, kinds[s][0], kinds[s][1]);
        lelp_loss_free(l);
        mlp_free(st);
    }
    free(assign), free(T), free(Tkd), free(E), free(Z);
    free(sub.X), free(sub.y2), free(sub.y10);
    lelp_model_free(model);
    lelp_builder_free(b);
    lelp_loss_free(ce);
    mlp_free(teacher);
}

static const char* HELP =
    "usage: fashion_distill [--data DIR] [--seeds N] [--first-seed K] [--train N] [--S S]\n"
    "                       [--beta auto|B] [--epochs E] [--teacher-epochs E] [--tau T]\n\n"
    "Few-class distillation on Fashion-MNIST (superclasses {0,2,3,4,6} vs {1,5,7,8,9}): a teacher\n"
    "MLP, LELP fitted on its embeddings, and three students (labels only, vanilla KD, LELP) trained\n"
    "through liblelp's loss. Prints test accuracy (mean +- std over seeds) and the NMI of the\n"
    "pseudo-subclasses with the hidden 10 classes next to k-means.\n\n"
    "  --data DIR            decompressed IDX files (default build/data; `make demo` prepares it)\n"
    "  --seeds N             number of seeds, 1..64 (default 3)\n"
    "  --first-seed K        seeds K .. K+N-1 (default 0)\n"
    "  --train N             training subset for LELP and the students, 100..60000 (default 3000)\n"
    "  --S S                 pseudo-subclasses per class, 1..32 (default 5)\n"
    "  --beta auto|B         subclass temperature (default auto: liblelp's automatic beta)\n"
    "  --epochs E            student epochs (default 30)\n"
    "  --teacher-epochs E    teacher epochs on the full 60 000 images (default 2)\n"
    "  --tau T               KD temperature for vanilla KD and LELP, 0.01..100 (default 2)\n";

static int usage(const char* why, const char* arg)
{
    fprintf(stderr, "fashion_distill: %s%s%s\n%s", why, arg ? " " : "", arg ? arg : "", HELP);
    return 2;
}

static int int_arg(const char* v, int lo, int hi, int* out)
{
    char* end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) return 1;
    *out = (int)x;
    return 0;
}

static int real_arg(const char* v, double lo, double hi, double* out)
{
    char* end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) return 1;
    *out = x;
    return 0;
}

static void load(const char* dir, const char* img, const char* lab, dataset* D)
{
    int n, d, n2, d2;
    uint8_t* px = read_idx(dir, img, 3, &n, &d);
    uint8_t* lb = read_idx(dir, lab, 1, &n2, &d2);
    if (d != 784 || n2 != n) {
        fprintf(stderr, "fashion_distill: %s/%s and %s: expected 28x28 images and one label each\n", dir, img, lab);
        exit(1);
    }
    for (int i = 0; i < n; i++)
        if (lb[i] > 9) {
            fprintf(stderr, "fashion_distill: %s/%s: label %d at row %d is not a Fashion-MNIST class\n", dir, lab, lb[i], i);
            exit(1);
        }
    D->n = n;
    D->X = xmalloc((size_t)n * 784 * 4);
    D->y2 = xmalloc((size_t)n * 4);
    D->y10 = xmalloc((size_t)n * 4);
    for (size_t i = 0; i < (size_t)n * 784; i++) D->X[i] = px[i] / 255.0f;
    for (int i = 0; i < n; i++) {
        D->y10[i] = lb[i];
        D->y2[i] = SUPER[lb[i]];
    }
    free(px);
    free(lb);
}

static void mean_sd(const double* v, int n, double* m, double* s)
{
    *m = 0;
    for (int i = 0; i < n; i++) *m += v[i] / n;
    *s = 0;
    for (int i = 0; i < n; i++) *s += (v[i] - *m) * (v[i] - *m);
    *s = n > 1 ? sqrt(*s / (n - 1)) : 0.0;
}

int main(int argc, char** argv)
{
    options o = {"build/data", 3, 0, 3000, 5, 30, 2, 0.0, 2.0};
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP, stdout);
            return 0;
        }
        int bad = 0;
        if (!v) return usage("missing value after", a);
        if (!strcmp(a, "--data")) o.data = v;
        else if (!strcmp(a, "--seeds")) bad = int_arg(v, 1, 64, &o.seeds);
        else if (!strcmp(a, "--first-seed")) bad = int_arg(v, 0, 1000000000, &o.first_seed);
        else if (!strcmp(a, "--train")) bad = int_arg(v, 100, 60000, &o.train);
        else if (!strcmp(a, "--S")) bad = int_arg(v, 1, 32, &o.S);
        else if (!strcmp(a, "--epochs")) bad = int_arg(v, 1, 100000, &o.epochs);
        else if (!strcmp(a, "--teacher-epochs")) bad = int_arg(v, 1, 100000, &o.teacher_epochs);
        else if (!strcmp(a, "--tau")) bad = real_arg(v, 0.01, 100.0, &o.tau);
        else if (!strcmp(a, "--beta")) bad = strcmp(v, "auto") ? real_arg(v, 1e-12, 1e300, &o.beta) : (o.beta = 0.0, 0);
        else return usage("unknown option", a);
        if (bad) return usage("value out of range for", a);
        i++;
    }
    tty = isatty(2);
    t_start = now();
    dataset full, test;
    load(o.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &full);
    load(o.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &test);
    if (o.train > full.n) return usage("--train exceeds the training set of", o.data);
    result* R = xmalloc((size_t)o.seeds * sizeof *R);
    for (int s = 0; s < o.seeds; s++) run_seed(&o, o.first_seed + s, &full, &test, &R[s]);
    const char* rows[4] = {"teacher (784-512-256-2, full train set)", "student: labels only",
                           "student: vanilla KD", "student: LELP"};
    printf("\nFashion-MNIST, superclasses {0,2,3,4,6} vs {1,5,7,8,9}; students 784-32-k on %d examples, "
           "%d epochs, tau %.1f, S = %d, beta %s, seeds %d..%d\n\n", o.train, o.epochs, o.tau, o.S,
           o.beta > 0 ? "fixed" : "auto", o.first_seed, o.first_seed + o.seeds - 1);
    printf("%-6s %-8s %-8s %-8s %-8s %s\n", "seed", "teacher", "labels", "KD", "LELP", "beta");
    for (int s = 0; s < o.seeds; s++)
        printf("%-6d %.4f   %.4f   %.4f   %.4f   %.4g\n", o.first_seed + s, R[s].acc[0], R[s].acc[1], R[s].acc[2],
               R[s].acc[3], R[s].beta);
    printf("\n");
    printf("%-42s %s\n", "model", "test accuracy (mean +- std)");
    for (int k = 0; k < 4; k++) {
        double v[64], m, sd;
        for (int s = 0; s < o.seeds; s++) v[s] = R[s].acc[k];
        mean_sd(v, o.seeds, &m, &sd);
        printf("%-42s %.4f +- %.4f\n", rows[k], m, sd);
    }
    printf("\npseudo-subclass quality: NMI with the hidden Fashion-MNIST class (mean over seeds)\n");
    printf("%-14s %-12s %-12s %s\n", "superclass", "LELP", "k-means", "(k = S)");
    double tot_l = 0, tot_k = 0, betas[64], bm, bs;
    for (int c = 0; c < 2; c++) {
        double vl[64], vk[64], ml, sl, mk, sk;
        for (int s = 0; s < o.seeds; s++) {
            vl[s] = R[s].nmi_lelp[c];
            vk[s] = R[s].nmi_km[c];
        }
        mean_sd(vl, o.seeds, &ml, &sl);
        mean_sd(vk, o.seeds, &mk, &sk);
        tot_l += ml / 2;
        tot_k += mk / 2;
        printf("%-14s %.3f+-%.3f  %.3f+-%.3f\n", c ? "{1,5,7,8,9}" : "{0,2,3,4,6}", ml, sl, mk, sk);
    }
    printf("%-14s %.3f        %.3f\n", "mean", tot_l, tot_k);
    for (int s = 0; s < o.seeds; s++) betas[s] = R[s].beta;
    mean_sd(betas, o.seeds, &bm, &bs);
    printf("\n%s beta %.3f +- %.3f; total time %.1f s\n", o.beta > 0 ? "fixed" : "automatic", bm, bs, now() - t_start);
    free(R);
    return 0;
}
