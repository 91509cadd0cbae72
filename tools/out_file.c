/* SPDX-License-Identifier: MIT */
/* out_file.c -- atomic outputs of the lelp tool (see cli.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"


/* Outputs: each is written to a temporary file beside its target, named
 * TARGET.tmp.XXXXXX by mkstemp (created exclusively with a unique name, so it
 * never overwrites anything, and a temporary left by a killed run (SIGKILL)
 * never blocks a later write), and renamed over the target only when the
 * whole command has succeeded. A failed command therefore leaves every
 * target as it was -- even one that is also an input -- and removes only its
 * own temporaries; so does SIGINT, SIGTERM, SIGHUP or SIGPIPE, through a
 * handler that unlinks the registered temporaries (unlink is
 * async-signal-safe) and then dies of the signal. A target that is not a
 * regular file (a FIFO, /dev/stdout) is written in place and never removed;
 * "-" is standard output. */
#define MAX_OUTS 8
typedef struct out_file {
    char target[1024], tmp[1040];
    int in_place;
} out_file;
static out_file g_outs[MAX_OUTS];
static volatile sig_atomic_t g_nouts; /* read by the signal handler */
static const int SIGNALS[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define NSIGNALS (int)(sizeof SIGNALS / sizeof SIGNALS[0])

static void on_signal(int sig)
{
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place) unlink(g_outs[k].tmp);
    signal(sig, SIG_DFL); /* then die of it, so the parent sees the signal */
    raise(sig);
}

/* Signals held while the list of temporaries changes, so the handler never
 * sees a half-registered entry (block = 1) or released again (block = 0). */
static void hold_signals(int block, sigset_t* old)
{
    sigset_t set;
    sigemptyset(&set);
    for (int k = 0; k < NSIGNALS; k++) sigaddset(&set, SIGNALS[k]);
    if (block) sigprocmask(SIG_BLOCK, &set, old);
    else sigprocmask(SIG_SETMASK, old, NULL);
}

static void install_handler(void)
{
    static int done;
    if (done) return;
    done = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int k = 0; k < NSIGNALS; k++) {
        struct sigaction prev;
        /* a signal the caller ignores (nohup, SIGPIPE ignored by a shell) stays ignored */
        if (sigaction(SIGNALS[k], NULL, &prev) == 0 && prev.sa_handler == SIG_IGN) continue;
        sigaction(SIGNALS[k], &sa, NULL);
    }
}

static void outs_discard(void)
{
    sigset_t old;
    hold_signals(1, &old);
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place) unlink(g_outs[k].tmp);
    g_nouts = 0;
    hold_signals(0, &old);
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

/* A unique temporary beside o->target, registered before the signal mask
 * is lifted; 0, or -1 with errno set. Its mode is what creat() would give
 * (0666 less the umask), not mkstemp's 0600. */
static int make_temp(out_file* o)
{
    char name[sizeof o->tmp];
    if (snprintf(name, sizeof name, "%s.tmp.XXXXXX", o->target) >= (int)sizeof name) return errno = ENAMETOOLONG, -1;
    mode_t mask = umask(0);
    umask(mask);
    sigset_t old;
    hold_signals(1, &old);
    int fd = mkstemp(name);
    if (fd >= 0) {
        memcpy(o->tmp, name, sizeof name);
        g_nouts++;
    }
    hold_signals(0, &old);
    if (fd < 0) return -1;
    if (fchmod(fd, 0666 & ~mask) != 0) { /* keep going: the content is what matters */ }
    close(fd);
    return 0;
}

/* The name to write `path`'s content under (see above), or NULL after a
 * message. A symbolic link is followed: the file it names is replaced. */
const char* out_begin(const char* path)
{
    if (g_nouts >= MAX_OUTS) return die(EXIT_BAD, "%s: too many outputs", path), NULL;
    install_handler();
    out_file* o = &g_outs[g_nouts];
    struct stat sb;
    o->in_place = 0;
    if (!strcmp(path, "-")) return "-"; /* standard output: in place, not registered */
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return die(EXIT_BAD, "%s: is a directory", path), NULL;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        o->in_place = 1;
        snprintf(o->tmp, sizeof o->tmp, "%s", path);
        g_nouts++;
        return o->tmp;
    }
    char* real = stat(path, &sb) == 0 ? realpath(path, NULL) : NULL;
    int long_path = snprintf(o->target, sizeof o->target, "%s", real ? real : path) >= (int)sizeof o->target;
    free(real);
    if (long_path) return die(EXIT_BAD, "%s: path too long", path), NULL;
    if (make_temp(o) != 0)
        return die(EXIT_BAD, "%s: cannot create a temporary file beside it (%s)", path, strerror(errno)), NULL;
    return o->tmp;
}

/* Every output into place; 0, or an exit status after a message. */
int outs_commit(void)
{
    sigset_t old;
    hold_signals(1, &old);
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place && rename(g_outs[k].tmp, g_outs[k].target) != 0) {
            int e = errno;
            hold_signals(0, &old);
            return die(EXIT_BAD, "%s: cannot rename into place (%s)", g_outs[k].target, strerror(e));
        }
    g_nouts = 0;
    hold_signals(0, &old);
    return 0;
}

int write_bytes(const char* tmp, const char* target, const void* data, size_t size)
{
    FILE* f = strcmp(tmp, "-") ? fopen(tmp, "wb") : stdout;
    if (!f) return die(EXIT_BAD, "%s: cannot create (%s)", target, strerror(errno));
    int bad = fwrite(data, 1, size, f) != size;
    bad |= f == stdout ? fflush(f) != 0 : fclose(f) != 0;
    return bad ? die(EXIT_BAD, "%s: write failed", target) : 0;
}
