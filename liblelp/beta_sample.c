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
    const size_t ci = lelp__bytes(C, 1, sizeof(int64_t)), cp = lelp__bytes(C, 1, sizeof(void*));
    s->n = lelp__calloc(mem, ci);
    s->nsorted = lelp__calloc(mem, ci);
    s->used = lelp__calloc(mem, ci);
    s->nfree = lelp__calloc(mem, ci);
    s->room = lelp__calloc(mem, ci);
    s->key = lelp__calloc(mem, cp);
    s->slot = lelp__calloc(mem, cp);
    s->mult = lelp__calloc(mem, cp);
    s->freeslot = lelp__calloc(mem, cp);
    s->rows = lelp__calloc(mem, cp);
    if (!s->n || !s->nsorted || !s->used || !s->nfree || !s->room || !s->key || !s->slot || !s->mult ||
        !s->freeslot || !s->rows) {
        lelp__bsample_free(mem, s);
        return lelp__fail(LELP_E_NOMEM, "builder: out of memory for the beta sample of %lld classes", (long long)C);
    }
    *out = s;
    return LELP_OK;
}

static void lelp__bsample_release(const lelp__mem* mem, const lelp__bsample* s, int64_t room, uint64_t* key,
                                  int64_t* slot, int64_t* mult, int64_t* freeslot, float* rows)
{
    lelp__free(mem, key, lelp__bytes(room, 1, sizeof(uint64_t)));
    lelp__free(mem, slot, lelp__bytes(room, 1, sizeof(int64_t)));
    lelp__free(mem, mult, lelp__bytes(room, 1, sizeof(int64_t)));
    lelp__free(mem, freeslot, lelp__bytes(room, 1, sizeof(int64_t)));
    lelp__free(mem, rows, lelp__bytes(room, s->d, sizeof(float)));
}

void lelp__bsample_free(const lelp__mem* mem, lelp__bsample* s)
{
    if (!s) return;
    if (s->room && s->key && s->slot && s->mult && s->freeslot && s->rows)
        for (int64_t c = 0; c < s->C; c++)
            lelp__bsample_release(mem, s, s->room[c], s->key[c], s->slot[c], s->mult[c], s->freeslot[c], s->rows[c]);
    lelp__free(mem, s->tmp_key, lelp__bytes(s->tmp_room, 1, sizeof(uint64_t)));
    lelp__free(mem, s->tmp_slot, lelp__bytes(s->tmp_room, 1, sizeof(int64_t)));
    lelp__free(mem, s->tmp_mult, lelp__bytes(s->tmp_room, 1, sizeof(int64_t)));
    const size_t ci = lelp__bytes(s->C, 1, sizeof(int64_t)), cp = lelp__bytes(s->C, 1, sizeof(void*));
    lelp__free(mem, s->n, ci);
    lelp__free(mem, s->nsorted, ci);
    lelp__free(mem, s->used, ci);
    lelp__free(mem, s->nfree, ci);
    lelp__free(mem, s->room, ci);
    lelp__free(mem, s->key, cp);
    lelp__free(mem, s->slot, cp);
    lelp__free(mem, s->mult, cp);
    lelp__free(mem, s->freeslot, cp);
    lelp__free(mem, s->rows, cp);
    lelp__free(mem, s, sizeof *s);
}

/* Room for min(need, 2K) entries of class c -- the K kept rows and up to K
 * candidates waiting for the next normalization -- grown geometrically.
 * Storage follows the rows that arrive (a state that declares a large
 * capacity costs nothing until rows fill it), and callers reserve before
 * they change anything, so a failed allocation leaves the sample as it was. */
int lelp__bsample_reserve(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t need)
{
    const int64_t most = s->cap > INT64_MAX / 2 ? INT64_MAX : 2 * s->cap;
    if (need > most) need = most;
    if (need <= s->room[c]) return LELP_OK;
    int64_t room = s->room[c] < 8 ? 8 : s->room[c];
    while (room < need) room = room > most / 2 ? most : 2 * room;
    if (room > s->tmp_room) { /* the merge's scratch: as many entries as the largest class's room */
        uint64_t* tk = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(uint64_t)));
        int64_t* ts = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
        int64_t* tm = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
        if (!tk || !ts || !tm) {
            lelp__free(mem, tk, lelp__bytes(room, 1, sizeof(uint64_t)));
            lelp__free(mem, ts, lelp__bytes(room, 1, sizeof(int64_t)));
            lelp__free(mem, tm, lelp__bytes(room, 1, sizeof(int64_t)));
            return lelp__fail(LELP_E_NOMEM, "builder: out of memory for the beta sample's scratch");
        }
        lelp__free(mem, s->tmp_key, lelp__bytes(s->tmp_room, 1, sizeof(uint64_t)));
        lelp__free(mem, s->tmp_slot, lelp__bytes(s->tmp_room, 1, sizeof(int64_t)));
        lelp__free(mem, s->tmp_mult, lelp__bytes(s->tmp_room, 1, sizeof(int64_t)));
        s->tmp_key = tk, s->tmp_slot = ts, s->tmp_mult = tm, s->tmp_room = room;
    }
    uint64_t* key = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(uint64_t)));
    int64_t* slot = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    int64_t* mult = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    int64_t* freeslot = lelp__alloc(mem, lelp__bytes(room, 1, sizeof(int64_t)));
    float* rows = lelp__alloc(mem, lelp__bytes(room, s->d, sizeof(float)));
    if (!key || !slot || !mult || !freeslot || !rows) {
        lelp__bsample_release(mem, s, room, key, slot, mult, freeslot, rows);
        return lelp__fail(LELP_E_NOMEM, "builder: out of memory for %lld beta-sample rows of class %lld",
                          (long long)room, (long long)c);
    }
    const int64_t n = s->n[c], nf = s->nfree[c], used = s->used[c];
    if (n) {
        memcpy(key, s->key[c], (size_t)n * sizeof *key);
        memcpy(slot, s->slot[c], (size_t)n * sizeof *slot);
        memcpy(mult, s->mult[c], (size_t)n * sizeof *mult);
    }
    if (nf) memcpy(freeslot, s->freeslot[c], (size_t)nf * sizeof *freeslot);
    if (used) memcpy(rows, s->rows[c], (size_t)(used * s->d) * sizeof *rows);
    lelp__bsample_release(mem, s, s->room[c], s->key[c], s->slot[c], s->mult[c], s->freeslot[c], s->rows[c]);
    s->key[c] = key;
    s->slot[c] = slot;
    s->mult[c] = mult;
    s->freeslot[c] = freeslot;
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

static int lelp__entry_before(const lelp__bsample* s, int64_t c, int64_t i, int64_t j)
{
    return lelp__bsample_before(s->key[c][i], lelp__bsample_row(s, c, i), s->key[c][j], lelp__bsample_row(s, c, j),
                                s->d);
}

static void lelp__entry_swap(lelp__bsample* s, int64_t c, int64_t i, int64_t j)
{
    uint64_t k = s->key[c][i];
    s->key[c][i] = s->key[c][j], s->key[c][j] = k;
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
 * kept, and the slots of the rest freed. O(m log m + n) for m candidates. */
static void lelp__bsample_normalize(lelp__bsample* s, int64_t c)
{
    const int64_t n = s->n[c], ns = s->nsorted[c], d = s->d;
    if (ns == n) return;
    lelp__entries_sort(s, c, ns, n);
    uint64_t* K = s->key[c];
    int64_t* slot = s->slot[c];
    int64_t* mult = s->mult[c];
    int64_t i = 0, j = ns, w = 0;
    while (i < ns || j < n) {
        const int64_t e = j >= n || (i < ns && !lelp__entry_before(s, c, j, i)) ? i++ : j++;
        if (w > 0 && s->tmp_key[w - 1] == K[e] &&
            memcmp(s->rows[c] + s->tmp_slot[w - 1] * d, s->rows[c] + slot[e] * d, (size_t)d * sizeof(float)) == 0) {
            s->tmp_mult[w - 1] += mult[e]; /* a copy of the previous row */
            s->freeslot[c][s->nfree[c]++] = slot[e];
        } else if (w == s->cap) { /* past the K smallest */
            s->freeslot[c][s->nfree[c]++] = slot[e];
        } else {
            s->tmp_key[w] = K[e];
            s->tmp_slot[w] = slot[e];
            s->tmp_mult[w] = mult[e];
            w++;
        }
    }
    memcpy(K, s->tmp_key, (size_t)w * sizeof *K);
    memcpy(slot, s->tmp_slot, (size_t)w * sizeof *slot);
    memcpy(mult, s->tmp_mult, (size_t)w * sizeof *mult);
    s->n[c] = s->nsorted[c] = w;
}

/* `mult` rows equal to h, of class c: a candidate, unless the class already
 * keeps K rows that all come before it. Needs room for one more entry (or
 * 2K, lelp__bsample_reserve). */
void lelp__bsample_add(lelp__bsample* s, int64_t c, const float* h, uint64_t key, int64_t mult)
{
    const int64_t cap = s->cap, d = s->d;
    if (s->nsorted[c] == cap && key > s->key[c][cap - 1]) return; /* the common case once full */
    if (s->n[c] == s->room[c]) {
        lelp__bsample_normalize(s, c);
        if (s->nsorted[c] == cap && key > s->key[c][cap - 1]) return;
    }
    const int64_t e = s->n[c]++;
    const int64_t sl = s->nfree[c] ? s->freeslot[c][--s->nfree[c]] : s->used[c]++;
    s->key[c][e] = key;
    s->slot[c][e] = sl;
    s->mult[c][e] = mult;
    memcpy(s->rows[c] + sl * d, h, (size_t)d * sizeof(float));
}

void lelp__bsample_add_rows(lelp__bsample* s, const float* H, const int32_t* y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float* h = H + i * s->d;
        lelp__bsample_add(s, y[i], h, lelp__row_key(h, s->d), 1);
    }
    for (int64_t c = 0; c < s->C; c++) lelp__bsample_normalize(s, c);
}

void lelp__bsample_merge(lelp__bsample* dst, const lelp__bsample* src)
{
    for (int64_t c = 0; c < dst->C; c++) {
        for (int64_t i = 0; i < src->n[c]; i++)
            lelp__bsample_add(dst, c, lelp__bsample_row(src, c, i), src->key[c][i], src->mult[c][i]);
        lelp__bsample_normalize(dst, c);
    }
}

void lelp__bsample_loaded(lelp__bsample* s, int64_t c)
{
    s->nsorted[c] = s->used[c] = s->n[c];
    s->nfree[c] = 0;
}
