/* SPDX-License-Identifier: MIT */
/* beta_sample.c -- a bounded sample of each class's rows, kept by the
 * builder for the automatic beta (the mean within-class entropy over the
 * fitting data).
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
 * class gets a uniform sample of its distinct rows. Kept rows live in
 * fixed slots; the entries (key, row address, slot, multiplicity) are kept
 * in ascending order, and a row a call streams waits by reference to the
 * caller's batch until the end of the call, so only rows that make the K
 * smallest are ever copied. Each class's storage grows with its rows. */
#include <string.h>

#include "beta_sample.h"
#include "../common/vec8.h" /* LELP__WIDE_CLONES */

/* Entries of class c in ascending (key, bytes) order. */
struct lelp__bsample {
    int64_t cap, d, C;
    int64_t chunk;            /* rows of a class's first storage chunk */
    int nchunks;              /* chunks a class may need to hold cap rows */
    int64_t* n;               /* C: entries; after every call (normalized) = the distinct rows kept, <= cap */
    int64_t* nsorted;         /* C: entries [0, nsorted) sorted, distinct, kept, <= cap; the rest wait */
    int64_t* room;            /* C: entries the arrays hold (<= 2 cap, grown as rows arrive) */
    int64_t* slots;           /* C: row slots allocated (whole chunks, <= cap) */
    int64_t* used;            /* C: row slots ever used */
    int64_t* nfree;           /* C: freed row slots, on freeslot[c] */
    uint64_t** key;           /* C arrays of room: ascending over [0, nsorted) */
    const float*** row;       /* C arrays of room: entry i's row (a slot, or the caller's row while it waits) */
    int64_t** slot;           /* C arrays of room: entry i's slot, -1 while it waits */
    int64_t** mult;           /* C arrays of room: how many streamed rows equal entry i's */
    int64_t** freeslot;       /* C arrays of slots[c] */
    float** chunks;           /* C x nchunks chunk pointers (class c's from c * nchunks) */
    uint64_t* tmp_key;        /* the normalization's scratch: tmp_room entries */
    const float** tmp_row;
    int64_t *tmp_slot, *tmp_mult, tmp_room;
};

int64_t lelp__bsample_default(int64_t d)
{
    /* at most 16 MiB of rows per class: all of a class up to 4096 rows at
     * d <= 1024, 256 rows at d = 16384 */
    int64_t k = (INT64_C(1) << 22) / d;
    return k > 4096 ? 4096 : (k < 256 ? 256 : k);
}

/* Eight independent multiply-xorshift lanes (the chain of one lane would be
 * bound by the multiply's latency), folded and finished with SplitMix64's
 * mixer. Not cryptographic: a key only has to look random. The lanes are
 * two 4 x 64-bit vectors: with AVX2 the 64-bit products are built from
 * 32-bit ones (1.8x faster than scalar at d = 1024), and AVX-512's 64-bit
 * multiply takes another third off (612 -> 398 ns per row); the same bits
 * on every path. */
typedef uint64_t lelp__v4u __attribute__((vector_size(32)));

LELP__WIDE_CLONES uint64_t lelp__row_key(const float* h, int64_t d)
{
    const uint64_t M = UINT64_C(0xff51afd7ed558ccd);
    lelp__v4u x[2];
    for (int l = 0; l < 8; l++) x[l / 4][l % 4] = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(l + 1) ^ (uint64_t)d;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        uint32_t w[8];
        memcpy(w, h + j, sizeof w);
        const lelp__v4u a = {w[0], w[1], w[2], w[3]}, b = {w[4], w[5], w[6], w[7]};
        x[0] = (x[0] ^ a) * M;
        x[1] = (x[1] ^ b) * M;
        x[0] ^= x[0] >> 31;
        x[1] ^= x[1] >> 31;
    }
    uint64_t y[8];
    memcpy(y, x, sizeof y);
    for (int l = 0; j < d; j++, l++) {
        uint32_t w;
        memcpy(&w, h + j, sizeof w);
        y[l] = (y[l] ^ w) * M;
        y[l] ^= y[l] >> 31;
    }
    uint64_t z = 0;
    for (int l = 0; l < 8; l++) z = (z ^ y[l]) * UINT64_C(0xc4ceb9fe1a85ec53) + (uint64_t)l;
    z ^= z >> 30;
    z *= UINT64_C(0xbf58476d1ce4e5b9);
    z ^= z >> 27;
    z *= UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A class's rows live in chunks that never move: chunk 0 holds `chunk`
 * rows (about 256 bytes, so a class of a few rows costs little: a builder may
 * have 2^20 classes), chunk k >= 1 holds chunk * 2^(k-1), so k chunks
 * hold chunk * 2^(k-1) rows (at most K: the last chunk is cut there). A kept row's address is stable, storage grows
 * without copying, and at most twice the slots rows reach are allocated
 * (each fresh page touched is a fault: growing one buffer by doubling and
 * copying touched three times the rows kept and cost a sketch fit ~10 %). */

/* Slots held by the first k chunks (the last one cut at K). */
static int64_t lelp__bs_slots(const lelp__bsample* s, int k)
{
    const int64_t n = k == 0 ? 0 : s->chunk << (k - 1);
    return n < s->cap ? n : s->cap;
}

/* An upper bound of the bytes a sample of capacity cap holding `rows` rows
 * (all classes) allocates. */
double lelp__bsample_bytes(int64_t d, int64_t C, int64_t cap, int64_t rows)
{
    if (cap <= 0) return 0.0;
    /* per class: 11 counters and pointers, <= 21 chunk pointers; per row:
     * twice its slot (chunks double) and its free-slot entry, and 4 entry
     * arrays of twice the rows (room doubles) plus the merge's scratch */
    return (double)C * (11.0 + 21.0) * 8.0 + (double)rows * (2.0 * (4.0 * (double)d + 8.0) + 3.0 * 2.0 * 32.0) +
           (double)C * 3.0 * 8.0 * 32.0;
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
    s->chunk = INT64_C(64) / d;
    if (s->chunk > cap) s->chunk = cap;
    if (s->chunk < 1) s->chunk = 1;
    while (lelp__bs_slots(s, s->nchunks) < cap) s->nchunks++; /* at most 21: cap <= 2^20 */
    const size_t ci = lelp__bytes(C, 1, sizeof(int64_t)), cp = lelp__bytes(C, 1, sizeof(void*));
    s->n = lelp__calloc(mem, ci);
    s->nsorted = lelp__calloc(mem, ci);
    s->room = lelp__calloc(mem, ci);
    s->slots = lelp__calloc(mem, ci);
    s->used = lelp__calloc(mem, ci);
    s->nfree = lelp__calloc(mem, ci);
    s->key = lelp__calloc(mem, cp);
    s->row = lelp__calloc(mem, cp);
    s->slot = lelp__calloc(mem, cp);
    s->mult = lelp__calloc(mem, cp);
    s->freeslot = lelp__calloc(mem, cp);
    s->chunks = lelp__calloc(mem, lelp__bytes(C, s->nchunks, sizeof(float*)));
    if (!s->n || !s->nsorted || !s->room || !s->slots || !s->used || !s->nfree || !s->key || !s->row || !s->slot ||
        !s->mult || !s->freeslot || !s->chunks) {
        lelp__bsample_free(mem, s);
        return lelp__fail(LELP_E_NOMEM, "builder: out of memory for the beta sample of %lld classes", (long long)C);
    }
    *out = s;
    return LELP_OK;
}

/* The entry arrays of one class (or the scratch: freeslot NULL). */
static void lelp__bsample_release(const lelp__mem* mem, int64_t room, uint64_t* key, const float** row,
                                  int64_t* slot, int64_t* mult)
{
    lelp__free(mem, key, lelp__bytes(room, 1, sizeof(uint64_t)));
    lelp__free(mem, (void*)row, lelp__bytes(room, 1, sizeof(float*)));
    lelp__free(mem, slot, lelp__bytes(room, 1, sizeof(int64_t)));
    lelp__free(mem, mult, lelp__bytes(room, 1, sizeof(int64_t)));
}

void lelp__bsample_free(const lelp__mem* mem, lelp__bsample* s)
{
    if (!s) return;
    for (int64_t c = 0; s->room && s->slots && s->key && s->row && s->slot && s->mult && s->freeslot && s->chunks &&
                        c < s->C; c++) {
        lelp__bsample_release(mem, s->room[c], s->key[c], s->row[c], s->slot[c], s->mult[c]);
        lelp__free(mem, s->freeslot[c], lelp__bytes(s->slots[c], 1, sizeof(int64_t)));
        for (int k = 0; lelp__bs_slots(s, k) < s->slots[c]; k++)
            lelp__free(mem, s->chunks[c * s->nchunks + k],
                       lelp__bytes(lelp__bs_slots(s, k + 1) - lelp__bs_slots(s, k), s->d, sizeof(float)));
    }
    lelp__bsample_release(mem, s->tmp_room, s->tmp_key, s->tmp_row, s->tmp_slot, s->tmp_mult);
    const size_t ci = lelp__bytes(s->C, 1, sizeof(int64_t)), cp = lelp__bytes(s->C, 1, sizeof(void*));
    lelp__free(mem, s->n, ci);
    lelp__free(mem, s->nsorted, ci);
    lelp__free(mem, s->room, ci);
    lelp__free(mem, s->slots, ci);
    lelp__free(mem, s->used, ci);
    lelp__free(mem, s->nfree, ci);
    lelp__free(mem, s->key, cp);
    lelp__free(mem, (void*)s->row, cp);
    lelp__free(mem, s->slot, cp);
    lelp__free(mem, s->mult, cp);
    lelp__free(mem, s->freeslot, cp);
    lelp__free(mem, s->chunks, lelp__bytes(s->C, s->nchunks, sizeof(float*)));
    lelp__free(mem, s, sizeof *s);
}

/* Entry arrays of `room` entries, or NULL (nothing allocated). */
static int lelp__bsample_arrays(const lelp__mem* mem, int64_t room, uint64_t** key, const float*** row,
                                int64_t** slot, int64_t** mult)
{
    *key = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(uint64_t)));
    *row = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(float*)));
    *slot = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    *mult = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    if (*key && *row && *slot && *mult) return 1;
    lelp__bsample_release(mem, room, *key, *row, *slot, *mult);
    return 0;
}

/* Room for `need` rows of class c (those kept and those a call adds):
 * min(need, 2K) entries -- the K kept rows and up to K candidates waiting
 * for the next normalization -- grown geometrically, and row slots for
 * min(need, K) kept rows, in whole chunks. Storage follows the rows that arrive (a state that declares a
 * large capacity costs nothing until rows fill it), and callers reserve
 * before they change anything, so a failed allocation leaves the sample as
 * it was. */
int lelp__bsample_reserve(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t extra)
{
    const int64_t need = s->n[c] + extra;
    const int64_t most = 2 * s->cap; /* cap <= 2^20 (params.c) */
    const int64_t entries = need < most ? need : most, rows = need < s->cap ? need : s->cap;
    int k = 0;
    while (lelp__bs_slots(s, k) < s->slots[c]) k++;
    while (s->slots[c] < rows) { /* one more chunk, and a free-slot stack as long as the slots */
        const int64_t more = lelp__bs_slots(s, k + 1), size = more - lelp__bs_slots(s, k);
        float* chunk = lelp__alloc_dense(mem, lelp__bytes(size, s->d, sizeof(float)));
        int64_t* fs = lelp__alloc(mem, lelp__bytes(more, 1, sizeof(int64_t)));
        if (!chunk || !fs) {
            lelp__free(mem, chunk, lelp__bytes(size, s->d, sizeof(float)));
            lelp__free(mem, fs, lelp__bytes(more, 1, sizeof(int64_t)));
            return lelp__fail(LELP_E_NOMEM, "builder: out of memory for %lld beta-sample rows of class %lld",
                              (long long)rows, (long long)c);
        }
        if (s->nfree[c]) memcpy(fs, s->freeslot[c], (size_t)s->nfree[c] * sizeof *fs);
        lelp__free(mem, s->freeslot[c], lelp__bytes(s->slots[c], 1, sizeof(int64_t)));
        s->freeslot[c] = fs;
        s->chunks[c * s->nchunks + k++] = chunk;
        s->slots[c] = more;
    }
    if (entries <= s->room[c]) return LELP_OK;
    int64_t room = s->room[c] < 8 ? 8 : s->room[c];
    while (room < entries) room = room > most / 2 ? most : 2 * room;
    if (room > s->tmp_room) { /* the merge's scratch: as many entries as the largest class's room */
        uint64_t* tk;
        const float** tr;
        int64_t *ts, *tm;
        if (!lelp__bsample_arrays(mem, room, &tk, &tr, &ts, &tm))
            return lelp__fail(LELP_E_NOMEM, "builder: out of memory for the beta sample's scratch");
        lelp__bsample_release(mem, s->tmp_room, s->tmp_key, s->tmp_row, s->tmp_slot, s->tmp_mult);
        s->tmp_key = tk, s->tmp_row = tr, s->tmp_slot = ts, s->tmp_mult = tm, s->tmp_room = room;
    }
    uint64_t* key;
    const float** row;
    int64_t *slot, *mult;
    if (!lelp__bsample_arrays(mem, room, &key, &row, &slot, &mult))
        return lelp__fail(LELP_E_NOMEM, "builder: out of memory for %lld beta-sample entries of class %lld",
                          (long long)room, (long long)c);
    const int64_t n = s->n[c];
    if (n) {
        memcpy(key, s->key[c], (size_t)n * sizeof *key);
        memcpy((void*)row, (const void*)s->row[c], (size_t)n * sizeof *row);
        memcpy(slot, s->slot[c], (size_t)n * sizeof *slot);
        memcpy(mult, s->mult[c], (size_t)n * sizeof *mult);
    }
    lelp__bsample_release(mem, s->room[c], s->key[c], s->row[c], s->slot[c], s->mult[c]);
    s->key[c] = key;
    s->row[c] = row;
    s->slot[c] = slot;
    s->mult[c] = mult;
    s->room[c] = room;
    return LELP_OK;
}

static float* lelp__bsample_slot(const lelp__bsample* s, int64_t c, int64_t slot)
{
    const uint64_t q = (uint64_t)(slot / s->chunk);
    const int k = q == 0 ? 0 : 64 - __builtin_clzll(q); /* floor(log2 q) + 1 */
    return s->chunks[c * s->nchunks + k] + (slot - lelp__bs_slots(s, k)) * s->d;
}

int64_t lelp__bsample_cap(const lelp__bsample* s)
{
    return s->cap;
}

int64_t lelp__bsample_size(const lelp__bsample* s, int64_t c)
{
    return s->n[c];
}

const float* lelp__bsample_row(const lelp__bsample* s, int64_t c, int64_t i)
{
    return s->row[c][i];
}

uint64_t lelp__bsample_key(const lelp__bsample* s, int64_t c, int64_t i)
{
    return s->key[c][i];
}

int64_t lelp__bsample_mult(const lelp__bsample* s, int64_t c, int64_t i)
{
    return s->mult[c][i];
}

/* (ka, a) < (kb, b): keys first, then the row bytes (equal keys of distinct
 * rows are a hash collision; equal rows are interchangeable) */
static int lelp__bsample_before(uint64_t ka, const float* a, uint64_t kb, const float* b, int64_t d)
{
    if (ka != kb) return ka < kb;
    return memcmp(a, b, (size_t)d * sizeof(float)) < 0;
}

static int lelp__entry_before(const lelp__bsample* s, int64_t c, int64_t i, int64_t j)
{
    return lelp__bsample_before(s->key[c][i], s->row[c][i], s->key[c][j], s->row[c][j], s->d);
}

static void lelp__entry_swap(lelp__bsample* s, int64_t c, int64_t i, int64_t j)
{
    uint64_t k = s->key[c][i];
    s->key[c][i] = s->key[c][j], s->key[c][j] = k;
    const float* h = s->row[c][i];
    s->row[c][i] = s->row[c][j], s->row[c][j] = h;
    int64_t t = s->slot[c][i];
    s->slot[c][i] = s->slot[c][j], s->slot[c][j] = t;
    t = s->mult[c][i];
    s->mult[c][i] = s->mult[c][j], s->mult[c][j] = t;
}

/* Sift entry lo + root down the max-heap of entries [lo, lo + end). */
static void lelp__entries_sift(lelp__bsample* s, int64_t c, int64_t lo, int64_t root, int64_t end)
{
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= end) return;
        if (child + 1 < end && lelp__entry_before(s, c, lo + child, lo + child + 1)) child++;
        if (!lelp__entry_before(s, c, lo + root, lo + child)) return;
        lelp__entry_swap(s, c, lo + root, lo + child);
        root = child;
    }
}

/* Heapsort of entries [lo, hi) of class c: in place, no allocation. */
static void lelp__entries_sort(lelp__bsample* s, int64_t c, int64_t lo, int64_t hi)
{
    const int64_t m = hi - lo;
    for (int64_t start = m / 2 - 1; start >= 0; start--) lelp__entries_sift(s, c, lo, start, m);
    for (int64_t end = m - 1; end > 0; end--) {
        lelp__entry_swap(s, c, lo, lo + end);
        lelp__entries_sift(s, c, lo, 0, end);
    }
}

/* The kept rows of class c back to canonical form: the waiting candidates
 * [nsorted, n) sorted, merged with the sorted kept rows [0, nsorted) through
 * the scratch, copies of one row folded into one entry, only the K first
 * kept, the slots of kept rows pushed out freed, and then the candidates
 * that made it copied into free slots -- a candidate that loses is never
 * copied. O(m log m + n) for m candidates. */
static void lelp__bsample_normalize(lelp__bsample* s, int64_t c)
{
    const int64_t n = s->n[c], ns = s->nsorted[c], d = s->d;
    if (ns == n) return;
    lelp__entries_sort(s, c, ns, n);
    const uint64_t* K = s->key[c];
    const float** row = s->row[c];
    const int64_t* slot = s->slot[c];
    const int64_t* mult = s->mult[c];
    int64_t i = 0, j = ns, w = 0;
    while (i < ns || j < n) {
        const int64_t e = j >= n || (i < ns && !lelp__entry_before(s, c, j, i)) ? i++ : j++;
        if (w > 0 && s->tmp_key[w - 1] == K[e] && memcmp(s->tmp_row[w - 1], row[e], (size_t)d * sizeof(float)) == 0) {
            s->tmp_mult[w - 1] += mult[e]; /* a copy of the previous row (a kept row comes before its copies) */
        } else if (w == s->cap) { /* past the K smallest */
            if (slot[e] >= 0) s->freeslot[c][s->nfree[c]++] = slot[e];
        } else {
            s->tmp_key[w] = K[e];
            s->tmp_row[w] = row[e];
            s->tmp_slot[w] = slot[e];
            s->tmp_mult[w] = mult[e];
            w++;
        }
    }
    for (int64_t k = 0; k < w; k++)
        if (s->tmp_slot[k] < 0) { /* a candidate that stays: into a slot of its own */
            const int64_t sl = s->nfree[c] ? s->freeslot[c][--s->nfree[c]] : s->used[c]++;
            float* h = lelp__bsample_slot(s, c, sl);
            memcpy(h, s->tmp_row[k], (size_t)d * sizeof(float));
            s->tmp_row[k] = h;
            s->tmp_slot[k] = sl;
        }
    memcpy(s->key[c], s->tmp_key, (size_t)w * sizeof *K);
    memcpy((void*)s->row[c], (const void*)s->tmp_row, (size_t)w * sizeof *row);
    memcpy(s->slot[c], s->tmp_slot, (size_t)w * sizeof *slot);
    memcpy(s->mult[c], s->tmp_mult, (size_t)w * sizeof *mult);
    s->n[c] = s->nsorted[c] = w;
}

/* `mult` rows equal to h, of class c: a candidate, unless the class already
 * keeps K rows that all come before it. h must stay valid until the next
 * normalization (the end of the call that adds it). Needs room for one
 * more entry (or 2K), and slots for every kept row and candidate up to K
 * (lelp__bsample_reserve). */
void lelp__bsample_add(lelp__bsample* s, int64_t c, const float* h, uint64_t key, int64_t mult)
{
    const int64_t cap = s->cap;
    if (s->nsorted[c] == cap && key > s->key[c][cap - 1]) return; /* the common case once full */
    if (s->n[c] == s->room[c]) {
        lelp__bsample_normalize(s, c);
        if (s->nsorted[c] == cap && key > s->key[c][cap - 1]) return;
    }
    const int64_t e = s->n[c]++;
    s->key[c][e] = key;
    s->row[c][e] = h;
    s->slot[c][e] = -1;
    s->mult[c][e] = mult;
}

/* Every class back to canonical form: the end of each call that adds rows
 * (the rows of a waiting candidate belong to the caller). */
void lelp__bsample_flush(lelp__bsample* s)
{
    for (int64_t c = 0; c < s->C; c++) lelp__bsample_normalize(s, c);
}

void lelp__bsample_merge(lelp__bsample* dst, const lelp__bsample* src)
{
    for (int64_t c = 0; c < dst->C; c++) {
        for (int64_t i = 0; i < src->n[c]; i++)
            lelp__bsample_add(dst, c, src->row[c][i], src->key[c][i], src->mult[c][i]);
    }
    lelp__bsample_flush(dst);
}

int lelp__bsample_load_begin(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t n)
{
    int st = lelp__bsample_reserve(mem, s, c, n);
    if (st) return st;
    s->n[c] = n;
    return LELP_OK;
}

/* Entry i of a state being loaded lives in slot i (reserved). */
float* lelp__bsample_load_entry(lelp__bsample* s, int64_t c, int64_t i, uint64_t key, int64_t mult)
{
    float* h = lelp__bsample_slot(s, c, i);
    s->key[c][i] = key;
    s->mult[c][i] = mult;
    s->slot[c][i] = i;
    s->row[c][i] = h;
    return h;
}

int lelp__bsample_load_valid(const lelp__bsample* s, int64_t c, int64_t i)
{
    return s->key[c][i] == lelp__row_key(s->row[c][i], s->d) && (i == 0 || lelp__entry_before(s, c, i - 1, i));
}

void lelp__bsample_loaded(lelp__bsample* s, int64_t c)
{
    s->nsorted[c] = s->used[c] = s->n[c];
    s->nfree[c] = 0;
}
