/* file_io.c -- whole-file read and atomic write for the *_path helpers.
 * Compiled out with LELP_NO_STDIO for hosts without a file system. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

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

int lelp__save_end(const lelp__mem* mem, const char* path, uint8_t* buf, size_t size, int status)
{
    if (status == LELP_OK) status = lelp__write_file(path, buf, size);
    lelp__free(mem, buf, size);
    return status;
}

int lelp__load_begin(int have_out, const char* path, const lelp_allocator* alloc, lelp__mem* mem, uint8_t** buf,
                     size_t* size, const char* what)
{
    *buf = NULL;
    if (!have_out) return lelp__fail(LELP_E_NULL, "%s: out is NULL", what);
    if (!path) return lelp__fail(LELP_E_NULL, "%s: path is NULL", what);
    int st = lelp__check_allocator(alloc);
    if (st) return st;
    lelp__mem_init(mem, alloc);
    return lelp__read_file(mem, path, buf, size);
}

#if defined(LELP_NO_STDIO)
int lelp__read_file(const lelp__mem* mem, const char* path, uint8_t** buf, size_t* size)
{
    (void)mem; (void)buf; (void)size;
    return lelp__fail(LELP_E_IO, "%s: built without file I/O (LELP_NO_STDIO)", path);
}
int lelp__write_file(const char* path, const uint8_t* buf, size_t size)
{
    (void)buf; (void)size;
    return lelp__fail(LELP_E_IO, "%s: built without file I/O (LELP_NO_STDIO)", path);
}
#else
int lelp__read_file(const lelp__mem* mem, const char* path, uint8_t** buf, size_t* size)
{
    *buf = NULL;
    *size = 0;
    FILE* f = fopen(path, "rb");
    if (!f) return lelp__fail(LELP_E_IO, "%s: cannot open: %s", path, strerror(errno));
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

/* Written to a temporary name and renamed, so a crash never leaves a
 * half-written model where a good one was. */
int lelp__write_file(const char* path, const uint8_t* buf, size_t size)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) return lelp__fail(LELP_E_IO, "path is too long");
    FILE* f = fopen(tmp, "wb");
    if (!f) return lelp__fail(LELP_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fwrite(buf, 1, size, f) == size;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return lelp__fail(LELP_E_IO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return lelp__fail(LELP_E_IO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return LELP_OK;
}
#endif
