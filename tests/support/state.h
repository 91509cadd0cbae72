/* SPDX-License-Identifier: MIT */
/* state.h -- serialized builder states and models for the cmocka tests. */
#ifndef LELP_TEST_STATE_H
#define LELP_TEST_STATE_H

#include <stddef.h>

#include "lelp.h"

/* The builder's serialized bytes (malloc'd; *size set); fails the running
 * cmocka test if the library refuses. */
unsigned char* builder_bytes(const lelp_builder* b, size_t* size);
/* The same for a model. */
unsigned char* model_bytes(const lelp_model* m, size_t* size);

#endif
