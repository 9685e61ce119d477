/* cmd_members.c — `rtvctl members`: the rack as gossip sees it from one
 * agent (state, incarnation, last heard, load facts) beside Raft's role of
 * each host, and the warnings `rtvctl status` also prints when the two
 * disagree. Both read the status reply's "gossip" map (rpc/proto.h;
 * agent/gossip fills it). */
#include "cli/rtvctl_out.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/units.h"

static void member_line(FILE *f, const msgpack_object *g)
{
	char name[64] = "?", addr[24] = "?", state[16] = "?", role[16] = "-", heard[24] = "never";
	char cpu[RTV_FMT_LEN] = "-", mem[RTV_FMT_LEN] = "-", util[RTV_FMT_LEN] = "-";
	char rt[RTV_FMT_LEN] = "-", version[32] = "-";
	uint64_t inc = 0, v = 0, vms = 0, misses = 0;
	int64_t ms = -1;

	(void)agent_client_map_str(g, "name", name, sizeof(name));
	(void)agent_client_map_str(g, "addr", addr, sizeof(addr));
	(void)agent_client_map_str(g, "state", state, sizeof(state));
	(void)agent_client_map_str(g, "raft_role", role, sizeof(role));
	(void)agent_client_map_str(g, "version", version, sizeof(version));
	(void)agent_client_map_uint(g, "incarnation", &inc);
	(void)agent_client_map_uint(g, "vm_count", &vms);
	(void)agent_client_map_uint(g, "dp_miss_count", &misses);
	if (agent_client_map_int(g, "last_heard_ms", &ms) == 0 && ms >= 0)
		snprintf(heard, sizeof(heard), "%" PRId64 " ms", ms);
	if (agent_client_map_uint(g, "cpu_ppm", &v) == 0 && v <= RTV_PPM_ONE)
		rtv_fmt_ppm(cpu, sizeof(cpu), (uint32_t)v);
	if (agent_client_map_uint(g, "uplink_util_ppm", &v) == 0 && v <= RTV_PPM_ONE)
		rtv_fmt_ppm(util, sizeof(util), (uint32_t)v);
	if (agent_client_map_uint(g, "rt_reserved_bps", &v) == 0)
		rtv_fmt_rate(rt, sizeof(rt), v);
	if (agent_client_map_uint(g, "mem_avail_bytes", &v) == 0 && v)
		rtv_fmt_bytes(mem, sizeof(mem), v);
	fprintf(f, "%-12s %-21s %-7s %4" PRIu64 " %10s %-8s %7s %8s %10s %9s %4" PRIu64
		" %7" PRIu64 "  %s\n", name, addr, state, inc, heard, role, cpu, mem, util, rt,
		vms, misses, version);
}

/* One sentence per host on which gossip and Raft disagree; the count. */
static size_t warn_member(FILE *f, const msgpack_object *g)
{
	char name[64] = "?", state[16] = "?", role[16] = "none", contact[16] = "unknown";
	bool gone;

	(void)agent_client_map_str(g, "name", name, sizeof(name));
	(void)agent_client_map_str(g, "state", state, sizeof(state));
	(void)agent_client_map_str(g, "raft_role", role, sizeof(role));
	(void)agent_client_map_str(g, "raft_contact", contact, sizeof(contact));
	gone = strcmp(state, "dead") == 0 || strcmp(state, "left") == 0;
	if (gone && strcmp(contact, "yes") == 0) {
		fprintf(f, "warning: %s is %s in gossip but Raft hears it: its gossip port may "
			"be blocked or its rack key wrong\n", name, state);
		return 1;
	}
	if (!gone && strcmp(contact, "no") == 0) {
		fprintf(f, "warning: %s is %s in gossip but Raft has not heard from it this "
			"round: its Raft port may be blocked\n", name, state);
		return 1;
	}
	if (gone && strcmp(role, "voter") == 0) {
		fprintf(f, "warning: %s is a Raft voter and %s in gossip: the rack tolerates one "
			"failure less until it is back or replaced\n", name, state);
		return 1;
	}
	if (strcmp(state, "alive") == 0 && strcmp(role, "none") == 0) {
		fprintf(f, "warning: %s is alive in gossip but not a Raft member (rtvctl members "
			"add)\n", name);
		return 1;
	}
	return 0;
}

size_t rtvctl_members_warn(FILE *f, const msgpack_object *gossip)
{
	const msgpack_object *ms = gossip ? agent_client_map_get(gossip, "members") : NULL;
	size_t n = 0;

	if (!ms || ms->type != MSGPACK_OBJECT_ARRAY)
		return 0;
	for (uint32_t i = 0; i < ms->via.array.size; i++)
		n += warn_member(f, &ms->via.array.ptr[i]);
	return n;
}

int rtvctl_print_members(FILE *f, const struct rtvctl_opts *o,
			 const struct agent_client_reply *rep, char *err, size_t errlen)
{
	const msgpack_object *g = agent_client_reply_get(rep, "gossip");
	const msgpack_object *ms = g ? agent_client_map_get(g, "members") : NULL;
	char sealed[8] = "?", ap[8] = "?";
	uint64_t health = 0;

	if (!g || !ms || ms->type != MSGPACK_OBJECT_ARRAY) {
		snprintf(err, errlen, "this rtvd runs no gossip (no [gossip] section in its "
			 "configuration)");
		return -ENOENT;
	}
	if (o->output == RTVCTL_OUT_JSON) {
		json_t *j = rtvctl_json_from_msgpack(g);

		if (!j || json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			fputs("{\"error\": \"out of memory\"}", f);
		fputc('\n', f);
		json_decref(j);
		return 0;
	}
	(void)agent_client_map_uint(g, "health", &health);
	(void)agent_client_map_str(g, "sealed", sealed, sizeof(sealed));
	(void)agent_client_map_str(g, "autopilot", ap, sizeof(ap));
	fprintf(f, "%-12s %-21s %-7s %4s %10s %-8s %7s %8s %10s %9s %4s %7s  %s\n", "MEMBER",
		"ADDRESS", "STATE", "INC", "HEARD", "RAFT", "CPU", "MEM-FREE", "UPLINK-USE",
		"RT-RESVD", "VMS", "MISSES", "VERSION");
	for (uint32_t i = 0; i < ms->via.array.size; i++)
		member_line(f, &ms->via.array.ptr[i]);
	fprintf(f, "\nthis agent's view; local health %" PRIu64 " (0 is healthy); sealed with "
		"the rack key: %s; autopilot: %s\n", health, sealed, ap);
	rtvctl_members_warn(f, g);
	return 0;
}
