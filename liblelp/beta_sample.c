/* beta_sample.c -- a bounded sample of each class's rows, kept by the
 * builder for the automatic beta (SPEC 1.2: the mean within-class entropy
 * "over the fitting data").
 *
 * Why: the builder keeps no rows, and a Gaussian model of a class's fitted
 * statistics misses the entropy of classes that are not Gaussian (clusters,
 * heavy tails: beta off by a factor of 0.7 to 4 in an audit's sweep). Each
 * row gets a 64-bit key, a hash of its float32 bits, and each class keeps
 * the K rows of smallest (key, bytes). That set depends only on the multiset
 * of rows streamed -- not on batch sizes, order, or how shards were merged --
 * so the fitted beta has the same bits whichever route the data took.
 * Identical rows share a key, so they are one entry with a multiplicity: the
 * sample is K of the class's distinct rows, each standing for its copies,
 * and a class of at most K distinct rows is kept whole (beta is then exactly
 * the SPEC's). The keys of distinct rows are pseudo-random, so a larger
 * class gets a uniform sample of its distinct rows. Rows live in fixed slots; the keys and
 * their slots are kept in ascending order, so an insertion moves 16 bytes
 * per kept row, never a row. Each class's storage grows with its rows. */
#include <string.h>

#include "internal.h"

int64_t lelp__bsample_default(int64_t d)
{
    /* at most 16 MiB of rows per class: all of a class up to 4096 rows at
     * d <= 1024, 256 rows at d = 16384 */
    int64_t k = (INT64_C(1) << 22) / d;
    return k > 4096 ? 4096 : (k < 256 ? 256 : k);
}

/* Eight independent multiply-xorshift lanes (the chain of one lane would be
 * bound by the multiply's latency), folded and finished with SplitMix64's
 * mixer. Not cryptographic: a key only has to look random. */
uint64_t lelp__row_key(const float* h, int64_t d)
{
    uint64_t x[8];
    for (int l = 0; l < 8; l++) x[l] = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(l + 1) ^ (uint64_t)d;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; l++) {
            uint32_t w;
            memcpy(&w, h + j + l, sizeof w);
            x[l] = (x[l] ^ w) * UINT64_C(0xff51afd7ed558ccd);
            x[l] ^= x[l] >> 31;
        }
    for (int l = 0; j < d; j++, l++) {
        uint32_t w;
        memcpy(&w, h + j, sizeof w);
        x[l] = (x[l] ^ w) * UINT64_C(0xff51afd7ed558ccd);
        x[l] ^= x[l] >> 31;
    }
    uint64_t z = 0;
    for (int l = 0; l < 8; l++) z = (z ^ x[l]) * UINT64_C(0xc4ceb9fe1a85ec53) + (uint64_t)l;
    z ^= z >> 30;
    z *= UINT64_C(0xbf58476d1ce4e5b9);
    z ^= z >> 27;
    z *= UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int lelp__bsample_create(const lelp__mem* mem, int64_t d, int64_t C, int64_t cap, lelp__bsample** out)
{
    *out = NULL;
    if (cap <= 0) return LELP_OK;
    lelp__bsample* s = lelp__calloc(mem, sizeof *s);
    if (!s) return lelp__fail(LELP_E_NOMEM, "builder: out of memory for the beta sample");
    s->cap = cap;
    s->d = d;
    s->C = C;
    s->n = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(int64_t)));
    s->room = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(int64_t)));
    s->key = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(uint64_t*)));
    s->slot = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(int64_t*)));
    s->mult = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(int64_t*)));
    s->rows = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(float*)));
    if (!s->n || !s->room || !s->key || !s->slot || !s->mult || !s->rows) {
        lelp__bsample_free(mem, s);
        return lelp__fail(LELP_E_NOMEM, "builder: out of memory for the beta sample of %lld classes", (long long)C);
    }
    *out = s;
    return LELP_OK;
}

static void lelp__bsample_release(const lelp__mem* mem, const lelp__bsample* s, int64_t room, uint64_t* key,
                                  int64_t* slot, int64_t* mult, float* rows)
{
    lelp__free(mem, key, lelp__bytes(room, 1, sizeof(uint64_t)));
    lelp__free(mem, slot, lelp__bytes(room, 1, sizeof(int64_t)));
    lelp__free(mem, mult, lelp__bytes(room, 1, sizeof(int64_t)));
    lelp__free(mem, rows, lelp__bytes(room, s->d, sizeof(float)));
}

void lelp__bsample_free(const lelp__mem* mem, lelp__bsample* s)
{
    if (!s) return;
    for (int64_t c = 0; s->room && s->key && s->slot && s->mult && s->rows && c < s->C; c++)
        lelp__bsample_release(mem, s, s->room[c], s->key[c], s->slot[c], s->mult[c], s->rows[c]);
    lelp__free(mem, s->n, lelp__bytes(s->C, 1, sizeof(int64_t)));
    lelp__free(mem, s->room, lelp__bytes(s->C, 1, sizeof(int64_t)));
    lelp__free(mem, s->key, lelp__bytes(s->C, 1, sizeof(uint64_t*)));
    lelp__free(mem, s->slot, lelp__bytes(s->C, 1, sizeof(int64_t*)));
    lelp__free(mem, s->mult, lelp__bytes(s->C, 1, sizeof(int64_t*)));
    lelp__free(mem, s->rows, lelp__bytes(s->C, 1, sizeof(float*)));
    lelp__free(mem, s, sizeof *s);
}

/* Room for min(need, cap) rows of class c, grown geometrically. Storage
 * follows the rows that arrive -- a state that declares a large capacity
 * costs nothing until rows fill it -- and callers reserve before they change
 * anything, so a failed allocation leaves the sample as it was. */
int lelp__bsample_reserve(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t need)
{
    if (need > s->cap) need = s->cap;
    if (need <= s->room[c]) return LELP_OK;
    int64_t room = s->room[c] < 8 ? 8 : s->room[c];
    while (room < need) room = room > s->cap / 2 ? s->cap : 2 * room;
    if (room > s->cap) room = s->cap;
    uint64_t* key = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(uint64_t)));
    int64_t* slot = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    int64_t* mult = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    float* rows = lelp__alloc(mem, lelp__bytes(room, s->d, sizeof(float)));
    if (!key || !slot || !mult || !rows) {
        lelp__bsample_release(mem, s, room, key, slot, mult, rows);
        return lelp__fail(LELP_E_NOMEM, "builder: out of memory for %lld beta-sample rows of class %lld",
                          (long long)room, (long long)c);
    }
    const int64_t n = s->n[c]; /* below the old room: its slots are 0 .. n-1 */
    if (n) {
        memcpy(key, s->key[c], (size_t)n * sizeof *key);
        memcpy(slot, s->slot[c], (size_t)n * sizeof *slot);
        memcpy(mult, s->mult[c], (size_t)n * sizeof *mult);
        memcpy(rows, s->rows[c], (size_t)(n * s->d) * sizeof *rows);
    }
    lelp__bsample_release(mem, s, s->room[c], s->key[c], s->slot[c], s->mult[c], s->rows[c]);
    s->key[c] = key;
    s->slot[c] = slot;
    s->mult[c] = mult;
    s->rows[c] = rows;
    s->room[c] = room;
    return LELP_OK;
}

const float* lelp__bsample_row(const lelp__bsample* s, int64_t c, int64_t i)
{
    return s->rows[c] + s->slot[c][i] * s->d;
}

/* (ka, a) < (kb, b): keys first, then the row bytes (equal keys of distinct
 * rows are a hash collision; equal rows are interchangeable) */
int lelp__bsample_before(uint64_t ka, const float* a, uint64_t kb, const float* b, int64_t d)
{
    if (ka != kb) return ka < kb;
    return memcmp(a, b, (size_t)d * sizeof(float)) < 0;
}

/* `mult` rows equal to h, of class c. Needs room for min(n + 1, cap) rows
 * (lelp__bsample_reserve). */
void lelp__bsample_add(lelp__bsample* s, int64_t c, const float* h, uint64_t key, int64_t mult)
{
    const int64_t cap = s->cap, d = s->d, n = s->n[c];
    uint64_t* K = s->key[c];
    int64_t* slot = s->slot[c];
    if (n == cap && key > K[n - 1]) return; /* the common case once full: past the last key */
    int64_t lo = 0, hi = n;
    while (lo < hi) { /* the first kept row not before the new one */
        int64_t mid = lo + (hi - lo) / 2;
        if (lelp__bsample_before(K[mid], lelp__bsample_row(s, c, mid), key, h, d)) lo = mid + 1;
        else hi = mid;
    }
    if (lo < n && K[lo] == key && memcmp(lelp__bsample_row(s, c, lo), h, (size_t)d * sizeof(float)) == 0) {
        s->mult[c][lo] += mult; /* a copy of a kept row */
        return;
    }
    if (lo == cap) return; /* full, and after every kept row */
    const int64_t free_slot = n < cap ? n : slot[n - 1]; /* not full: slots 0..n-1 are taken */
    const int64_t moved = (n < cap ? n : n - 1) - lo;
    memmove(K + lo + 1, K + lo, (size_t)moved * sizeof *K);
    memmove(slot + lo + 1, slot + lo, (size_t)moved * sizeof *slot);
    memmove(s->mult[c] + lo + 1, s->mult[c] + lo, (size_t)moved * sizeof(int64_t));
    K[lo] = key;
    slot[lo] = free_slot;
    s->mult[c][lo] = mult;
    memcpy(s->rows[c] + free_slot * d, h, (size_t)d * sizeof(float));
    if (n < cap) s->n[c] = n + 1;
}

void lelp__bsample_add_rows(lelp__bsample* s, const float* H, const int32_t* y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float* h = H + i * s->d;
        lelp__bsample_add(s, y[i], h, lelp__row_key(h, s->d), 1);
    }
}

void lelp__bsample_merge(lelp__bsample* dst, const lelp__bsample* src)
{
    for (int64_t c = 0; c < dst->C; c++)
        for (int64_t i = 0; i < src->n[c]; i++)
            lelp__bsample_add(dst, c, lelp__bsample_row(src, c, i), src->key[c][i], src->mult[c][i]);
}
