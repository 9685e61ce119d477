/* cons_copy.h — test helper: a state's copy through its own snapshot, the
 * way a follower gets it (fails the test if the snapshot does not restore). */
#ifndef RTV_TESTS_CONS_COPY_H
#define RTV_TESTS_CONS_COPY_H

#include "consensus/consensus.h"

/* A new state equal to s; the caller frees it (cons_state_free). */
struct cons_state *test_cons_copy(const struct cons_state *s);

#endif
