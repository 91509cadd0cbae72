/* SPDX-License-Identifier: MIT */
/* beta_sample.h -- the builder's bounded sample of rows per class for the
 * automatic beta (beta_sample.c). The struct is opaque: the builder, its
 * loader and the beta's solver use only these calls. */
#ifndef LELP_BETA_SAMPLE_H
#define LELP_BETA_SAMPLE_H

#include "../common/common.h"

typedef struct lelp__bsample lelp__bsample;

/* Rows per class kept by default for width d. */
int64_t lelp__bsample_default(int64_t d);
/* The 64-bit hash of a row that orders the sample. */
uint64_t lelp__row_key(const float* h, int64_t d);
/* cap <= 0: *out = NULL (no sample), LELP_OK. */
int lelp__bsample_create(const lelp__mem* mem, int64_t d, int64_t C, int64_t cap, lelp__bsample** out);
void lelp__bsample_free(const lelp__mem* mem, lelp__bsample* s);

/* Reading: the sample's capacity K, the distinct rows class c keeps (in
 * ascending (key, bytes) order after every call), and entry i's row, key
 * and multiplicity (how many streamed rows equal it). */
int64_t lelp__bsample_cap(const lelp__bsample* s);
int64_t lelp__bsample_size(const lelp__bsample* s, int64_t c);
const float* lelp__bsample_row(const lelp__bsample* s, int64_t c, int64_t i);
uint64_t lelp__bsample_key(const lelp__bsample* s, int64_t c, int64_t i);
int64_t lelp__bsample_mult(const lelp__bsample* s, int64_t c, int64_t i);

/* Streaming: reserve room for `more` rows of class c beyond those it keeps
 * before anything changes (a failure leaves the sample as it was), then add
 * rows and flush once per call; merging adds src's entries to dst's
 * (reserve dst's classes for src's sizes first). */
int lelp__bsample_reserve(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t more);
void lelp__bsample_add(lelp__bsample* s, int64_t c, const float* h, uint64_t key, int64_t mult);
void lelp__bsample_flush(lelp__bsample* s);
void lelp__bsample_merge(lelp__bsample* dst, const lelp__bsample* src);

/* Loading a saved sample of class c (empty until now): storage for n
 * entries, then each entry's key and multiplicity in order (the returned
 * address receives its d floats), lelp__bsample_load_valid on each once
 * its row is written (its key is its row's hash, and it sorts strictly
 * after entry i - 1), and lelp__bsample_loaded at the end. */
int lelp__bsample_load_begin(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t n);
float* lelp__bsample_load_entry(lelp__bsample* s, int64_t c, int64_t i, uint64_t key, int64_t mult);
int lelp__bsample_load_valid(const lelp__bsample* s, int64_t c, int64_t i);
void lelp__bsample_loaded(lelp__bsample* s, int64_t c);

#endif /* LELP_BETA_SAMPLE_H */
