/* fuzz_ofp.c — the OpenFlow 1.3 decoder (ofgw/ofp.c, ofgw/oxm.c) on
 * arbitrary bytes.
 *
 * The input is one message. Properties: ofp_decode and every multipart
 * iterator (flow stats, ports, port stats — each tried on any body) never
 * crash or read out of bounds (ASan) and fail only with -EBADMSG/-EPROTO
 * and a reason; a decoded flow that passes ofgw_flow_check encodes as a
 * flow-mod whose match and instructions decode back to the same flow; a
 * decoded packet-in's data lies inside the input. Seeds: messages captured
 * from ovs-vswitchd 3.1 and the ones rtvd sends (tests/unit/test_ofp.c).
 */
// fuzz-modules: common ofgw
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/ofp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(int rc, const char *why)
{
	if (rc < 0 && ((rc != -EBADMSG && rc != -EPROTO) || why == NULL))
		abort();
}

/* A flow we accept must survive our own encoder and decoder. */
static void roundtrip(const struct ofgw_flow *f)
{
	struct ofp_flow_mod fm = { .command = OFPFC_ADD, .flow = *f };
	struct ofgw_flow back;
	const char *why = NULL;
	struct ofp_buf b;
	size_t used;

	if (f->foreign || ofgw_flow_check(f, NULL, 0) != 0)
		return;
	ofp_buf_init(&b);
	if (ofp_encode_flow_mod(&b, 1, &fm) != 0)
		abort();
	memset(&back, 0, sizeof(back));
	if (ofp_get_match(b.data + 48, b.len - 48, &back.match, &used, &why) != 0 ||
	    ofp_get_instructions(b.data + 48 + used, b.len - 48 - used, &back, &why) != 0)
		abort();
	back.cookie = f->cookie;
	back.table_id = f->table_id;
	back.priority = f->priority;
	back.idle_timeout_s = f->idle_timeout_s;
	back.hard_timeout_s = f->hard_timeout_s;
	back.flags = f->flags;
	if (!ofgw_flow_same(&back, f))
		abort();
	ofp_buf_uninit(&b);
}

static void body(const uint8_t *p, size_t len)
{
	struct ofgw_port_stats ps;
	struct ofgw_port port;
	struct ofgw_flow f;
	const char *why = NULL;
	size_t off = 0;
	int rc;

	while ((rc = ofp_next_flow_stats(p, len, &off, &f, &why)) == 1)
		roundtrip(&f);
	check_rc(rc, why);
	off = 0;
	while ((rc = ofp_next_port(p, len, &off, &port, &why)) == 1)
		if (strnlen(port.name, OFGW_PORT_NAME_MAX) == OFGW_PORT_NAME_MAX)
			abort();
	check_rc(rc, why);
	off = 0;
	while ((rc = ofp_next_port_stats(p, len, &off, &ps, &why)) == 1)
		;
	check_rc(rc, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct ofp_msg m;
	int rc = ofp_decode(data, size, &m, &why);

	check_rc(rc, why);
	if (rc != 0)
		return 0;
	if (m.h.type == OFPT_MULTIPART_REPLY && m.h.version == OFP_VERSION_13)
		body(m.u.multipart.body, m.u.multipart.len);
	if (m.h.type == OFPT_PACKET_IN && m.h.version == OFP_VERSION_13 &&
	    (m.u.packet_in.data < data || m.u.packet_in.data + m.u.packet_in.data_len > data + size))
		abort();
	return 0;
}
