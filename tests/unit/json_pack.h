/* json_pack.h — test helper: a jansson value packed as msgpack, so tests can
 * write readable JSON for commands and snapshots they feed to decoders. */
#ifndef RTV_TESTS_JSON_PACK_H
#define RTV_TESTS_JSON_PACK_H

#include <jansson.h>
#include <msgpack.h>

/* Objects become maps, arrays arrays, integers int64, reals doubles,
 * true/false/null the msgpack equivalents. */
void test_pack_json(msgpack_packer *pk, const json_t *j);

#endif
