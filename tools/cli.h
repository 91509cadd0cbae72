/* SPDX-License-Identifier: MIT */
/* cli.h -- what the files of the `lelp` command-line tool share: options,
 * messages and exit codes, atomic outputs, input checking, batching. */
#ifndef LELP_TOOLS_CLI_H
#define LELP_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "lelp.h"
#include "npy.h"

#define EXIT_BAD 1
#define EXIT_USAGE 2

typedef struct opts {
    const char *embeddings, *labels, *head, *model, *logits, *out, *positional;
    int64_t S, seed, batch;
    double beta, tau, smoothing;
    int null_space, rotate, json, have_beta, have_tau, have_smoothing;
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

/* cli_input.c */
int64_t batch_rows(const opts* o, int64_t in_width, int64_t out_width);
void* xalloc(size_t count, size_t size, int64_t rows);
double now(void);
void bar(int64_t done, int64_t total, double t0);
int open_matrix(npy_file* f, const char* path, const char* what);
int open_labels(npy_file* f, const char* path, int64_t rows, const char* rows_file);
int load_model(const char* path, lelp_model** m, int64_t* d, int64_t* C, int64_t* S);
int check_labels(const char* file, const int32_t* lab, int64_t n, int64_t row0, int64_t C);

/* the commands */
int cmd_fit(const opts* o);
int cmd_label(const opts* o, int assign);
int cmd_info(const opts* o);
int cmd_export(const opts* o);
int cmd_report(const opts* o);

#endif
