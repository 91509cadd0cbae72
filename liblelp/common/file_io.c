/* SPDX-License-Identifier: MIT */
/* file_io.c -- whole-file read and atomic write for the *_path helpers.
 * Compiled out with LELP_NO_STDIO for hosts without a file system. */
#if defined(__unix__) || defined(__APPLE__)
#define _XOPEN_SOURCE 700 /* open, fdopen, stat, realpath */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int lelp__read_file(const lelp__mem* mem, const char* path, const lelp__file_kind* kind, uint8_t** buf,
                           size_t* size);
static int lelp__write_file(const char* path, const uint8_t* buf, size_t size);

/* The *_save_path / *_load_path conveniences of every object share these:
 * a buffer for the serialized bytes, then one write; one read, then the
 * object's own loader. */
int lelp__save_begin(const lelp__mem* mem, const char* path, size_t size, uint8_t** buf, const char* what)
{
    *buf = NULL;
    if (!path) return lelp__fail(LELP_E_NULL, "%s: path is NULL", what);
    *buf = lelp__alloc(mem, size);
    if (!*buf) return lelp__fail(LELP_E_NOMEM, "%s: out of memory for %zu bytes", what, size);
    return LELP_OK;
}

int lelp__save_end(const lelp__mem* mem, const char* path, uint8_t* buf, size_t size, int status, const char* what)
{
    /* the file helpers' messages name the path; the call's name goes first */
    if (status == LELP_OK && (status = lelp__write_file(path, buf, size))) lelp__fail_within(status, what);
    lelp__free(mem, buf, size);
    return status;
}

int lelp__load_begin(int have_out, const char* path, const lelp_allocator* alloc, lelp__mem* mem,
                     const lelp__file_kind* kind, uint8_t** buf, size_t* size, const char* what)
{
    *buf = NULL;
    if (!have_out) return lelp__fail(LELP_E_NULL, "%s: out is NULL", what);
    if (!path) return lelp__fail(LELP_E_NULL, "%s: path is NULL", what);
    int st = lelp__check_allocator(alloc, what);
    if (st) return st;
    lelp__mem_init(mem, alloc);
    if ((st = lelp__read_file(mem, path, kind, buf, size))) return lelp__fail_within(st, what);
    return LELP_OK;
}

#if defined(LELP_NO_STDIO)
static int lelp__read_file(const lelp__mem* mem, const char* path, const lelp__file_kind* kind, uint8_t** buf,
                           size_t* size)
{
    (void)mem; (void)kind; (void)buf; (void)size;
    return lelp__fail(LELP_E_IO, "%s: built without file I/O (LELP_NO_STDIO)", path);
}
static int lelp__write_file(const char* path, const uint8_t* buf, size_t size)
{
    (void)buf; (void)size;
    return lelp__fail(LELP_E_IO, "%s: built without file I/O (LELP_NO_STDIO)", path);
}
#else
#if defined(__unix__) || defined(__APPLE__)
typedef int lelp__fd;
/* Opened without blocking: opening a FIFO for reading otherwise waits for
 * a writer forever, before anything could check what the path is. Only a
 * regular file is read (a directory, FIFO, socket or device is refused),
 * and its size is known before anything is allocated. */
static int lelp__open_regular(const char* path, lelp__fd* fd, size_t* fsize)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) return lelp__fail(LELP_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(*fd);
        return lelp__fail(LELP_E_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > SIZE_MAX / 2) {
        close(*fd);
        return lelp__fail(LELP_E_IO, "%s: cannot determine its size", path);
    }
    *fsize = (size_t)sb.st_size;
    return LELP_OK;
}

/* Exactly n bytes (a regular file returns short counts only at its end). */
static int lelp__read_exact(lelp__fd fd, uint8_t* p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n > (size_t)1 << 30 ? (size_t)1 << 30 : n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

static void lelp__close(lelp__fd fd)
{
    close(fd);
}
#else
typedef FILE* lelp__fd;
static int lelp__open_regular(const char* path, lelp__fd* fd, size_t* fsize)
{
    long len = -1;
    *fd = fopen(path, "rb");
    if (!*fd) return lelp__fail(LELP_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(*fd, 0, SEEK_END) != 0 || (len = ftell(*fd)) < 0 || fseek(*fd, 0, SEEK_SET) != 0) {
        fclose(*fd);
        return lelp__fail(LELP_E_IO, "%s: cannot determine its size", path);
    }
    *fsize = (size_t)len;
    return LELP_OK;
}

static int lelp__read_exact(lelp__fd fd, uint8_t* p, size_t n)
{
    return fread(p, 1, n, fd) == n;
}

static void lelp__close(lelp__fd fd)
{
    fclose(fd);
}
#endif

/* A kind without a magic (lelp_inspect_path) takes the file's own, if it is
 * one of liblelp's. */
static int lelp__file_kind_of(const uint8_t* head, size_t n, const lelp__file_kind** kind, const char* path)
{
    static const lelp__file_kind kinds[] = {{"LELPMODL", LELP__MODEL_FORMAT_VERSION},
                                            {"LELPBLDR", LELP__BUILDER_FORMAT_VERSION},
                                            {"LELPCOMP", LELP__COMPRESSOR_FORMAT_VERSION}};
    if ((*kind)->magic) return LELP_OK;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (n >= 8 && memcmp(head, kinds[i].magic, 8) == 0) {
            *kind = &kinds[i];
            return LELP_OK;
        }
    return lelp__fail(n < 8 ? LELP_E_TRUNCATED : LELP_E_FORMAT, "%s: not a liblelp file (unknown magic)", path);
}

/* The fixed header first: a file of another kind, a newer version or a
 * length that disagrees with the file's is refused after reading 32 bytes,
 * so nothing is allocated or read for it; the rest is read only when the
 * file is exactly as long as its header says (then the buffer is the
 * file's own size). Errors are the envelope's (docs/format.md), naming the
 * path. */
static int lelp__read_file(const lelp__mem* mem, const char* path, const lelp__file_kind* kind, uint8_t** buf,
                           size_t* size)
{
    *buf = NULL;
    *size = 0;
    lelp__fd fd;
    size_t fsize = 0, total = 0;
    uint8_t head[32];
    lelp__envelope env;
    int st = lelp__open_regular(path, &fd, &fsize);
    if (st) return st;
    const size_t nhead = fsize < sizeof head ? fsize : sizeof head;
    if (!lelp__read_exact(fd, head, nhead)) {
        st = lelp__fail(LELP_E_IO, "%s: short read", path);
    } else if (!(st = lelp__file_kind_of(head, nhead, &kind, path)) &&
               !(st = lelp__envelope_header(head, nhead, kind->magic, kind->max_version, &env, &total, path)) &&
               !(st = lelp__envelope_size(fsize, total, path))) {
        *buf = lelp__alloc(mem, total);
        if (!*buf) {
            st = lelp__fail(LELP_E_NOMEM, "%s: out of memory for %zu bytes", path, total);
        } else if (memcpy(*buf, head, nhead), !lelp__read_exact(fd, *buf + nhead, total - nhead)) {
            st = lelp__fail(LELP_E_IO, "%s: short read", path);
            lelp__free(mem, *buf, total);
            *buf = NULL;
        } else {
            *size = total;
        }
    }
    lelp__close(fd);
    return st;
}

/* Written to a temporary file beside the target and renamed over it, so a
 * crash never leaves a half-written model where a good one was. The
 * temporary name is created exclusively (path.tmp, else path.tmp1, ...), so
 * it never overwrites a file of the caller's or another saver's. On POSIX
 * systems a symbolic link is followed (the file it names is replaced, the
 * link kept) and a target that is not a regular file -- a FIFO, a terminal,
 * /dev/stdout -- is written in place: renaming over it would replace the
 * device or pipe with a file. */
#if defined(__unix__) || defined(__APPLE__)
static FILE* lelp__create_tmp(const char* target, char* tmp, size_t cap)
{
    for (int k = 0; k < 100; k++) {
        int n = k ? snprintf(tmp, cap, "%s.tmp%d", target, k) : snprintf(tmp, cap, "%s.tmp", target);
        if (n < 0 || (size_t)n >= cap) return NULL;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            FILE* f = fdopen(fd, "wb");
            if (!f) {
                close(fd);
                remove(tmp);
            }
            return f;
        }
        if (errno != EEXIST) return NULL;
    }
    return NULL;
}

/* *target = the file the bytes replace; *in_place = 1 when the path is
 * not a regular file and is written as it is. */
static int lelp__resolve_target(const char* path, char* target, size_t cap, int* in_place)
{
    struct stat sb;
    *in_place = 0;
    if (stat(path, &sb) != 0) /* a new file (or a dangling link: created as named) */
        return (size_t)snprintf(target, cap, "%s", path) >= cap ? lelp__fail(LELP_E_IO, "path is too long") : LELP_OK;
    if (S_ISDIR(sb.st_mode)) return lelp__fail(LELP_E_IO, "%s: is a directory", path);
    if (!S_ISREG(sb.st_mode)) {
        *in_place = 1;
        return LELP_OK;
    }
    char* real = realpath(path, NULL);
    if (!real) return lelp__fail(LELP_E_IO, "%s: cannot resolve: %s", path, strerror(errno));
    int too_long = (size_t)snprintf(target, cap, "%s", real) >= cap;
    free(real);
    return too_long ? lelp__fail(LELP_E_IO, "path is too long") : LELP_OK;
}
#else
static FILE* lelp__create_tmp(const char* target, char* tmp, size_t cap)
{
    int n = snprintf(tmp, cap, "%s.tmp", target);
    return n < 0 || (size_t)n >= cap ? NULL : fopen(tmp, "wb");
}

static int lelp__resolve_target(const char* path, char* target, size_t cap, int* in_place)
{
    *in_place = 0;
    return (size_t)snprintf(target, cap, "%s", path) >= cap ? lelp__fail(LELP_E_IO, "path is too long") : LELP_OK;
}
#endif

static int lelp__write_all(FILE* f, const uint8_t* buf, size_t size)
{
    int ok = fwrite(buf, 1, size, f) == size;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    return ok;
}

static int lelp__write_file(const char* path, const uint8_t* buf, size_t size)
{
    char target[4096], tmp[4096 + 8];
    if (!*path) return lelp__fail(LELP_E_IO, "the path is empty");
    int in_place = 0, st = lelp__resolve_target(path, target, sizeof target, &in_place);
    if (st) return st;
    if (in_place) {
        FILE* f = fopen(path, "wb");
        if (!f) return lelp__fail(LELP_E_IO, "%s: cannot open for writing: %s", path, strerror(errno));
        return lelp__write_all(f, buf, size) ? LELP_OK : lelp__fail(LELP_E_IO, "%s: write failed", path);
    }
    FILE* f = lelp__create_tmp(target, tmp, sizeof tmp);
    if (!f) return lelp__fail(LELP_E_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    if (!lelp__write_all(f, buf, size)) {
        remove(tmp);
        return lelp__fail(LELP_E_IO, "%s: write failed", path);
    }
    if (rename(tmp, target) != 0) {
        int e = errno;
        remove(tmp);
        return lelp__fail(LELP_E_IO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return LELP_OK;
}
#endif
