/* SPDX-License-Identifier: MIT */
/* version.c -- runtime version of the linked library. */
#include "common.h"

uint32_t lelp_version_number(void)
{
    return (uint32_t)LELP_VERSION_NUMBER;
}

const char* lelp_version_string(void)
{
    return LELP_VERSION_STRING;
}
