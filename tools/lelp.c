/* SPDX-License-Identifier: MIT */
/* lelp -- the command-line tool: liblelp for embeddings already in .npy files.
 * This file: the commands, their help (the reference docs/cli.md mirrors and
 * tests/cli/check_cli.py compares) and the dispatch. Each command family is
 * its own file (cmd_*.c, report.c); options are parsed in cli_args.c, outputs
 * made atomic in out_file.c, rows shared among threads in parallel.c.
 *
 * Exit status: 0 success, 1 bad input (one line naming the file and the
 * problem), 2 usage error. Inputs are streamed in batches of --batch rows and
 * outputs written batch by batch, so memory does not grow with the file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char* HELP_MAIN =
    "usage: lelp COMMAND [OPTIONS]\n"
    "LELP few-class distillation on .npy files (liblelp " LELP_VERSION_STRING ").\n\n"
    "commands:\n"
    "  fit       stream embeddings and labels, fit the per-class subspaces, write a model\n"
    "  label     soft targets (N, C*S) float32, class-major, from teacher logits or labels\n"
    "  assign    hard pseudo-subclass (N,) int32 of each example within its class\n"
    "  info      a model's shape, options and spectrum (--json for machines)\n"
    "  export    a model's arrays as .npy files in a directory\n"
    "  report    a self-contained HTML report with charts and a summary table\n"
    "  compress  train the embedding compressor e' = A e + a on labels and apply it\n\n"
    "`lelp COMMAND --help` documents each command; `lelp --version` prints the version.\n"
    "A model is given as MODEL or --model MODEL, in every command that reads one.\n"
    "-o - writes to standard output where the output is one stream (label, assign, report,\n"
    "compress, fit); export (a directory) refuses it.\n"
    "Inputs: .npy v1.0/2.0, C order, either byte order; embeddings, logits and head float32 or\n"
    "float64; labels int32 or int64 in [0, C). Large files are streamed in batches.\n"
    "Exit status: 0 success, 1 bad input (one line on stderr naming the file and the problem),\n"
    "2 usage error.\n";

#define OPT_MODEL "  MODEL, --model MODEL  the model file (written by lelp fit)\n"
#define OPT_BATCH                                                                                          \
    "  --batch ROWS          rows read at a time (default: as many as keep a batch of input and one of\n" \
    "                        output under 64 MiB each, at most 65536, at most the file's rows)\n"
#define OPT_THREADS                                                                                          \
    "  --threads N           threads, each its own block of every batch's rows with one BLAS thread\n"     \
    "                        (default: every core); 1 = one thread, BLAS threaded as its environment says\n"

/* name, options it accepts, help text */
static const char* const COMMANDS[][3] = {
    {"fit",
     " --embeddings --labels --head --subclasses --beta --entropy-fraction --seed --no-null-space --no-rotation"
     " --solver --sketch-size --precision --gram-form --beta-sample --labeller --batch --threads -o --output ",
     "usage: lelp fit --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S [OPTIONS] -o MODEL\n\n"
     "Streams H and y into per-class statistics, fits S pseudo-subclass directions per class and\n"
     "writes the model (liblelp's serialized format, docs/format.md) to MODEL (- = standard output).\n\n"
     "options:\n"
     "  --embeddings H.npy    (N, d) float32/float64 teacher embeddings\n"
     "  --labels y.npy        (N,) int32/int64 class labels; C = max(y) + 1\n"
     "  --head W.npy          (C, d) float32/float64 teacher output layer; its row space is projected\n"
     "                        out before the PCA unless --no-null-space\n"
     "  --subclasses S        pseudo-subclasses per class, 1 <= S <= d\n"
     "  --beta B|auto         subclass temperature: a number > 0, or auto (default): the beta at which\n"
     "                        the mean within-class entropy is --entropy-fraction of log S\n"
     "  --entropy-fraction F  automatic beta's target entropy as a fraction of log S, in [0.01, 0.99]\n"
     "                        (default 0.5)\n"
     "  --seed N              seed of the random rotation, 0 .. 2^63-1 (default 0)\n"
     "  --no-null-space       keep the head's row space (no projection)\n"
     "  --no-rotation         no random rotation of the directions\n"
     "  --solver exact|sketch exact per-class co-moments (default, C*d*d doubles) or a Frequent\n"
     "                        Directions sketch (C*2l*d doubles)\n"
     "  --sketch-size L       sketch rows per class for --solver sketch, S+1 .. 65536, or 0 = automatic\n"
     "                        (default: min(d + 1, max(2S, S + 8)))\n"
     "  --precision float64|float32  how the exact solver multiplies centred rows (default float64;\n"
     "                        float32: ~2x faster, co-moments to ~1e-6 relative)\n"
     "  --gram-form on|off    on (default): a class with at most d/2 rows is fitted from its Gram matrix\n"
     "  --beta-sample K       rows per class kept for the automatic beta: -1 automatic (default), 0 none,\n"
     "                        1 .. 1048576\n"
     "  --labeller projection|kmeans  projection (default): LELP's projections; kmeans: k-means clusters\n"
     "                        of the beta sample per class, in the same null-space projected space\n"
     OPT_BATCH OPT_THREADS
     "  -o, --output MODEL    the model file to write (- = standard output)\n\n"
     "The model depends on --threads only through rounding: each thread streams its own block of\n"
     "every batch into its own builder, merged in thread order, so the same thread count gives the\n"
     "same file. A progress bar (rows, rate, ETA) on a terminal, one summary line on stderr otherwise.\n"},
    {"label", " --model --embeddings --logits --tau --labels --smoothing --beta --batch --threads -o --output ",
     "usage: lelp label MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy [--smoothing E])\n"
     "                  [OPTIONS] -o T.npy\n\n"
     "Writes the LELP soft targets, float32 of shape (N, C*S), class-major (column c*S + s):\n"
     "t[c*S+s] = p_c * softmax_s((<U_c[:,s], h> - b_cs) / beta), written batch by batch.\n\n"
     "options:\n" OPT_MODEL
     "  --embeddings H.npy    (N, d) float32/float64 teacher embeddings\n"
     "  --logits Z.npy        (N, C) float32/float64 teacher logits: p = softmax(Z / tau)\n"
     "  --tau T               KD temperature in [0.01, 100] (default 1)\n"
     "  --labels y.npy        (N,) int32/int64 labels instead: p = (1 - E) one-hot(y) + E / C\n"
     "  --smoothing E         label smoothing in [0, 1) (default 0)\n"
     "  --beta B              use this subclass temperature instead of the model's\n"
     OPT_BATCH OPT_THREADS
     "  -o, --output T.npy    the targets (- = standard output)\n"},
    {"assign", " --model --embeddings --labels --batch --threads -o --output ",
     "usage: lelp assign MODEL --embeddings H.npy --labels y.npy [OPTIONS] -o SUB.npy\n\n"
     "Writes int32 (N,): the hard pseudo-subclass argmax_s f_{y,s} of each row within its own\n"
     "class (ties: lowest s), in [0, S).\n\n"
     "options:\n" OPT_MODEL
     "  --embeddings H.npy    (N, d) float32/float64 teacher embeddings\n"
     "  --labels y.npy        (N,) int32/int64 class labels\n"
     OPT_BATCH OPT_THREADS
     "  -o, --output SUB.npy  the assignments (- = standard output)\n"},
    {"info", " --json --model ",
     "usage: lelp info MODEL [--json]\n\n"
     "Prints d, C, S, beta (and whether it was automatic), seed, options (null space, head rank,\n"
     "rotation, solver), eigenvalues and explained-variance ratio per class, the model format\n"
     "version, the library version that wrote it and the one reading it.\n\n"
     "options:\n" OPT_MODEL
     "  --json                one JSON object (file names not valid UTF-8: each bad byte as \\ufffd)\n"},
    {"export", " --model -o --output ",
     "usage: lelp export MODEL -o DIR\n\n"
     "Writes the model's arrays as float64 .npy files into DIR (created if missing), all or none:\n"
     "  components.npy (C, S, d)  rows U_c^T: the projection directions of each class\n"
     "  means.npy      (C, d)     class means of the raw embeddings\n"
     "  eigenvalues.npy (C, S)    eigenvalues of P Sigma_c P, descending\n"
     "  offsets.npy    (C, S)     b_cs = <U_c[:,s], mu_c>\n\n"
     "options:\n" OPT_MODEL
     "  -o, --output DIR      the directory (not -: four files do not fit one stream)\n"},
    {"report", " --model --embeddings --labels --fine-labels --batch -o --output ",
     "usage: lelp report MODEL --embeddings H.npy --labels y.npy [--fine-labels F.npy] [OPTIONS] -o report.html\n\n"
     "One self-contained HTML file with inline SVG charts: a summary table per class (rows, explained\n"
     "variance of the S directions, smallest and largest pseudo-subclass share, mean within-class\n"
     "entropy, and with --fine-labels the NMI of the pseudo-subclasses with those labels), the mean\n"
     "within-class entropy at beta x 1/4 .. 4 against its target, and per class the explained-variance\n"
     "spectrum, the pseudo-subclass occupancy (both over all rows, streamed) and a scatter of the\n"
     "first two rotated coordinates by pseudo-subclass (at most 5000 rows, evenly subsampled).\n\n"
     "options:\n" OPT_MODEL
     "  --embeddings H.npy    (N, d) float32/float64 teacher embeddings\n"
     "  --labels y.npy        (N,) int32/int64 class labels\n"
     "  --fine-labels F.npy   (N,) int32/int64 finer labels (e.g. the original classes), >= 0\n"
     OPT_BATCH
     "  -o, --output FILE     the HTML file (- = standard output)\n"},
    {"compress",
     " --model --embeddings --labels --dim --epochs --lr --optimizer --weight-decay --seed --save --batch -o --output ",
     "usage: lelp compress --embeddings E.npy --labels y.npy --dim K [OPTIONS] [--save STATE] [-o OUT.npy]\n"
     "       lelp compress STATE --embeddings E.npy -o OUT.npy\n\n"
     "Trains the embedding compressor e' = A e + a (k x d_t, with a linear softmax head on the\n"
     "labels; Ding & Lerch, docs/methods.md) for --epochs passes over E, one optimizer step per\n"
     "batch, and/or applies it: OUT.npy is e' of every row of E, float32 (N, K). Given a STATE\n"
     "(written by --save) and labels, training continues from it; without labels it is applied.\n\n"
     "options:\n"
     "  STATE, --model STATE  a compressor saved by --save\n"
     "  --embeddings E.npy    (N, d_t) float32/float64 teacher embeddings\n"
     "  --labels y.npy        (N,) int32/int64 class labels; C = max(y) + 1\n"
     "  --dim K               width of the compressed embedding (a new compressor)\n"
     "  --epochs N            passes over the rows (default 10)\n"
     "  --lr X                learning rate in [1e-12, 10] (default 1e-3)\n"
     "  --optimizer adam|sgd  Adam (default) or SGD with momentum 0.9\n"
     "  --weight-decay W      L2 weight decay in [0, 1] (default 0)\n"
     "  --seed N              seed of the initial weights (default 0)\n"
     "  --batch ROWS          rows per optimizer step (default 256) and per batch when applying\n"
     "  --save STATE          write the trained compressor (format LELPCOMP, docs/format.md)\n"
     "  -o, --output OUT.npy  e' of every row (- = standard output)\n"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

int main(int argc, char** argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(HELP_MAIN, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lelp %s\n", lelp_version_string());
        return 0;
    }
    int c = -1;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(COMMANDS[i][0], argv[1])) c = (int)i;
    if (c < 0) return die(EXIT_USAGE, "unknown command '%s' (see lelp --help)", argv[1]);
    opts o;
    int rc = parse(argc, argv, COMMANDS[c][0], COMMANDS[c][1], &o);
    if (rc == -1) {
        fputs(COMMANDS[c][2], stdout);
        return 0;
    }
    if (rc) return rc;
    switch (c) {
    case 0: return cmd_fit(&o);
    case 1: return cmd_label(&o, 0);
    case 2: return cmd_label(&o, 1);
    case 3: return cmd_info(&o);
    case 4: return cmd_export(&o);
    case 5: return cmd_report(&o);
    default: return cmd_compress(&o);
    }
}
