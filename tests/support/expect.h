/* SPDX-License-Identifier: MIT */
/* expect.h -- status assertions shared by the cmocka tests (include after
 * <cmocka.h> and "lelp.h"): a failure prints the call, both statuses and the
 * library's message. An expected failure must also leave a message that
 * starts with a public entry point's name ("lelp_..."), as lelp.h promises. */
#ifndef LELP_TEST_EXPECT_H
#define LELP_TEST_EXPECT_H

#include <string.h>

#define EXPECT_STATUS(call, want)                                                              \
    do {                                                                                       \
        int st_ = (call);                                                                      \
        if (st_ != (want))                                                                     \
            fail_msg("%s\n  got %d (%s), want %d (%s); last_error: %s", #call, st_,            \
                     lelp_status_string(st_), (int)(want), lelp_status_string(want),          \
                     lelp_last_error());                                                       \
        if (st_ != LELP_OK && strncmp(lelp_last_error(), "lelp_", 5) != 0)                     \
            fail_msg("%s\n  the message does not start with the entry point's name: %s",     \
                     #call, lelp_last_error());                                                \
    } while (0)
#define EXPECT_OK(call) EXPECT_STATUS(call, LELP_OK)

#endif
