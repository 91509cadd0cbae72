/* SPDX-License-Identifier: MIT */
/* format.c -- little-endian byte codec, CRC-32 and the envelope shared by
 * every serialized liblelp object (docs/format.md). */
#include <string.h>

#include "common.h"

/* CRC-32 (IEEE 802.3, reflected, the polynomial of zlib's crc32) so that any
 * tool can verify a file, e.g. Python's zlib.crc32. */
static const uint32_t lelp__crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t lelp__crc32(const uint8_t* p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) c = lelp__crc_table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

void lelp__put_u32(lelp__writer* w, uint32_t v)
{
    for (int i = 0; i < 4; i++) w->p[w->pos++] = (uint8_t)(v >> (8 * i));
}

void lelp__put_u64(lelp__writer* w, uint64_t v)
{
    for (int i = 0; i < 8; i++) w->p[w->pos++] = (uint8_t)(v >> (8 * i));
}

void lelp__put_f64(lelp__writer* w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    lelp__put_u64(w, u);
}

void lelp__put_f64s(lelp__writer* w, const double* v, size_t n)
{
    for (size_t i = 0; i < n; i++) lelp__put_f64(w, v[i]);
}

void lelp__put_pad(lelp__writer* w, size_t to)
{
    while (w->pos < to) w->p[w->pos++] = 0;
}

/* Readers are only called after the envelope proved the bytes are there. */
void lelp__put_f32s(lelp__writer* w, const float* v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, v + i, sizeof u);
        lelp__put_u32(w, u);
    }
}

void lelp__get_f32s(lelp__reader* r, float* v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = lelp__get_u32(r);
        memcpy(v + i, &u, sizeof u);
    }
}

uint32_t lelp__get_u32(lelp__reader* r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)r->p[r->pos++] << (8 * i);
    return v;
}

uint64_t lelp__get_u64(lelp__reader* r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[r->pos++] << (8 * i);
    return v;
}

double lelp__get_f64(lelp__reader* r)
{
    uint64_t u = lelp__get_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

void lelp__get_f64s(lelp__reader* r, double* v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = lelp__get_f64(r);
}

static size_t lelp__align64(size_t n)
{
    if (n > SIZE_MAX - 63) return SIZE_MAX;
    return (n + 63) & ~(size_t)63;
}

/* Offsets of n payload arrays of the given byte sizes, each 64-byte aligned
 * from the start of the buffer after the 128-byte header, and where each
 * ends (end may be NULL); returns the payload length or SIZE_MAX on
 * overflow. */
size_t lelp__layout(const size_t* sizes, int n, size_t* off, size_t* end)
{
    size_t pos = LELP__HEADER_LEN;
    for (int i = 0; i < n; i++) {
        pos = lelp__align64(pos);
        if (pos == SIZE_MAX || sizes[i] == SIZE_MAX || sizes[i] > SIZE_MAX - pos) return SIZE_MAX;
        off[i] = pos;
        pos += sizes[i];
        if (end) end[i] = pos;
    }
    pos = lelp__align64(pos);
    return pos == SIZE_MAX ? SIZE_MAX : pos - LELP__HEADER_LEN;
}

/* The padding after each array (up to the next, or to the payload's end)
 * must be zero: docs/format.md, and what makes save -> load -> save give
 * the same bytes. */
int lelp__zero_gaps(const uint8_t* src, const size_t* off, const size_t* end, int n, size_t payload_end,
                    const char* what)
{
    for (int i = 0; i < n; i++) {
        const size_t stop = i + 1 < n ? off[i + 1] : payload_end;
        for (size_t p = end[i]; p < stop; p++)
            if (src[p] != 0) return lelp__fail(LELP_E_FORMAT, "%s: padding byte %zu is not zero", what, p);
    }
    return LELP_OK;
}

static const char* lelp__kind_of(const uint8_t* src, size_t size)
{
    if (size >= 8 && memcmp(src, "LELPMODL", 8) == 0) return "a liblelp model";
    if (size >= 8 && memcmp(src, "LELPBLDR", 8) == 0) return "a liblelp builder state";
    if (size >= 8 && memcmp(src, "LELPCOMP", 8) == 0) return "a liblelp compressor";
    return "not a liblelp buffer";
}

int lelp__check_envelope(const uint8_t* src, size_t size, const char* magic, uint32_t max_version,
                         lelp__envelope* env, const char* what)
{
    size_t k = size < 8 ? size : 8;
    if (memcmp(src, magic, k) != 0)
        return lelp__fail(LELP_E_FORMAT, "%s: wrong magic (%s)", what, lelp__kind_of(src, size));
    if (size < 32) return lelp__fail(LELP_E_TRUNCATED, "%s: %zu bytes is shorter than the fixed header", what, size);
    lelp__reader r = {src, size, 8};
    uint32_t version = lelp__get_u32(&r);
    uint32_t header_len = lelp__get_u32(&r);
    uint32_t writer = lelp__get_u32(&r); /* library version of the writer: informative */
    (void)lelp__get_u32(&r); /* flags: checked by the kind's reader */
    uint64_t plen = lelp__get_u64(&r);
    if (version == 0) return lelp__fail(LELP_E_FORMAT, "%s: format version 0 is invalid", what);
    if (version > max_version)
        return lelp__fail(LELP_E_VERSION, "%s: format version %u is newer than this library reads (%u)", what,
                          (unsigned)version, (unsigned)max_version);
    /* every format version so far (and so every one this reader accepts)
     * has a 128-byte header, and its loaders read the payload after it */
    if (header_len != LELP__HEADER_LEN)
        return lelp__fail(LELP_E_FORMAT, "%s: header length %u is not %d", what, (unsigned)header_len,
                          LELP__HEADER_LEN);
    if (plen > (uint64_t)(SIZE_MAX - header_len - 4))
        return lelp__fail(LELP_E_FORMAT, "%s: payload length %llu is impossible", what, (unsigned long long)plen);
    size_t total = (size_t)header_len + (size_t)plen + 4;
    if (size < total)
        return lelp__fail(LELP_E_TRUNCATED, "%s: %zu bytes but the header says %zu", what, size, total);
    if (size > total)
        return lelp__fail(LELP_E_FORMAT, "%s: %zu trailing bytes after the checksum", what, size - total);
    lelp__reader t = {src, size, total - 4};
    uint32_t stored = lelp__get_u32(&t);
#if !defined(LELP_FUZZING_SKIP_CRC)
    /* Fuzz builds skip only this comparison, so the fuzzer reaches the
     * field validation behind it instead of stopping at the checksum. */
    if (stored != lelp__crc32(src, total - 4))
        return lelp__fail(LELP_E_CHECKSUM, "%s: checksum mismatch (the data is corrupted)", what);
#else
    (void)stored;
#endif
    env->format_version = version;
    env->writer_version = writer;
    env->payload_len = (size_t)plen;
    return LELP_OK;
}
