/* pipeline.c — the flows the replicated state and the bridge's ports imply
 * (docs/architecture.md, "One host" and "OpenFlow gateway"; the tables are drawn in
 * ofgw.h).
 *
 * Two tables keep marking apart from forwarding: table 0 decides a packet's
 * DSCP at the edge, table 1 where it goes. Marking happens where the packet
 * enters the bridge, so a VM cannot claim a class it did not reserve (its
 * IP traffic is re-marked to 0 unless an rtpath of its own says otherwise)
 * and rtvd's own control traffic (Raft, RPC, gossip) leaves as CS6, which
 * the ToR queues ahead of everything else. Forwarding is by destination
 * MAC for what stays on the host (VM ports, LOCAL), flooding for
 * broadcast/multicast (ARP), and the off-host next hop for the rest:
 * `rtv-int` when rtvd's dataplane has created it, else the uplink itself.
 * Unknown unicast from outside is dropped rather than flooded.
 *
 * Everything here is a pure function of struct pipeline_in, so the flows
 * that an rtvd restart computes are bit-for-bit the ones it installed
 * before, and reconciliation finds nothing to do.
 */
#include <errno.h>
#include <string.h>

#include "consensus/consensus.h"
#include "ofgw/flows.h"

static const uint8_t mc_bit[6] = { 0x01, 0, 0, 0, 0, 0 };

uint32_t pipeline_port_no(const struct pipeline_in *in, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return 0;
	for (size_t i = 0; i < in->n_ports; i++)
		if (strcmp(in->ports[i].name, name) == 0)
			return in->ports[i].no;
	return 0;
}

static uint32_t nexthop(const struct pipeline_in *in)
{
	uint32_t no = pipeline_port_no(in, in->offhost_port);

	return no ? no : pipeline_port_no(in, in->uplink_port);
}

static const struct ofgw_port *local_port(const struct pipeline_in *in)
{
	for (size_t i = 0; i < in->n_ports; i++)
		if (in->ports[i].no == OFGW_PORT_LOCAL)
			return &in->ports[i];
	return NULL;
}

static void flow_init(struct ofgw_flow *f, uint8_t table, uint16_t prio, uint64_t cookie)
{
	memset(f, 0, sizeof(*f));
	f->table_id = table;
	f->priority = prio;
	f->cookie = cookie;
}

static bool mac_known(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) != 0 && !(mac[0] & 1);
}

/* A labelled frame that reaches the bridge from rtv-int: rtvdp pops the
 * label of every frame it delivers, so this never matches while it runs;
 * on a degraded host (rtvdp gone, its devices bridged in the kernel:
 * docs/dataplane-process.md) frames from healthy senders arrive with
 * their deadline label, and the VM must get plain IPv4. Permanent, so it
 * is in place before the host degrades, also when rtvd is down then. */
static int pop_flow(const struct pipeline_in *in, uint64_t cookie, struct flowtab *t)
{
	uint32_t no = pipeline_port_no(in, in->offhost_port);
	struct ofgw_flow f;

	if (!no)
		return 0;
	flow_init(&f, PIPE_TABLE_CLASSIFY, PIPE_PRIO_POP, cookie);
	ofgw_match_in_port(&f.match, no);
	ofgw_match_eth_type(&f.match, 0x8847);
	ofgw_flow_add_action(&f, OFGW_ACT_POP_MPLS, 0x0800);
	f.goto_table = PIPE_TABLE_FORWARD;
	return flowtab_put(t, &f);
}

/* table 0 default, table 1 broadcast/LOCAL/default */
static int base_flows(const struct pipeline_in *in, uint32_t hop, struct flowtab *t)
{
	uint64_t cookie = ofgw_cookie(OFGW_COOKIE_BASE, 0);
	const struct ofgw_port *local = local_port(in);
	struct ofgw_flow f;
	int rc = 0;

	flow_init(&f, PIPE_TABLE_CLASSIFY, 0, cookie);
	f.goto_table = PIPE_TABLE_FORWARD;
	rc |= flowtab_put(t, &f);
	flow_init(&f, PIPE_TABLE_FORWARD, 0, cookie);	/* table-miss: drop */
	rc |= flowtab_put(t, &f);
	flow_init(&f, PIPE_TABLE_FORWARD, PIPE_PRIO_FLOOD, cookie);
	ofgw_match_eth_dst(&f.match, mc_bit, mc_bit);
	ofgw_flow_add_action(&f, OFGW_ACT_OUTPUT, OFGW_PORT_FLOOD);
	rc |= flowtab_put(t, &f);
	if (local != NULL && mac_known(local->hw_addr)) {
		flow_init(&f, PIPE_TABLE_FORWARD, PIPE_PRIO_TO_HOST, cookie);
		ofgw_match_eth_dst(&f.match, local->hw_addr, NULL);
		ofgw_flow_add_action(&f, OFGW_ACT_OUTPUT, OFGW_PORT_LOCAL);
		rc |= flowtab_put(t, &f);
	}
	rc |= pop_flow(in, cookie, t);
	if (hop != 0) {
		flow_init(&f, PIPE_TABLE_FORWARD, PIPE_PRIO_OFFHOST, cookie);
		ofgw_match_in_port(&f.match, OFGW_PORT_LOCAL);
		ofgw_flow_add_action(&f, OFGW_ACT_OUTPUT, hop);
		rc |= flowtab_put(t, &f);
	}
	return rc ? -ENOMEM : 0;
}

/* rtvd's own traffic from LOCAL, both directions of each of its ports
 * (as server: source port; as client: destination port). */
static int control_flows(const struct pipeline_in *in, struct flowtab *t)
{
	struct ofgw_flow f;
	int rc = 0;

	for (size_t i = 0; i < in->n_control; i++) {
		const struct ofgw_control_port *c = &in->control[i];

		for (int dir = 0; dir < 2; dir++) {
			flow_init(&f, PIPE_TABLE_CLASSIFY, PIPE_PRIO_CONTROL,
				  ofgw_cookie(OFGW_COOKIE_CONTROL, c->port));
			ofgw_match_in_port(&f.match, OFGW_PORT_LOCAL);
			ofgw_match_eth_type(&f.match, 0x0800);
			if (in->host_ip != 0)
				ofgw_match_ipv4_src(&f.match, in->host_ip, UINT32_MAX);
			ofgw_match_ip_proto(&f.match, c->proto);
			if (c->proto == 6 && dir == 0)
				ofgw_match_tcp_dst(&f.match, c->port);
			else if (c->proto == 6)
				ofgw_match_tcp_src(&f.match, c->port);
			else if (dir == 0)
				ofgw_match_udp_dst(&f.match, c->port);
			else
				ofgw_match_udp_src(&f.match, c->port);
			ofgw_flow_add_action(&f, OFGW_ACT_SET_IP_DSCP, PIPE_DSCP_CONTROL);
			f.goto_table = PIPE_TABLE_FORWARD;
			rc |= flowtab_put(t, &f);
		}
	}
	return rc ? -ENOMEM : 0;
}

static int vm_flows(const struct ofgw_vm_port *vm, uint32_t no, uint32_t hop, struct flowtab *t)
{
	uint64_t cookie = ofgw_cookie(OFGW_COOKIE_VM, no);
	struct ofgw_flow f;
	int rc = 0;

	flow_init(&f, PIPE_TABLE_CLASSIFY, PIPE_PRIO_EDGE, cookie);
	ofgw_match_in_port(&f.match, no);
	ofgw_match_eth_type(&f.match, 0x0800);
	ofgw_flow_add_action(&f, OFGW_ACT_SET_IP_DSCP, 0);
	f.goto_table = PIPE_TABLE_FORWARD;
	rc |= flowtab_put(t, &f);
	if (mac_known(vm->mac)) {
		flow_init(&f, PIPE_TABLE_FORWARD, PIPE_PRIO_TO_HOST, cookie);
		ofgw_match_eth_dst(&f.match, vm->mac, NULL);
		ofgw_flow_add_action(&f, OFGW_ACT_OUTPUT, no);
		rc |= flowtab_put(t, &f);
	}
	if (hop != 0 && hop != no) {
		flow_init(&f, PIPE_TABLE_FORWARD, PIPE_PRIO_OFFHOST, cookie);
		ofgw_match_in_port(&f.match, no);
		ofgw_flow_add_action(&f, OFGW_ACT_OUTPUT, hop);
		rc |= flowtab_put(t, &f);
	}
	return rc ? -ENOMEM : 0;
}

int pipeline_base(const struct pipeline_in *in, struct flowtab *t)
{
	uint32_t hop = nexthop(in);
	int rc;

	flowtab_clear(t);
	if ((rc = base_flows(in, hop, t)) != 0 || (rc = control_flows(in, t)) != 0)
		return rc;
	for (size_t i = 0; i < in->n_vms; i++) {
		uint32_t no = pipeline_port_no(in, in->vms[i].name);

		if (no != 0 && no <= OFGW_PORT_MAX && (rc = vm_flows(&in->vms[i], no, hop, t)) != 0)
			return rc;
	}
	return 0;
}

/* The bridge port of the VM that owns ip, or 0. */
static uint32_t vm_port_of(const struct pipeline_in *in, uint32_t ip)
{
	for (size_t i = 0; i < in->n_vms; i++)
		for (size_t j = 0; j < in->vms[i].n_ips && j < OFGW_VM_IPS_MAX; j++)
			if (in->vms[i].ips[j] == ip)
				return pipeline_port_no(in, in->vms[i].name);
	return 0;
}

/* Marks the rtpath's packets with its DSCP where they enter the bridge, at
 * a priority above the VM's re-marking flow; more specific rtpaths (with a
 * protocol, with a port) win over broader ones. The MPLS deadline label is
 * not pushed here: only rtvd's dataplane knows each packet's deadline. */
int pipeline_rtpath(const struct pipeline_in *in, const struct cons_rtpath *p,
		    struct ofgw_flow *out)
{
	const struct cons_path_req *r = &p->req;
	uint32_t no;
	uint16_t prio = PIPE_PRIO_RTPATH;

	if (p->src_host != in->host_id || (no = vm_port_of(in, r->src_ip)) == 0)
		return 0;
	flow_init(out, PIPE_TABLE_CLASSIFY, 0, ofgw_cookie(OFGW_COOKIE_RTPATH, p->id));
	ofgw_match_in_port(&out->match, no);
	ofgw_match_eth_type(&out->match, 0x0800);
	ofgw_match_ipv4_src(&out->match, r->src_ip, UINT32_MAX);
	ofgw_match_ipv4_dst(&out->match, r->dst_ip, UINT32_MAX);
	if (r->proto != 0) {
		ofgw_match_ip_proto(&out->match, r->proto);
		prio++;
	}
	if (r->dport != 0 && r->proto == 6) {
		ofgw_match_tcp_dst(&out->match, r->dport);
		prio++;
	} else if (r->dport != 0 && r->proto == 17) {
		ofgw_match_udp_dst(&out->match, r->dport);
		prio++;
	}
	out->priority = prio;
	ofgw_flow_add_action(out, OFGW_ACT_SET_IP_DSCP, p->dscp & 63);
	out->goto_table = PIPE_TABLE_FORWARD;
	return 1;
}
