/* SPDX-License-Identifier: MIT */
/* cli.h -- what the files of the `lelp` command-line tool share: options,
 * messages and exit codes, atomic outputs, input checking, batching. */
#ifndef LELP_TOOLS_CLI_H
#define LELP_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#define LELP_EXPERIMENTAL /* lelp fit exposes the builder knobs (--sketch-size, --float32, ...) */
#include "lelp.h"
#include "npy.h"

#define EXIT_BAD 1
#define EXIT_USAGE 2

#define MAX_THREADS 256 /* each opens its own handle of every input file */

typedef struct opts {
    const char *embeddings, *labels, *head, *model, *logits, *out, *positional, *fine_labels, *save;
    int64_t S, seed, batch, threads, sketch_size, beta_sample, dim, epochs;
    double beta, tau, smoothing, entropy_fraction, lr, weight_decay;
    int null_space, rotate, json, have_beta, have_tau, have_smoothing, have_entropy_fraction, have_sketch_size,
        have_beta_sample;
    int solver, precision, gram_form, optimizer, labeller; /* index into the option's choices, -1 = not given */
} opts;

/* "lelp: " + the message on stderr, temporaries of this run removed; returns code. */
int die(int code, const char* fmt, ...);

/* cli_args.c: parses argv[2..] for command `cmd`, which takes the options
 * listed in `accepted` (" --a --b "). 0, -1 for --help, or an exit status
 * after a message. */
int parse(int argc, char** argv, const char* cmd, const char* accepted, opts* o);

/* out_file.c: atomic outputs. out_begin returns the name to write `path`'s
 * content under (NULL after a message); outs_commit renames every output of
 * the run into place (0, or an exit status after a message). */
const char* out_begin(const char* path);
int outs_commit(void);
/* size bytes to the name out_begin gave (tmp, or "-" for standard output);
 * messages name target. 0, or an exit status after a message. */
int write_bytes(const char* tmp, const char* target, const void* data, size_t size);

/* cli_input.c */
int64_t batch_rows(const opts* o, int64_t rows, int64_t in_width, int64_t out_width);
void* xalloc(size_t count, size_t size, int64_t rows);
double now(void);
void bar(int64_t done, int64_t total, double t0);
int open_matrix(npy_file* f, const char* path, const char* what);
int open_labels(npy_file* f, const char* path, int64_t rows, const char* rows_file);
int load_model(const char* path, lelp_model** m, int64_t* d, int64_t* C, int64_t* S);
int check_labels(const char* file, const int32_t* lab, int64_t n, int64_t row0, int64_t C);
/* the same check for a thread: 1 with the message in msg, never printing */
int label_problem(const char* file, const int32_t* lab, int64_t n, int64_t row0, int64_t C, char* msg, size_t len);
/* T handles of one input file (already checked once by the caller), one per
 * thread: each thread reads its own rows through its own FILE*. NULL after a
 * message. */
npy_file* open_copies(const char* path, int T);
void close_copies(npy_file* f, int T);

/* parallel.c: threads over row shares. threads_use(--threads) is the count
 * to use (0: every core) and pins BLAS to one thread when it is > 1;
 * run_shares calls fn(ctx, t, T) for t = 0 .. T-1 on T threads (t = 0 on the
 * caller) and returns when all are done; share_rows is share t's rows of n. */
typedef void (*share_fn)(void* ctx, int t, int T);
int threads_default(void);
int threads_use(int64_t requested);
void share_rows(int64_t n, int t, int T, int64_t* r0, int64_t* r1);
void run_shares(int T, share_fn fn, void* ctx);
/* a share's failure: the status and liblelp's (thread-local) message */
typedef struct share_error {
    int status; /* a lelp_status, or -1 for an input file's problem */
    char msg[1200];
} share_error;
void share_fail(share_error* e, int st);

/* the commands */
int cmd_fit(const opts* o);
int cmd_label(const opts* o, int assign);
int cmd_info(const opts* o);
int cmd_export(const opts* o);
int cmd_report(const opts* o);
int cmd_compress(const opts* o);

#endif
