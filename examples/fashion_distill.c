/* SPDX-License-Identifier: MIT */
/* fashion_distill.c -- few-class distillation on real data, end to end, with
 * the host owning its training loop and calling liblelp per batch.
 *
 * Task: Fashion-MNIST with its 10 classes grouped into 2 superclasses,
 * {0,2,3,4,6} vs {1,5,7,8,9}. Per seed:
 *   teacher   784-512-256-2 ReLU MLP on the full 60 000 training images. By
 *             default (--teacher dae, the paper's regime: a model pretrained
 *             without labels, then fine-tuned on the few-class task) its
 *             784-512-256 encoder is first trained as a denoising
 *             autoencoder (masking noise, a linear 256-784 decoder, squared
 *             error) without labels, then the binary head alone, then the
 *             whole network with a smaller learning rate. --teacher binary:
 *             trained on the binary labels alone from scratch (the old demo).
 *             Its 256-d penultimate activations are the embeddings, its last
 *             layer the head W.
 *   labellers the training subset's embeddings streamed into two builders
 *             with the head (S per class, beta automatic by default): LELP's
 *             projections and liblelp's k-means labeller.
 *   students  on the same subset, same epochs: a linear 784 -> k student by
 *             default (--student mlp: 784-32-k), all through lelp_loss_compute:
 *             (a) labels only, (b) vanilla KD (k = 2, softmax(z/tau)),
 *             (c) LELP targets (k = 2S), (d) k-means targets (k = 2S),
 *             (e) the control: each example gets the LELP targets of another
 *             example of its class (a shuffle within each class).
 * Prints test accuracy per seed and as mean +- std over seeds, the paired
 * difference LELP - KD (and k-means - KD, control - KD) with its standard
 * deviation over seeds and the number of seeds it is positive, and the
 * pseudo-subclass quality: NMI between each training example's hard
 * pseudo-subclass and its hidden Fashion-MNIST class, per superclass, for both
 * labellers. NMI = 2 I(U;V) / (H(U) + H(V)) (scikit-learn's default).
 *
 *   build/examples/fashion_distill [--data DIR] [--seeds 5] [--first-seed 0] [--train 3000]
 *       [--S 10] [--tau 1] [--beta auto|B] [--student linear|mlp] [--epochs 20] [--lr 0.001]
 *       [--teacher dae|binary] [--pretrain-epochs 2] [--head-epochs 1] [--finetune-epochs 1]
 *       [--teacher-epochs 2]
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
    int seeds, first_seed, train, S, epochs;
    int dae;                    /* teacher: 1 = pretrained without labels, then fine-tuned; 0 = binary only */
    int pretrain_epochs, head_epochs, finetune_epochs, teacher_epochs;
    int mlp_student;            /* 0 = linear 784 -> k, 1 = 784-32-k */
    double beta, tau, lr;
} options;

#define TEACHER_LR 1e-3f
#define FINETUNE_LR 1e-4f /* the pretrained encoder moves ten times slower than a fresh network */
#define MASK_NOISE 0.3    /* fraction of pixels the denoising autoencoder sees zeroed */

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
    int frozen;     /* layers [0, frozen) are not trained */
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

/* backward from d(loss)/d(output) in m->grad[L], then one Adam step of the
 * layers not frozen */
static void mlp_backward_step(mlp* m, int n, float lr)
{
    for (int i = m->L - 1; i >= m->frozen; i--) {
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
        if (i > m->frozen)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, l->in, l->out, 1.0f, dy, l->out, l->W, l->in,
                        0.0f, m->grad[i], l->in);
    }
    m->step++;
    const float b1 = 0.9f, b2 = 0.999f;
    const float c1 = 1.0f - powf(b1, (float)m->step), c2 = 1.0f - powf(b2, (float)m->step);
    for (int i = m->frozen; i < m->L; i++) {
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

/* ---- the teacher ------------------------------------------------------------------------- */
/* Denoising autoencoder 784-512-256-784 (ReLU encoder, linear decoder) on the
 * images alone: masking noise in, squared reconstruction error of the clean
 * image out (loss: mean over the batch of sum_j (out_j - x_j)^2 / 2). */
static void pretrain_dae(mlp* ae, const dataset* D, int epochs, const char* what)
{
    int* order = xmalloc((size_t)D->n * sizeof(int));
    for (int i = 0; i < D->n; i++) order[i] = i;
    float* xb = xmalloc((size_t)ae->batch * 784 * 4);
    float* clean = xmalloc((size_t)ae->batch * 784 * 4);
    for (int e = 0; e < epochs; e++) {
        shuffle(order, D->n);
        double sum = 0.0;
        int batches = 0;
        for (int i0 = 0; i0 < D->n; i0 += ae->batch) {
            int n = D->n - i0 < ae->batch ? D->n - i0 : ae->batch;
            for (int r = 0; r < n; r++) {
                const float* x = D->X + (size_t)order[i0 + r] * 784;
                memcpy(clean + (size_t)r * 784, x, 784 * 4);
                for (int j = 0; j < 784; j++) xb[(size_t)r * 784 + j] = urand() < MASK_NOISE ? 0.0f : x[j];
            }
            float* out = mlp_forward(ae, xb, n);
            double loss = 0.0;
            for (size_t k = 0; k < (size_t)n * 784; k++) {
                float e_ = out[k] - clean[k];
                loss += 0.5 * (double)e_ * e_;
                ae->grad[ae->L][k] = e_ / (float)n;
            }
            mlp_backward_step(ae, n, TEACHER_LR);
            sum += loss / n;
            batches++;
        }
        progress(what, e + 1, epochs, sum / batches);
    }
    free(order), free(xb), free(clean);
}

static mlp* make_teacher(const options* o, const dataset* full, int seed)
{
    const int tw[4] = {784, 512, 256, 2};
    mlp* t = mlp_new(3, tw, 128);
    lelp_loss* ce = NULL;
    CHECK(lelp_loss_create(&ce, 2, 1, NULL));
    CHECK(lelp_loss_set_double(ce, LELP_LOSS_ALPHA, 1.0));
    char what[64];
    if (!o->dae) {
        snprintf(what, sizeof what, "seed %d teacher", seed);
        train(t, full, NULL, ce, 2, o->teacher_epochs, TEACHER_LR, what);
    } else {
        const int aw[4] = {784, 512, 256, 784};
        mlp* ae = mlp_new(3, aw, 128);
        snprintf(what, sizeof what, "seed %d teacher: autoencoder", seed);
        pretrain_dae(ae, full, o->pretrain_epochs, what);
        for (int i = 0; i < 2; i++) { /* the encoder; the head keeps its fresh initialisation */
            memcpy(t->l[i].W, ae->l[i].W, (size_t)ae->l[i].in * ae->l[i].out * 4);
            memcpy(t->l[i].b, ae->l[i].b, (size_t)ae->l[i].out * 4);
        }
        mlp_free(ae);
        t->frozen = 2;
        snprintf(what, sizeof what, "seed %d teacher: head", seed);
        train(t, full, NULL, ce, 2, o->head_epochs, TEACHER_LR, what);
        t->frozen = 0;
        snprintf(what, sizeof what, "seed %d teacher: fine-tune", seed);
        train(t, full, NULL, ce, 2, o->finetune_epochs, FINETUNE_LR, what);
    }
    lelp_loss_free(ce);
    return t;
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

/* ---- one seed ---------------------------------------------------------------------------- */
enum { TEACHER, LABELS, KD, LELP, KMEANS, CONTROL, NMODELS };
static const char* const NAMES[NMODELS] = {"teacher", "labels only", "vanilla KD", "LELP", "k-means subclasses",
                                           "shuffled LELP (control)"};

typedef struct result {
    double acc[NMODELS];
    double nmi[2][2]; /* [labeller: LELP, k-means][superclass] */
    double beta[2];   /* LELP's, k-means' */
} result;

/* A builder over the subset's embeddings with the teacher head; fit. */
static lelp_model* fit_labeller(const options* o, int seed, const float* E, const int32_t* y, int n,
                                const float* head, int labeller)
{
    lelp_builder* b = NULL;
    lelp_model* model = NULL;
    CHECK(lelp_builder_create(&b, 256, 2, o->S, NULL));
    CHECK(lelp_builder_set_int(b, LELP_BUILDER_SEED, seed));
    CHECK(lelp_builder_set_int(b, LELP_BUILDER_LABELLER, labeller));
    CHECK(lelp_builder_set_double(b, LELP_BUILDER_BETA, o->beta));
    for (int i0 = 0; i0 < n; i0 += 500)
        CHECK(lelp_builder_update(b, E + (size_t)i0 * 256, y + i0, n - i0 < 500 ? n - i0 : 500, 256));
    CHECK(lelp_builder_set_head(b, head, 2, 256));
    CHECK(lelp_builder_fit(b, &model));
    lelp_builder_free(b);
    return model;
}

/* NMI of the model's hard pseudo-subclasses with the hidden classes, per superclass */
static void subclass_nmi(const lelp_model* model, const float* E, const dataset* sub, int S, double out[2])
{
    int32_t* assign = xmalloc((size_t)sub->n * 4);
    CHECK(lelp_model_assign(model, E, sub->y2, sub->n, 256, assign));
    for (int c = 0; c < 2; c++) {
        int n = 0;
        int32_t *a = xmalloc((size_t)sub->n * 4), *h = xmalloc((size_t)sub->n * 4);
        for (int i = 0; i < sub->n; i++)
            if (sub->y2[i] == c) {
                a[n] = assign[i];
                h[n++] = sub->y10[i];
            }
        out[c] = nmi(a, S, h, n);
        free(a), free(h);
    }
    free(assign);
}

/* The control's targets: within each class, in a seeded random order, every
 * example takes the row of the next one (so never its own). */
static float* shuffled_targets(const float* T, const dataset* sub, int K)
{
    float* out = xmalloc((size_t)sub->n * K * 4);
    int* idx = xmalloc((size_t)sub->n * sizeof(int));
    for (int c = 0; c < 2; c++) {
        int n = 0;
        for (int i = 0; i < sub->n; i++)
            if (sub->y2[i] == c) idx[n++] = i;
        shuffle(idx, n);
        for (int k = 0; k < n; k++)
            memcpy(out + (size_t)idx[k] * K, T + (size_t)idx[(k + 1) % n] * K, (size_t)K * 4);
    }
    free(idx);
    return out;
}

static void run_seed(const options* o, int seed, const dataset* full, const dataset* test, result* R)
{
    rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(seed + 1) * 0xD1B54A32D192ED03ULL;
    const int S = o->S, n = o->train;
    char what[64];
    /* subset */
    dataset sub = {xmalloc((size_t)n * 784 * 4), xmalloc((size_t)n * 4), xmalloc((size_t)n * 4), n};
    int* idx = xmalloc((size_t)full->n * sizeof(int));
    for (int i = 0; i < full->n; i++) idx[i] = i;
    shuffle(idx, full->n);
    for (int i = 0; i < n; i++) {
        memcpy(sub.X + (size_t)i * 784, full->X + (size_t)idx[i] * 784, 784 * 4);
        sub.y2[i] = full->y2[idx[i]];
        sub.y10[i] = full->y10[idx[i]];
    }
    free(idx);
    mlp* teacher = make_teacher(o, full, seed);
    R->acc[TEACHER] = accuracy(teacher, test, 2, 1);
    /* embeddings (256-d penultimate) and logits of the subset */
    float* E = xmalloc((size_t)n * 256 * 4);
    float* Z = xmalloc((size_t)n * 2 * 4);
    for (int i0 = 0; i0 < n; i0 += 128) {
        int nb = n - i0 < 128 ? n - i0 : 128;
        float* z = mlp_forward(teacher, sub.X + (size_t)i0 * 784, nb);
        memcpy(E + (size_t)i0 * 256, teacher->act[2], (size_t)nb * 256 * 4);
        memcpy(Z + (size_t)i0 * 2, z, (size_t)nb * 2 * 4);
    }
    /* the two labellers, their targets, the control's and KD's */
    lelp_model* lelp = fit_labeller(o, seed, E, sub.y2, n, teacher->l[2].W, LELP_LABELLER_PROJECTION);
    lelp_model* km = fit_labeller(o, seed, E, sub.y2, n, teacher->l[2].W, LELP_LABELLER_KMEANS);
    CHECK(lelp_model_get_double(lelp, LELP_MODEL_BETA, &R->beta[0]));
    CHECK(lelp_model_get_double(km, LELP_MODEL_BETA, &R->beta[1]));
    subclass_nmi(lelp, E, &sub, S, R->nmi[0]);
    subclass_nmi(km, E, &sub, S, R->nmi[1]);
    float* T[NMODELS] = {NULL};
    T[KD] = xmalloc((size_t)n * 2 * 4);
    T[LELP] = xmalloc((size_t)n * 2 * S * 4);
    T[KMEANS] = xmalloc((size_t)n * 2 * S * 4);
    CHECK(lelp_softmax_targets(Z, n, 2, o->tau, T[KD]));
    CHECK(lelp_model_targets_from_logits(lelp, E, Z, n, 256, o->tau, T[LELP]));
    CHECK(lelp_model_targets_from_logits(km, E, Z, n, 256, o->tau, T[KMEANS]));
    T[CONTROL] = shuffled_targets(T[LELP], &sub, 2 * S);
    /* the students: same initialisation stream, same data order, same epochs */
    for (int s = LABELS; s < NMODELS; s++) {
        const int Ks = s == LABELS || s == KD ? 1 : S;
        rng_state = 0xA0761D6478BD642FULL ^ (uint64_t)(seed + 1) * 0xE7037ED1A0B428DBULL;
        const int sw[3] = {784, o->mlp_student ? 32 : 2 * Ks, 2 * Ks};
        mlp* st = mlp_new(o->mlp_student ? 2 : 1, sw, 64);
        lelp_loss* l = NULL;
        CHECK(lelp_loss_create(&l, 2, Ks, NULL));
        if (s == LABELS) CHECK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0));
        else CHECK(lelp_loss_set_double(l, LELP_LOSS_TAU, o->tau));
        snprintf(what, sizeof what, "seed %d student: %s", seed, NAMES[s]);
        train(st, &sub, T[s], l, 2 * Ks, o->epochs, (float)o->lr, what);
        R->acc[s] = accuracy(st, test, 2, Ks);
        lelp_loss_free(l);
        mlp_free(st);
    }
    for (int s = 0; s < NMODELS; s++) free(T[s]);
    free(E), free(Z);
    free(sub.X), free(sub.y2), free(sub.y10);
    lelp_model_free(lelp);
    lelp_model_free(km);
    mlp_free(teacher);
}

static const char* HELP =
    "usage: fashion_distill [--data DIR] [--seeds N] [--first-seed K] [--train N] [--S S] [--tau T]\n"
    "                       [--beta auto|B] [--student linear|mlp] [--epochs E] [--lr LR]\n"
    "                       [--teacher dae|binary] [--pretrain-epochs E] [--head-epochs E]\n"
    "                       [--finetune-epochs E] [--teacher-epochs E]\n\n"
    "Few-class distillation on Fashion-MNIST (superclasses {0,2,3,4,6} vs {1,5,7,8,9}): a teacher\n"
    "MLP pretrained without labels and fine-tuned on the binary task, LELP and k-means\n"
    "pseudo-subclasses of its embeddings, and five students (labels only, vanilla KD, LELP,\n"
    "k-means, and a control with LELP targets shuffled within each class) trained through\n"
    "liblelp's loss. Prints test accuracy per seed and mean +- std, the paired difference\n"
    "LELP - KD over seeds, and the NMI of the pseudo-subclasses with the hidden 10 classes.\n\n"
    "  --data DIR            decompressed IDX files (default build/data; `make demo` prepares it)\n"
    "  --seeds N             number of seeds, 1..64 (default 5)\n"
    "  --first-seed K        seeds K .. K+N-1 (default 0)\n"
    "  --train N             training subset for the labellers and the students, 100..60000 (default 3000)\n"
    "  --S S                 pseudo-subclasses per class, 1..32 (default 10)\n"
    "  --tau T               KD temperature for KD, LELP, k-means and the control, 0.01..100 (default 1)\n"
    "  --beta auto|B         subclass temperature (default auto: liblelp's automatic beta)\n"
    "  --student linear|mlp  linear 784 -> k (default) or a 784-32-k ReLU MLP\n"
    "  --epochs E            student epochs (default 20)\n"
    "  --lr LR               student Adam learning rate, 1e-6..1 (default 0.001)\n"
    "  --teacher dae|binary  dae (default): denoising-autoencoder pretraining on the images without\n"
    "                        labels, then the head, then fine-tuning; binary: the binary labels only\n"
    "  --pretrain-epochs E   autoencoder epochs on the 60 000 images (dae; default 2)\n"
    "  --head-epochs E       epochs of the head alone on the frozen encoder (dae; default 1)\n"
    "  --finetune-epochs E   epochs of the whole teacher at lr 1e-4 (dae; 0..; default 1)\n"
    "  --teacher-epochs E    epochs of the binary-only teacher (binary; default 2)\n";

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

static int word_arg(const char* v, const char* a, const char* b, int* out)
{
    if (strcmp(v, a) && strcmp(v, b)) return 1;
    *out = !strcmp(v, b);
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

static int parse(int argc, char** argv, options* o)
{
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP, stdout);
            exit(0);
        }
        int bad = 0, binary = 0;
        if (!v) return usage("missing value after", a);
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--seeds")) bad = int_arg(v, 1, 64, &o->seeds);
        else if (!strcmp(a, "--first-seed")) bad = int_arg(v, 0, 1000000000, &o->first_seed);
        else if (!strcmp(a, "--train")) bad = int_arg(v, 100, 60000, &o->train);
        else if (!strcmp(a, "--S")) bad = int_arg(v, 1, 32, &o->S);
        else if (!strcmp(a, "--epochs")) bad = int_arg(v, 1, 100000, &o->epochs);
        else if (!strcmp(a, "--lr")) bad = real_arg(v, 1e-6, 1.0, &o->lr);
        else if (!strcmp(a, "--teacher")) bad = word_arg(v, "dae", "binary", &binary), o->dae = !binary;
        else if (!strcmp(a, "--student")) bad = word_arg(v, "linear", "mlp", &o->mlp_student);
        else if (!strcmp(a, "--pretrain-epochs")) bad = int_arg(v, 1, 100000, &o->pretrain_epochs);
        else if (!strcmp(a, "--head-epochs")) bad = int_arg(v, 1, 100000, &o->head_epochs);
        else if (!strcmp(a, "--finetune-epochs")) bad = int_arg(v, 0, 100000, &o->finetune_epochs);
        else if (!strcmp(a, "--teacher-epochs")) bad = int_arg(v, 1, 100000, &o->teacher_epochs);
        else if (!strcmp(a, "--tau")) bad = real_arg(v, 0.01, 100.0, &o->tau);
        else if (!strcmp(a, "--beta")) bad = strcmp(v, "auto") ? real_arg(v, 1e-12, 1e300, &o->beta) : (o->beta = 0.0, 0);
        else return usage("unknown option", a);
        if (bad) return usage("value out of range for", a);
        i++;
    }
    return 0;
}

/* mean +- std over seeds of one column */
static void column(const result* R, int seeds, int k, double* m, double* sd)
{
    double v[64];
    for (int s = 0; s < seeds; s++) v[s] = R[s].acc[k];
    mean_sd(v, seeds, m, sd);
}

static void paired(const result* R, int seeds, int k, const char* name)
{
    double v[64], m, sd;
    int wins = 0;
    for (int s = 0; s < seeds; s++) {
        v[s] = R[s].acc[k] - R[s].acc[KD];
        wins += v[s] > 0.0;
    }
    mean_sd(v, seeds, &m, &sd);
    printf("%-34s %+.4f +- %.4f   ahead on %d of %d seeds\n", name, m, sd, wins, seeds);
}

static void report(const options* o, const result* R, double wall, double cpu)
{
    const int N = o->seeds;
    printf("\nFashion-MNIST, superclasses {0,2,3,4,6} vs {1,5,7,8,9}; teacher %s; %s students on %d examples, "
           "%d epochs, lr %g; tau %g, S = %d, beta %s; seeds %d..%d\n\n",
           o->dae ? "784-512-256-2 pretrained as a denoising autoencoder, then fine-tuned"
                  : "784-512-256-2 trained on the binary labels only",
           o->mlp_student ? "784-32-k MLP" : "linear 784-k", o->train, o->epochs, o->lr, o->tau, o->S,
           o->beta > 0 ? "fixed" : "auto", o->first_seed, o->first_seed + N - 1);
    printf("%-6s %-8s %-8s %-8s %-8s %-8s %-8s %-8s %-8s %s\n", "seed", "teacher", "labels", "KD", "LELP", "k-means",
           "control", "LELP-KD", "beta", "beta(k-means)");
    for (int s = 0; s < N; s++)
        printf("%-6d %.4f   %.4f   %.4f   %.4f   %.4f   %.4f   %+.4f  %-8.4g %.4g\n", o->first_seed + s,
               R[s].acc[TEACHER], R[s].acc[LABELS], R[s].acc[KD], R[s].acc[LELP], R[s].acc[KMEANS],
               R[s].acc[CONTROL], R[s].acc[LELP] - R[s].acc[KD], R[s].beta[0], R[s].beta[1]);
    printf("\n%-42s %s\n", "model", "test accuracy (mean +- std over seeds)");
    for (int k = 0; k < NMODELS; k++) {
        double m, sd;
        char row[64];
        column(R, N, k, &m, &sd);
        snprintf(row, sizeof row, "%s%s", k == TEACHER ? "" : "student: ", NAMES[k]);
        printf("%-42s %.4f +- %.4f\n", row, m, sd);
    }
    printf("\npaired difference to vanilla KD (mean +- std over seeds)\n");
    paired(R, N, LELP, "LELP - KD");
    paired(R, N, KMEANS, "k-means - KD");
    paired(R, N, CONTROL, "control - KD");
    printf("\npseudo-subclass quality: NMI with the hidden Fashion-MNIST class (mean +- std over seeds)\n");
    printf("%-14s %-14s %s\n", "superclass", "LELP", "k-means");
    double tot[2] = {0, 0};
    for (int c = 0; c < 2; c++) {
        double m[2], sd[2];
        for (int l = 0; l < 2; l++) {
            double v[64];
            for (int s = 0; s < N; s++) v[s] = R[s].nmi[l][c];
            mean_sd(v, N, &m[l], &sd[l]);
            tot[l] += m[l] / 2;
        }
        printf("%-14s %.3f+-%.3f    %.3f+-%.3f\n", c ? "{1,5,7,8,9}" : "{0,2,3,4,6}", m[0], sd[0], m[1], sd[1]);
    }
    printf("%-14s %.3f          %.3f\n", "mean", tot[0], tot[1]);
    double b[2][64], bm[2], bs[2];
    for (int s = 0; s < N; s++) b[0][s] = R[s].beta[0], b[1][s] = R[s].beta[1];
    mean_sd(b[0], N, &bm[0], &bs[0]);
    mean_sd(b[1], N, &bm[1], &bs[1]);
    printf("\n%s beta: LELP %.4g +- %.3g, k-means %.4g +- %.3g\n", o->beta > 0 ? "fixed" : "automatic", bm[0], bs[0],
           bm[1], bs[1]);
    printf("total time %.1f s wall, %.1f s CPU\n", wall, cpu);
}

int main(int argc, char** argv)
{
    options o = {"build/data", 5, 0, 3000, 10, 20, 1, 2, 1, 1, 2, 0, 0.0, 1.0, 1e-3};
    int st = parse(argc, argv, &o);
    if (st) return st;
    tty = isatty(2);
    t_start = now();
    const clock_t c0 = clock();
    dataset full, test;
    load(o.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &full);
    load(o.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &test);
    if (o.train > full.n) return usage("--train exceeds the training set of", o.data);
    result* R = xmalloc((size_t)o.seeds * sizeof *R);
    for (int s = 0; s < o.seeds; s++) run_seed(&o, o.first_seed + s, &full, &test, &R[s]);
    report(&o, R, now() - t_start, (double)(clock() - c0) / CLOCKS_PER_SEC);
    free(R);
    free(full.X), free(full.y2), free(full.y10), free(test.X), free(test.y2), free(test.y10);
    return 0;
}
