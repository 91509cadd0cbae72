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

static int lelp__read_file(const lelp__mem* mem, const char* path, uint8_t** buf, size_t* size);
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

int lelp__load_begin(int have_out, const char* path, const lelp_allocator* alloc, lelp__mem* mem, uint8_t** buf,
                     size_t* size, const char* what)
{
    *buf = NULL;
    if (!have_out) return lelp__fail(LELP_E_NULL, "%s: out is NULL", what);
    if (!path) return lelp__fail(LELP_E_NULL, "%s: path is NULL", what);
    int st = lelp__check_allocator(alloc, what);
    if (st) return st;
    lelp__mem_init(mem, alloc);
    if ((st = lelp__read_file(mem, path, buf, size))) return lelp__fail_within(st, what);
    return LELP_OK;
}

#if defined(LELP_NO_STDIO)
static int lelp__read_file(const lelp__mem* mem, const char* path, uint8_t** buf, size_t* size)
{
    (void)mem; (void)buf; (void)size;
    return lelp__fail(LELP_E_IO, "%s: built without file I/O (LELP_NO_STDIO)", path);
}
static int lelp__write_file(const char* path, const uint8_t* buf, size_t size)
{
    (void)buf; (void)size;
    return lelp__fail(LELP_E_IO, "%s: built without file I/O (LELP_NO_STDIO)", path);
}
#else
static int lelp__read_file(const lelp__mem* mem, const char* path, uint8_t** buf, size_t* size)
{
    *buf = NULL;
    *size = 0;
    FILE* f = fopen(path, "rb");
    if (!f) return lelp__fail(LELP_E_IO, "%s: cannot open: %s", path, strerror(errno));
#if defined(__unix__) || defined(__APPLE__)
    /* a directory opens, and its ftell is LONG_MAX: that is not a size */
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lelp__fail(LELP_E_IO, "%s: not a regular file", path);
    }
#endif
    int st = LELP_OK;
    long len = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = lelp__fail(LELP_E_IO, "%s: cannot determine its size", path);
    } else {
        *buf = lelp__alloc(mem, (size_t)len);
        if (!*buf) {
            st = lelp__fail(LELP_E_NOMEM, "%s: out of memory for %ld bytes", path, len);
        } else if (fread(*buf, 1, (size_t)len, f) != (size_t)len) {
            st = lelp__fail(LELP_E_IO, "%s: short read", path);
            lelp__free(mem, *buf, (size_t)len);
            *buf = NULL;
        } else {
            *size = (size_t)len;
        }
    }
    fclose(f);
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
