/* SPDX-License-Identifier: MIT */
/* params.c -- the one table of parameters: for every id its type, bounds,
 * handle kind, where it lives in the handle and whether it is fixed once
 * the handle started (data streamed, first optimizer step). Every handle's
 * getters and setters, and lelp_param_bounds, go through it.
 *
 * The fields are named by offsetof on the handle structs, whose layouts the
 * modules keep private: this file sees them through the modules' headers
 * only for offsetof (it reads and writes no other part of them). */
#include <math.h>
#include <stddef.h>

#include "common.h"
#include "../fit/fit.h"
#include "../model/model_priv.h"
#include "../compress/compress.h"
#include "../train/train.h"

#define LELP__SEED_HI 9223372036854775807.0 /* LELP__MAX_SEED as a double */
#define P_(id, is_int, lo, hi, fam, type, strct, field, rule) \
    {id, is_int, lo, hi, fam, type, offsetof(struct strct, field), rule, #id}
#define B_(id, is_int, lo, hi, type, field, rule) \
    P_(id, is_int, lo, hi, LELP__MAGIC_BUILDER, type, lelp_builder, field, rule)
#define M_(id, is_int, type, field) P_(id, is_int, 0.0, 0.0, LELP__MAGIC_MODEL, type, lelp_model, field, LELP__READ_ONLY)
#define L_(id, is_int, lo, hi, type, field) P_(id, is_int, lo, hi, LELP__MAGIC_LOSS, type, lelp_loss, field, LELP__ANY_TIME)
#define C_(id, is_int, lo, hi, type, field, rule) \
    P_(id, is_int, lo, hi, LELP__MAGIC_COMPRESSOR, type, lelp_compressor, field, rule)

static const lelp__param_info lelp__params[] = {
    B_(LELP_BUILDER_NULL_SPACE, 1, 0.0, 1.0, LELP__T_INT, null_space, LELP__ANY_TIME),
    B_(LELP_BUILDER_ROTATE, 1, 0.0, 1.0, LELP__T_INT, rotate, LELP__ANY_TIME),
    B_(LELP_BUILDER_SEED, 1, 0.0, LELP__SEED_HI, LELP__T_U64, seed, LELP__ANY_TIME),
    B_(LELP_BUILDER_BETA, 0, 0.0, 1e30, LELP__T_DOUBLE, beta, LELP__ANY_TIME),
    B_(LELP_BUILDER_ENTROPY_FRACTION, 0, 0.01, 0.99, LELP__T_DOUBLE, entropy_fraction, LELP__ANY_TIME),
    B_(LELP_BUILDER_SOLVER, 1, 0.0, 1.0, LELP__T_INT, solver, LELP__FIXED),
    B_(LELP_BUILDER_SKETCH_SIZE, 1, 0.0, (double)LELP__MAX_SKETCH, LELP__T_I64, ell_param, LELP__FIXED),
    B_(LELP_BUILDER_PRECISION, 1, 0.0, 1.0, LELP__T_INT, precision, LELP__FIXED),
    B_(LELP_BUILDER_GRAM_FORM, 1, 0.0, 1.0, LELP__T_INT, gram_form, LELP__ANY_TIME),
    B_(LELP_BUILDER_BETA_SAMPLE, 1, -1.0, (double)LELP__MAX_BSAMPLE, LELP__T_I64, bsample_param, LELP__FIXED),
    B_(LELP_BUILDER_LABELLER, 1, 0.0, 1.0, LELP__T_INT, labeller, LELP__ANY_TIME),
    M_(LELP_MODEL_DIM, 1, LELP__T_I64, d),
    M_(LELP_MODEL_NUM_CLASSES, 1, LELP__T_I64, C),
    M_(LELP_MODEL_SUBCLASSES, 1, LELP__T_I64, S),
    M_(LELP_MODEL_SEED, 1, LELP__T_U64, seed),
    M_(LELP_MODEL_BETA, 0, LELP__T_DOUBLE, beta),
    M_(LELP_MODEL_NULL_SPACE, 1, LELP__T_INT, null_space),
    M_(LELP_MODEL_ROTATE, 1, LELP__T_INT, rotate),
    M_(LELP_MODEL_HEAD_RANK, 1, LELP__T_I64, head_rank),
    M_(LELP_MODEL_ENTROPY_FRACTION, 0, LELP__T_DOUBLE, entropy_fraction),
    M_(LELP_MODEL_AUTO_BETA, 1, LELP__T_INT, auto_beta),
    M_(LELP_MODEL_SOLVER, 1, LELP__T_INT, solver),
    M_(LELP_MODEL_LABELLER, 1, LELP__T_INT, labeller),
    L_(LELP_LOSS_TAU, 0, 0.01, 100.0, LELP__T_DOUBLE, tau),
    L_(LELP_LOSS_ALPHA, 0, 0.0, 1.0, LELP__T_DOUBLE, alpha),
    L_(LELP_LOSS_REDUCTION, 1, 0.0, 1.0, LELP__T_INT, reduction),
    L_(LELP_LOSS_KIND, 1, 0.0, 2.0, LELP__T_INT, kind),
    L_(LELP_LOSS_DKD_TARGET_WEIGHT, 0, 0.0, 1e6, LELP__T_DOUBLE, dkd_target),
    L_(LELP_LOSS_DKD_NONTARGET_WEIGHT, 0, 0.0, 1e6, LELP__T_DOUBLE, dkd_nontarget),
    L_(LELP_LOSS_AUX_TEMPERATURE, 0, 0.01, 100.0, LELP__T_DOUBLE, aux_temperature),
    C_(LELP_COMPRESSOR_DISTANCE, 1, 0.0, 2.0, LELP__T_INT, distance, LELP__ANY_TIME),
    C_(LELP_COMPRESSOR_OPTIMIZER, 1, 0.0, 1.0, LELP__T_INT, optimizer, LELP__FIXED),
    C_(LELP_COMPRESSOR_LR, 0, 1e-12, 10.0, LELP__T_DOUBLE, lr, LELP__ANY_TIME),
    C_(LELP_COMPRESSOR_WEIGHT_DECAY, 0, 0.0, 1.0, LELP__T_DOUBLE, wd, LELP__ANY_TIME),
    C_(LELP_COMPRESSOR_MOMENTUM, 0, 0.0, 0.999999, LELP__T_DOUBLE, momentum, LELP__ANY_TIME),
    C_(LELP_COMPRESSOR_ADAM_BETA1, 0, 0.0, 0.999999, LELP__T_DOUBLE, beta1, LELP__ANY_TIME),
    C_(LELP_COMPRESSOR_ADAM_BETA2, 0, 0.0, 0.999999, LELP__T_DOUBLE, beta2, LELP__ANY_TIME),
    C_(LELP_COMPRESSOR_MULTILABEL, 1, 0.0, 1.0, LELP__T_INT, multilabel, LELP__FIXED),
    C_(LELP_COMPRESSOR_SEED, 1, 0.0, LELP__SEED_HI, LELP__T_U64, seed, LELP__FIXED),
};

static void lelp__param_load(const void* handle, const lelp__param_info* p, int64_t* iv, double* dv)
{
    const char* f = (const char*)handle + p->offset;
    switch (p->type) {
    case LELP__T_INT: *iv = *(const int*)(const void*)f; break;
    case LELP__T_U64: *iv = (int64_t) * (const uint64_t*)(const void*)f; break;
    case LELP__T_I64: *iv = *(const int64_t*)(const void*)f; break;
    default: *dv = *(const double*)(const void*)f; break;
    }
}

const lelp__param_info* lelp__param_at(size_t i)
{
    return i < sizeof lelp__params / sizeof lelp__params[0] ? &lelp__params[i] : NULL;
}

void lelp__param_read(const void* handle, const lelp__param_info* p, int64_t* iv, double* dv)
{
    *iv = 0;
    *dv = 0.0;
    lelp__param_load(handle, p, iv, dv);
}

static const lelp__param_info* lelp__param_find(int param)
{
    for (size_t i = 0; i < sizeof lelp__params / sizeof lelp__params[0]; i++)
        if (lelp__params[i].id == param) return &lelp__params[i];
    return NULL;
}

int lelp_param_bounds(int param, double* lo, double* hi)
{
    if (!lo) return lelp__fail(LELP_E_NULL, "lelp_param_bounds: lo is NULL");
    if (!hi) return lelp__fail(LELP_E_NULL, "lelp_param_bounds: hi is NULL");
    const lelp__param_info* p = lelp__param_find(param);
    if (!p || p->rule == LELP__READ_ONLY)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_param_bounds: %d is not a settable parameter", param);
    *lo = p->lo;
    *hi = p->hi;
    return LELP_OK;
}

/* Checks a value against the table (never clamping). Integers compare as
 * integers: 2^63 - 1 does not round to a double above the bound. */
static int lelp__param_in_bounds(const lelp__param_info* p, int64_t iv, double dv, const char* fn)
{
    int ok;
    if (p->is_int) {
        const int64_t lo = (int64_t)p->lo, hi = p->hi >= LELP__SEED_HI ? LELP__MAX_SEED : (int64_t)p->hi;
        ok = iv >= lo && iv <= hi;
        if (!ok)
            return lelp__fail(LELP_E_PARAM_RANGE, "%s: %s (%d) = %lld is outside [%lld, %lld]", fn, p->name, p->id,
                              (long long)iv, (long long)lo, (long long)hi);
        return LELP_OK;
    }
    ok = dv >= p->lo && dv <= p->hi; /* false for NaN */
    if (!ok)
        return lelp__fail(LELP_E_PARAM_RANGE, "%s: %s (%d) = %g is outside [%g, %g]", fn, p->name, p->id, dv, p->lo,
                          p->hi);
    return LELP_OK;
}

/* The entry of `param` for a handle of this kind and call type, or NULL
 * with the message set. */
static const lelp__param_info* lelp__param_of(const lelp__param_set* ps, int param, int is_int, const char* fn)
{
    const lelp__param_info* p = lelp__param_find(param);
    if (!p || p->family != ps->family || p->is_int != is_int) {
        lelp__fail(LELP_E_PARAM_UNSUPPORTED, "%s: %d is not %s %s parameter", fn, param,
                   is_int ? "an integer" : "a real", ps->kind);
        return NULL;
    }
    return p;
}

static void lelp__param_store(void* handle, const lelp__param_info* p, int64_t iv, double dv)
{
    char* f = (char*)handle + p->offset;
    switch (p->type) {
    case LELP__T_INT: *(int*)(void*)f = (int)iv; break;
    case LELP__T_U64: *(uint64_t*)(void*)f = (uint64_t)iv; break;
    case LELP__T_I64: *(int64_t*)(void*)f = iv; break;
    default: *(double*)(void*)f = dv; break;
    }
}


static int lelp__param_write(void* handle, const lelp__param_set* ps, int param, int is_int, int64_t iv, double dv,
                           const char* fn)
{
    int st = lelp__check_handle(handle, ps->family, fn, ps->kind);
    if (st) return st;
    const lelp__param_info* p = lelp__param_of(ps, param, is_int, fn);
    if (!p) return LELP_E_PARAM_UNSUPPORTED;
    if (p->rule == LELP__READ_ONLY)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "%s: %s is read-only", fn, p->name);
    if ((st = lelp__param_in_bounds(p, iv, dv, fn))) return st;
    if (p->rule == LELP__FIXED && ps->fixed && ps->fixed(handle))
        return lelp__fail(LELP_E_STAGE, "%s: %s is fixed %s", fn, p->name, ps->fixed_why);
    if (ps->check && (st = ps->check(handle, param, iv, fn))) return st;
    lelp__param_store(handle, p, iv, dv);
    if (ps->after) ps->after(handle, param);
    return LELP_OK;
}

int lelp__param_set_int(void* handle, const lelp__param_set* ps, int param, int64_t value, const char* fn)
{
    return lelp__param_write(handle, ps, param, 1, value, (double)value, fn);
}

int lelp__param_set_double(void* handle, const lelp__param_set* ps, int param, double value, const char* fn)
{
    return lelp__param_write(handle, ps, param, 0, 0, value, fn);
}

static int lelp__param_get(const void* handle, const lelp__param_set* ps, int param, int is_int, int64_t* iv,
                           double* dv, const char* fn)
{
    int st = lelp__check_handle(handle, ps->family, fn, ps->kind);
    if (st) return st;
    if (!(is_int ? (void*)iv : (void*)dv)) return lelp__fail(LELP_E_NULL, "%s: value is NULL", fn);
    const lelp__param_info* p = lelp__param_of(ps, param, is_int, fn);
    if (!p) return LELP_E_PARAM_UNSUPPORTED;
    lelp__param_load(handle, p, iv, dv);
    return LELP_OK;
}

int lelp__param_get_int(const void* handle, const lelp__param_set* ps, int param, int64_t* value, const char* fn)
{
    return lelp__param_get(handle, ps, param, 1, value, NULL, fn);
}

int lelp__param_get_double(const void* handle, const lelp__param_set* ps, int param, double* value, const char* fn)
{
    return lelp__param_get(handle, ps, param, 0, NULL, value, fn);
}
