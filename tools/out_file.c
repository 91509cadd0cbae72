/* SPDX-License-Identifier: MIT */
/* out_file.c -- atomic outputs of the lelp tool (see cli.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"


/* Outputs: each is written to a temporary file beside its target (created
 * exclusively, so it never overwrites anything) and renamed over the target
 * only when the whole command has succeeded. A failed command therefore
 * leaves every target as it was -- even one that is also an input -- and
 * removes only its own temporaries. A target that is not a regular file (a
 * FIFO, /dev/stdout) is written in place and never removed. */
typedef struct out_file {
    char target[1024], tmp[1040];
    int in_place;
} out_file;
static out_file g_outs[4];
static int g_nouts;

static void outs_discard(void)
{
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place) unlink(g_outs[k].tmp);
    g_nouts = 0;
}

int die(int code, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lelp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    outs_discard();
    return code;
}

/* The name to write `path`'s content under (see above), or NULL after a
 * message. A symbolic link is followed: the file it names is replaced. */
const char* out_begin(const char* path)
{
    out_file* o = &g_outs[g_nouts];
    struct stat sb;
    o->in_place = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return die(EXIT_BAD, "%s: is a directory", path), NULL;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        o->in_place = 1;
        snprintf(o->tmp, sizeof o->tmp, "%s", path);
    } else {
        char* real = stat(path, &sb) == 0 ? realpath(path, NULL) : NULL;
        int long_path = snprintf(o->target, sizeof o->target, "%s", real ? real : path) >= (int)sizeof o->target;
        free(real);
        if (long_path) return die(EXIT_BAD, "%s: path too long", path), NULL;
        int fd = -1;
        for (int k = 0; k < 100 && fd < 0; k++) {
            snprintf(o->tmp, sizeof o->tmp, k ? "%s.tmp%d" : "%s.tmp", o->target, k);
            fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
            if (fd < 0 && errno != EEXIST) break;
        }
        if (fd < 0) return die(EXIT_BAD, "%s: cannot create a temporary file beside it (%s)", path, strerror(errno)), NULL;
        close(fd);
    }
    g_nouts++;
    return o->tmp;
}

/* Every output into place; 0, or an exit status after a message. */
int outs_commit(void)
{
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place && rename(g_outs[k].tmp, g_outs[k].target) != 0)
            return die(EXIT_BAD, "%s: cannot rename into place (%s)", g_outs[k].target, strerror(errno));
    g_nouts = 0;
    return 0;
}
