/* SPDX-License-Identifier: MIT */
/* lelp -- the command-line tool: liblelp for embeddings already in .npy files.
 *
 *   lelp fit    --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S
 *               [--beta B|auto] [--seed N] [--no-null-space] [--no-rotation]
 *               [--batch ROWS] -o MODEL
 *   lelp label  --model MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy)
 *               [--smoothing E] [--beta B] [--batch ROWS] -o T.npy
 *   lelp assign --model MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o SUB.npy
 *   lelp info   MODEL [--json]
 *   lelp export MODEL -o DIR
 *   lelp report MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o report.html
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
    "  fit      stream embeddings and labels, fit the per-class subspaces, write a model\n"
    "  label    soft targets (N, C*S) float32, class-major, from teacher logits or labels\n"
    "  assign   hard pseudo-subclass (N,) int32 of each example within its class\n"
    "  info     a model's shape, options and spectrum (--json for machines)\n"
    "  export   a model's arrays as .npy files in a directory\n"
    "  report   a self-contained HTML report with charts\n\n"
    "`lelp COMMAND --help` documents each command; `lelp --version` prints the version.\n"
    "Inputs: .npy v1.0/2.0, C order, little-endian; embeddings, logits and head float32 or\n"
    "float64; labels int32 or int64 in [0, C). Large files are streamed in batches.\n"
    "Exit status: 0 success, 1 bad input (one line on stderr naming the file and the problem),\n"
    "2 usage error.\n";

/* name, options it accepts, help text */
static const char* const COMMANDS[][3] = {
    {"fit", " --embeddings --labels --head --subclasses --beta --seed --no-null-space --no-rotation --batch -o --output ",
     "usage: lelp fit --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S\n"
     "                [--beta B|auto] [--seed N] [--no-null-space] [--no-rotation] [--batch ROWS] -o MODEL\n\n"
     "Streams H and y into per-class statistics, fits S pseudo-subclass directions per class and\n"
     "writes the model (liblelp's serialized format, docs/format.md) to MODEL.\n\n"
     "  --embeddings H.npy  (N, d) float32/float64 teacher embeddings\n"
     "  --labels y.npy      (N,) int32/int64 class labels; C = max(y) + 1\n"
     "  --head W.npy        (C, d) float32/float64 teacher output layer; its row space is projected\n"
     "                      out before the PCA unless --no-null-space\n"
     "  --subclasses S      pseudo-subclasses per class, 1 <= S <= d\n"
     "  --beta B|auto       subclass temperature: a number > 0, or auto (default): the beta at which\n"
     "                      the mean within-class entropy is half of log S on the fitting data\n"
     "  --seed N            seed of the random rotation, 0 .. 2^63-1 (default 0)\n"
     "  --no-null-space     keep the head's row space (no projection)\n"
     "  --no-rotation       no random rotation of the directions\n"
     "  --batch ROWS        rows streamed at a time (default: as many as fit in 64 MiB, at most\n"
     "                      65536), so memory stays bounded whatever the file size\n"
     "  -o, --output MODEL  the model file to write\n\n"
     "A progress bar (rows, rate, ETA) on a terminal, one summary line on stderr otherwise.\n"},
    {"label", " --model --embeddings --logits --tau --labels --smoothing --beta --batch -o --output ",
     "usage: lelp label --model MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy [--smoothing E])\n"
     "                  [--beta B] [--batch ROWS] -o T.npy\n\n"
     "Writes the LELP soft targets, float32 of shape (N, C*S), class-major (column c*S + s):\n"
     "t[c*S+s] = p_c * softmax_s((<U_c[:,s], h> - b_cs) / beta), written batch by batch.\n\n"
     "  --logits Z.npy      (N, C) float32/float64 teacher logits: p = softmax(Z / tau)\n"
     "  --tau T             KD temperature in [0.01, 100] (default 1)\n"
     "  --labels y.npy      (N,) int32/int64 labels instead: p = (1 - E) one-hot(y) + E / C\n"
     "  --smoothing E       label smoothing in [0, 1) (default 0)\n"
     "  --beta B            use this subclass temperature instead of the model's\n"
     "  --batch ROWS        rows per batch (default: bounded by 64 MiB of input and of output)\n"},
    {"assign", " --model --embeddings --labels --batch -o --output ",
     "usage: lelp assign --model MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o SUB.npy\n\n"
     "Writes int32 (N,): the hard pseudo-subclass argmax_s f_{y,s} of each row within its own\n"
     "class (ties: lowest s), in [0, S).\n"},
    {"info", " --json --model ",
     "usage: lelp info MODEL [--json]\n\n"
     "Prints d, C, S, beta (and whether it was automatic), seed, options (null space, head rank,\n"
     "rotation, solver), eigenvalues and explained-variance ratio per class, the model format\n"
     "version, the library version that wrote it and the one reading it. --json: one JSON object.\n"},
    {"export", " --model -o --output ",
     "usage: lelp export MODEL -o DIR\n\n"
     "Writes the model's arrays as float64 .npy files into DIR (created if missing):\n"
     "  components.npy (C, S, d)  rows U_c^T: the projection directions of each class\n"
     "  means.npy      (C, d)     class means of the raw embeddings\n"
     "  eigenvalues.npy (C, S)    eigenvalues of P Sigma_c P, descending\n"
     "  offsets.npy    (C, S)     b_cs = <U_c[:,s], mu_c>\n"},
    {"report", " --model --embeddings --labels --batch -o --output ",
     "usage: lelp report MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o report.html\n\n"
     "One self-contained HTML file with inline SVG charts: the mean within-class entropy that beta\n"
     "(and beta x 1/4 .. 4) gives, and per class the explained-variance spectrum, the\n"
     "pseudo-subclass occupancy (both over all rows, streamed) and a scatter of the first two\n"
     "rotated coordinates coloured by pseudo-subclass (at most 5000 rows, evenly subsampled).\n"},
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
    default: return cmd_report(&o);
    }
}
