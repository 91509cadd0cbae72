/* SPDX-License-Identifier: MIT */
/* expect.h -- status assertions shared by the cmocka tests (include after
 * <cmocka.h> and "lelp.h"): a failure prints the call, both statuses and the
 * library's message. */
#ifndef LELP_TEST_EXPECT_H
#define LELP_TEST_EXPECT_H

#define EXPECT_STATUS(call, want)                                                              \
    do {                                                                                       \
        int st_ = (call);                                                                      \
        if (st_ != (want))                                                                     \
            fail_msg("%s\n  got %d (%s), want %d (%s); last_error: %s", #call, st_,            \
                     lelp_status_string(st_), (int)(want), lelp_status_string(want),          \
                     lelp_last_error());                                                       \
    } while (0)
#define EXPECT_OK(call) EXPECT_STATUS(call, LELP_OK)

#endif
