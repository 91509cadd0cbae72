/* SPDX-License-Identifier: MIT */
/* params.c -- the table of settable parameters and their bounds. */
#include <math.h>

#include "internal.h"

typedef struct lelp__param_info {
    int id;
    int is_int;
    double lo, hi;
    const char* name; /* for messages: the header's enum name */
} lelp__param_info;

#define LELP__PARAM(id, is_int, lo, hi) {id, is_int, lo, hi, #id}
static const lelp__param_info lelp__params[] = {
    LELP__PARAM(LELP_BUILDER_NULL_SPACE, 1, 0.0, 1.0),
    LELP__PARAM(LELP_BUILDER_ROTATE, 1, 0.0, 1.0),
    LELP__PARAM(LELP_BUILDER_SEED, 1, 0.0, 9223372036854775807.0),
    LELP__PARAM(LELP_BUILDER_BETA, 0, 0.0, 1e30),
    LELP__PARAM(LELP_BUILDER_ENTROPY_FRACTION, 0, 0.01, 0.99),
    LELP__PARAM(LELP_BUILDER_SOLVER, 1, 0.0, 1.0),
    LELP__PARAM(LELP_BUILDER_SKETCH_SIZE, 1, 0.0, 65536.0),
    LELP__PARAM(LELP_BUILDER_PRECISION, 1, 0.0, 1.0),
    LELP__PARAM(LELP_BUILDER_GRAM_FORM, 1, 0.0, 1.0),
    LELP__PARAM(LELP_BUILDER_BETA_SAMPLE, 1, -1.0, 1048576.0),
    LELP__PARAM(LELP_BUILDER_LABELLER, 1, 0.0, 1.0),
    LELP__PARAM(LELP_LOSS_TAU, 0, 0.01, 100.0),
    LELP__PARAM(LELP_LOSS_ALPHA, 0, 0.0, 1.0),
    LELP__PARAM(LELP_LOSS_REDUCTION, 1, 0.0, 1.0),
    LELP__PARAM(LELP_LOSS_KIND, 1, 0.0, 2.0),
    LELP__PARAM(LELP_LOSS_DKD_TARGET_WEIGHT, 0, 0.0, 1e6),
    LELP__PARAM(LELP_LOSS_DKD_NONTARGET_WEIGHT, 0, 0.0, 1e6),
    LELP__PARAM(LELP_LOSS_AUX_TEMPERATURE, 0, 0.01, 100.0),
    LELP__PARAM(LELP_COMPRESSOR_DISTANCE, 1, 0.0, 2.0),
    LELP__PARAM(LELP_COMPRESSOR_OPTIMIZER, 1, 0.0, 1.0),
    LELP__PARAM(LELP_COMPRESSOR_LR, 0, 1e-12, 10.0),
    LELP__PARAM(LELP_COMPRESSOR_WEIGHT_DECAY, 0, 0.0, 1.0),
    LELP__PARAM(LELP_COMPRESSOR_MOMENTUM, 0, 0.0, 0.999999),
    LELP__PARAM(LELP_COMPRESSOR_ADAM_BETA1, 0, 0.0, 0.999999),
    LELP__PARAM(LELP_COMPRESSOR_ADAM_BETA2, 0, 0.0, 0.999999),
    LELP__PARAM(LELP_COMPRESSOR_MULTILABEL, 1, 0.0, 1.0),
    LELP__PARAM(LELP_COMPRESSOR_SEED, 1, 0.0, 9223372036854775807.0),
};

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
    if (!p) return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_param_bounds: %d is not a settable parameter", param);
    *lo = p->lo;
    *hi = p->hi;
    return LELP_OK;
}

/* Ids of a handle family are checked by the caller; this checks the value
 * against the table (never clamping). */
int lelp__param_check(int param, double value)
{
    const lelp__param_info* p = lelp__param_find(param);
    if (!p) return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "parameter %d is not settable", param);
    if (!(value >= p->lo && value <= p->hi))
        return lelp__fail(LELP_E_PARAM_RANGE, "%s (%d) = %g is outside [%g, %g]", p->name, param, value,
                          p->lo, p->hi);
    return LELP_OK;
}
