/* cons_copy.h — test helper: a state's copy through its own snapshot, the
 * way a follower gets it (fails the test if the snapshot does not restore). */
#ifndef RTV_TESTS_CONS_COPY_H
#define RTV_TESTS_CONS_COPY_H

#include <stdbool.h>

#include "consensus/consensus.h"

/* A new state equal to s; the caller frees it (cons_state_free). */
struct cons_state *test_cons_copy(const struct cons_state *s);

/* Applies c to s at index into *res, then checks (unless light) the state's
 * invariants, its snapshot round trip, and that a refusal of an unnumbered
 * command, or a duplicate, changed nothing but the applied index; fails the
 * test otherwise. Returns res->status. */
int test_cons_apply_checked(struct cons_state *s, uint64_t index, const struct cons_cmd *c,
			    struct cons_result *res, bool light);

#endif
