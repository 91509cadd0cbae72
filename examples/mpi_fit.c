/* SPDX-License-Identifier: MIT */
/* mpi_fit.c -- fit LELP subspaces on data spread over MPI ranks.
 *
 * Each rank streams its own slice of the rows of the .npy inputs into its own
 * builder; the builders are reduced to rank 0 by a binomial tree of merges
 * over their serialized partial states (lelp_builder_serialize / _load /
 * _merge), and rank 0 fits and writes the model. The flags are those of
 * `lelp fit`, plus --state-out to keep the reduced builder state.
 *
 *   mpirun -np 4 build/examples/mpi_fit --embeddings H.npy --labels y.npy \
 *          [--head W.npy] --subclasses S [--beta B|auto] [--seed N] \
 *          [--no-null-space] [--no-rotation] [--batch ROWS] [--solver exact|sketch] \
 *          -o MODEL [--state-out STATE] [--traffic]
 *
 * Rank r reads rows [N*r/P, N*(r+1)/P): a rank may get no rows and a class
 * may be absent on some ranks; the merge handles both. Exit 0 on success,
 * 1 on bad input or a failed fit, 2 on a usage error. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lelp.h"
#include "npy.h" /* tools/npy.c: the one .npy reader */

typedef struct options {
    const char *embeddings, *labels, *head, *out, *state_out;
    int64_t S, seed, batch;
    double beta;
    int null_space, rotate, solver, traffic;
} options;

static int usage(int rank, const char* why)
{
    if (rank == 0)
        fprintf(stderr, "mpi_fit: %s\nusage: mpi_fit --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S "
                        "[--beta B|auto] [--seed N] [--no-null-space] [--no-rotation] [--batch ROWS] "
                        "[--solver exact|sketch] -o MODEL [--state-out STATE] [--traffic]\n", why);
    return 2;
}

static int parse(int argc, char** argv, options* o, int rank)
{
    memset(o, 0, sizeof *o);
    o->beta = 0.0;
    o->null_space = o->rotate = 1;
    o->batch = 4096;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--embeddings") && v) o->embeddings = v;
        else if (!strcmp(a, "--labels") && v) o->labels = v;
        else if (!strcmp(a, "--head") && v) o->head = v;
        else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) o->out = v;
        else if (!strcmp(a, "--state-out") && v) o->state_out = v;
        else if (!strcmp(a, "--subclasses") && v) o->S = atoll(v);
        else if (!strcmp(a, "--seed") && v) o->seed = atoll(v);
        else if (!strcmp(a, "--batch") && v) o->batch = atoll(v);
        else if (!strcmp(a, "--beta") && v) o->beta = strcmp(v, "auto") ? atof(v) : 0.0;
        else if (!strcmp(a, "--solver") && v) o->solver = !strcmp(v, "sketch");
        else {
            takes = 0;
            if (!strcmp(a, "--no-null-space")) o->null_space = 0;
            else if (!strcmp(a, "--no-rotation")) o->rotate = 0;
            else if (!strcmp(a, "--traffic")) o->traffic = 1;
            else return usage(rank, "unknown or incomplete option");
        }
        i += takes;
    }
    if (!o->embeddings || !o->labels || !o->out || o->S < 1 || o->batch < 1)
        return usage(rank, "--embeddings, --labels, --subclasses and -o are required");
    return 0;
}

static int fail(int rank, const char* what, int st)
{
    fprintf(stderr, "mpi_fit[%d]: %s: %s (%s)\n", rank, what, lelp_status_string(st), lelp_last_error());
    return 1;
}

/* Streams this rank's rows [N*r/P, N*(r+1)/P) in batches: one pass over its
 * labels for the class count (largest label + 1, agreed over all ranks),
 * one pass over rows and labels into the builder. Memory: one batch. */
static int stream_slice(const options* o, int rank, int size, lelp_builder** out, int64_t* d_out, int64_t* C_out)
{
    char err[1100];
    npy_file H, y;
    int bad = npy_open(&H, o->embeddings, err, sizeof err) || npy_open(&y, o->labels, err, sizeof err);
    if (!bad && (H.ndim != 2 || H.kind != 'f' || y.ndim != 1 || y.kind != 'i' || y.rows != H.rows)) {
        snprintf(err, sizeof err, "%s must be (N, d) float and %s (N,) int with the same N", o->embeddings, o->labels);
        bad = 1;
    }
    const int64_t N = bad ? 0 : H.rows, d = bad ? 0 : H.cols;
    const int64_t r0 = N * rank / size, r1 = N * (rank + 1) / size;
    int32_t* lab = malloc(sizeof(int32_t) * (size_t)o->batch);
    float* rows = malloc(sizeof(float) * (size_t)(o->batch * (d > 0 ? d : 1)));
    int32_t local_max = -1, C = -1;
    for (int64_t i = r0; i < r1 && !bad; i += o->batch) {
        int64_t nb = r1 - i < o->batch ? r1 - i : o->batch;
        if (npy_read_i32(&y, i, nb, lab, err, sizeof err)) bad = 1;
        for (int64_t k = 0; k < nb && !bad; k++) {
            if (lab[k] < 0) {
                snprintf(err, sizeof err, "%s: negative label at row %lld", o->labels, (long long)(i + k));
                bad = 1;
            }
            local_max = lab[k] > local_max ? lab[k] : local_max;
        }
    }
    if (bad) fprintf(stderr, "mpi_fit[%d]: %s\n", rank, err);
    /* every rank takes part in the collective even after an error */
    int32_t send = bad ? INT32_MIN : local_max;
    MPI_Allreduce(&send, &C, 1, MPI_INT32_T, MPI_MAX, MPI_COMM_WORLD);
    int any_bad = bad;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    C += 1;
    lelp_builder* b = NULL;
    int st = LELP_OK;
    if (!any_bad && C < 1) {
        if (rank == 0) fprintf(stderr, "mpi_fit: %s has no labels\n", o->labels);
        any_bad = 1;
    }
    if (!any_bad) {
        st = lelp_builder_create(&b, d, C, o->S, NULL);
        if (!st) st = lelp_builder_set_int(b, LELP_BUILDER_SOLVER, o->solver);
        if (st) fail(rank, "builder", st);
    }
    for (int64_t i = r0; i < r1 && !any_bad && st == LELP_OK; i += o->batch) {
        int64_t nb = r1 - i < o->batch ? r1 - i : o->batch;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err) || npy_read_i32(&y, i, nb, lab, err, sizeof err)) {
            fprintf(stderr, "mpi_fit[%d]: %s\n", rank, err);
            st = LELP_E_IO;
            break;
        }
        st = lelp_builder_update(b, rows, lab, nb, d);
        if (st) fail(rank, "update", st);
    }
    free(rows);
    free(lab);
    npy_close(&H);
    npy_close(&y);
    *d_out = d;
    *C_out = C;
    if (any_bad || st) {
        lelp_builder_free(b);
        return 1;
    }
    *out = b;
    return 0;
}

/* Binomial tree: at distance k, ranks with r % 2k == k send their state to
 * r - k, which merges it. log2(P) rounds; rank 0 ends with everything. */
static int reduce_tree(lelp_builder* b, int rank, int size, uint64_t* sent_bytes)
{
    for (int k = 1; k < size; k *= 2) {
        if (rank % (2 * k) == k) {
            size_t n = 0;
            int st = lelp_builder_serialized_size(b, &n);
            unsigned char* buf = st ? NULL : malloc(n);
            if (!buf || lelp_builder_serialize(b, buf, n, NULL)) return fail(rank, "serialize", st ? st : LELP_E_NOMEM);
            uint64_t len = n;
            MPI_Send(&len, 1, MPI_UINT64_T, rank - k, 0, MPI_COMM_WORLD);
            for (size_t off = 0; off < n; off += (size_t)1 << 30) {
                size_t chunk = n - off < ((size_t)1 << 30) ? n - off : ((size_t)1 << 30);
                MPI_Send(buf + off, (int)chunk, MPI_BYTE, rank - k, 1, MPI_COMM_WORLD);
            }
            *sent_bytes += n + sizeof len;
            free(buf);
            return 0;
        }
        if (rank % (2 * k) == 0 && rank + k < size) {
            uint64_t len = 0;
            MPI_Recv(&len, 1, MPI_UINT64_T, rank + k, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            unsigned char* buf = malloc(len ? (size_t)len : 1);
            if (!buf) return fail(rank, "receive buffer", LELP_E_NOMEM);
            for (size_t off = 0; off < len; off += (size_t)1 << 30) {
                size_t chunk = len - off < ((size_t)1 << 30) ? len - off : ((size_t)1 << 30);
                MPI_Recv(buf + off, (int)chunk, MPI_BYTE, rank + k, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
            lelp_builder* other = NULL;
            int st = lelp_builder_load(&other, buf, (size_t)len, NULL);
            free(buf);
            if (st) return fail(rank, "load a partial state", st);
            st = lelp_builder_merge(b, other);
            lelp_builder_free(other);
            if (st) return fail(rank, "merge", st);
        }
    }
    return 0;
}

static int fit_and_write(const options* o, lelp_builder* b, int64_t d, int64_t C)
{
    int st = lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, o->null_space);
    if (!st) st = lelp_builder_set_int(b, LELP_BUILDER_ROTATE, o->rotate);
    if (!st) st = lelp_builder_set_int(b, LELP_BUILDER_SEED, o->seed);
    if (!st) st = lelp_builder_set_double(b, LELP_BUILDER_BETA, o->beta);
    if (st) return fail(0, "parameters", st);
    if (o->head) {
        char err[1100];
        npy_file W;
        if (npy_open(&W, o->head, err, sizeof err) || W.ndim != 2 || W.rows != C || W.cols != d) {
            fprintf(stderr, "mpi_fit[0]: %s\n", W.f ? "--head must be a (C, d) float array" : err);
            return 1;
        }
        float* w = malloc(sizeof(float) * (size_t)(C * d));
        if (!w || npy_read_f32(&W, 0, C, w, err, sizeof err)) {
            fprintf(stderr, "mpi_fit[0]: %s\n", w ? err : "out of memory");
            return 1;
        }
        npy_close(&W);
        st = lelp_builder_set_head(b, w, C, d);
        free(w);
        if (st) return fail(0, "head", st);
    }
    if (o->state_out && (st = lelp_builder_save_path(b, o->state_out))) return fail(0, "save state", st);
    lelp_model* m = NULL;
    if ((st = lelp_builder_fit(b, &m))) return fail(0, "fit", st);
    st = lelp_model_save_path(m, o->out);
    lelp_model_free(m);
    if (st) return fail(0, "save model", st);
    return 0;
}

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    options o;
    int rc = parse(argc, argv, &o, rank);
    lelp_builder* b = NULL;
    int64_t d = 0, C = 0;
    uint64_t sent = 0;
    if (!rc) rc = stream_slice(&o, rank, size, &b, &d, &C);
    /* every rank must agree before the reduction starts */
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (!worst) rc = reduce_tree(b, rank, size, &sent);
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (!worst && rank == 0) rc = fit_and_write(&o, b, d, C);
    if (o.traffic) {
        uint64_t total = 0;
        MPI_Reduce(&sent, &total, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0)
            printf("mpi_fit: %d ranks, d = %lld, C = %lld: %llu bytes sent in the reduction (%llu per sending rank)\n",
                   size, (long long)d, (long long)C, (unsigned long long)total,
                   (unsigned long long)(size > 1 ? total / (uint64_t)(size - 1) : 0));
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    lelp_builder_free(b);
    MPI_Finalize();
    return worst ? worst : rc;
}
