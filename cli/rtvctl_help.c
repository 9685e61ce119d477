/* rtvctl_help.c — the text of `rtvctl --help` and `rtvctl VERB --help`. */
#include "cli/rtvctl.h"

static const char overview[] =
"usage: rtvctl [global options] COMMAND [arguments] [options]\n"
"\n"
"Reserve deadline-guaranteed paths between VMs and inspect the rack's\n"
"replicated state. Any host's rtvd accepts commands and forwards writes to\n"
"the Raft leader.\n"
"\n"
"Commands:\n"
"  reserve        admit an rtpath (deadline or rate reservation)\n"
"  release ID     release an rtpath\n"
"  paths [ID]     list rtpaths (or one)\n"
"  hosts          list hosts\n"
"  links          list topology links with reserved RT rates\n"
"  vms            list VMs\n"
"  vm add         register or move a VM          vm remove UUID\n"
"  link set A B   add or change a topology link\n"
"  status         this agent's Raft role, term, leader, indexes, peers' lag\n"
"  members        the rack as gossip sees it, beside Raft's roles\n"
"  members add ID RAFT_ADDR [--standby]          members remove ID\n"
"  transfer [ID]  hand Raft leadership to another voter\n"
"  pki init|issue HOST|issue-client NAME --read|--admin|rotate|show FILE\n"
"                 the rack's certificates and keys (rtvctl pki --help)\n"
"\n"
"Global options:\n"
"  -s, --socket PATH|URL   rtvd's CLI socket (default ipc:///run/rtvd/rtvd.sock)\n"
"  -e, --endpoint URL[,URL...]  agents to talk to, e.g. tls+tcp://10.0.0.1:7101\n"
"                          (default: $RTVCTL_ENDPOINT, else the local socket)\n"
"      --cert FILE --key FILE --ca FILE   for tls+tcp:// endpoints: this\n"
"                          client's certificate and key and the rack CA\n"
"                          (default $RTVCTL_CERT, $RTVCTL_KEY, $RTVCTL_CA). An\n"
"                          admin certificate may change the rack (the agent's\n"
"                          rpc_addr); a read one only reads (its rpc_read_addr)\n"
"  -o, --output table|json output format (default table)\n"
"  -t, --timeout DURATION  give up after this long (default 5s); writes are\n"
"                          retried exactly-once until then\n"
"  -l, --linearizable      reads: ask the leader (default: this agent's copy,\n"
"                          marked stale)\n"
"  -h, --help              this text; COMMAND --help for one command\n"
"\n"
"Units: rates need a unit (2M = 2Mbit = 2 Mbit/s, 250k, 1G, 10MB/s);\n"
"durations too (5ms, 500us, 1s); sizes are bytes (3000, 1.5k, 9KiB).\n"
"\n"
"Exit status: 0 ok, 1 refused (admission or not found), 2 usage,\n"
"3 unavailable (no rtvd, no leader, timeout).\n";

static const char reserve[] =
"usage: rtvctl reserve --src IP --dst IP --type deadline|reservation\n"
"                      --rate RATE --deadline DURATION [options]\n"
"\n"
"Admits an rtpath from --src to --dst if every link on the path can carry\n"
"it within its RT budget and the deadline holds (EDF demand-bound test at\n"
"the sender; for --type reservation, the RFC 2212 delay bound with a\n"
"service rate chosen by admission). Prints the new rtpath's ID.\n"
"\n"
"  --src IP, --dst IP      VM addresses (registered with `rtvctl vm add`)\n"
"  --proto udp|tcp|any     default any\n"
"  --dport N               destination port, default 0 (any)\n"
"  --type deadline         EDF: every packet by its deadline\n"
"  --type reservation      WFQ: a guaranteed rate with a delay bound\n"
"  --rate RATE             minimum rate, e.g. 2M, 250k (a unit is required)\n"
"  --deadline DURATION     end-to-end deadline, e.g. 5ms, 500us\n"
"  --burst SIZE            maximum burst, default one packet (e.g. 3000)\n"
"  --max-pkt SIZE          largest packet, default the host's max frame; the\n"
"                          rate is charged at this size: set it for small frames\n"
"  --miss-after DURATION   escalate when misses persist this long (default 20s)\n"
"  --miss-count N          ... or after N misses (default off)\n"
"  --max-level N           highest escalation level (0-4, default 4)\n"
"  --owner NAME            who asked (default $USER)\n"
"\n"
"Examples:\n"
"  rtvctl reserve --src 10.0.0.1 --dst 10.0.0.2 --dport 5000 --proto udp \\\n"
"         --type deadline --rate 2M --deadline 5ms --burst 3000\n"
"  rtvctl -o json reserve --src 10.0.0.1 --dst 10.0.0.3 --type reservation \\\n"
"         --rate 10M --deadline 2ms\n"
"\n"
"Exit status 1 with the link and the limit named when admission refuses.\n";

static const char release[] =
"usage: rtvctl release ID\n"
"\n"
"Releases rtpath ID (from `rtvctl paths`), freeing its rate on every link.\n"
"\n"
"Example:\n"
"  rtvctl release 17\n";

static const char paths[] =
"usage: rtvctl paths [ID] [--linearizable]\n"
"\n"
"Lists admitted rtpaths: addresses, type, rate, deadline, burst, service\n"
"rate R, escalation level, hosts and owner. Answered from this agent's copy\n"
"of the state (marked stale) unless --linearizable.\n"
"\n"
"Examples:\n"
"  rtvctl paths\n"
"  rtvctl paths 17 -o json\n"
"  rtvctl --linearizable paths\n";

static const char hosts[] =
"usage: rtvctl hosts [--linearizable]\n"
"\n"
"Lists hosts: id, name, Raft and RPC addresses, uplink rate, RT budget,\n"
"role (voter or standby).\n"
"\n"
"Example:\n"
"  rtvctl hosts -o json\n";

static const char links[] =
"usage: rtvctl links [--linearizable]\n"
"\n"
"Lists the topology's links with capacity and reserved RT rate per\n"
"direction, RT budget and per-hop latency budget.\n"
"\n"
"Example:\n"
"  rtvctl links\n";

static const char vms[] =
"usage: rtvctl vms [--linearizable]\n"
"\n"
"Lists VMs: uuid, name, host, addresses, MACs, tenant, and the MTU of the\n"
"VM's port as its host's switch reports it (\"-\" until known; rtvd sets it\n"
"to the uplink's MTU less the encapsulation, [ovs] guest_mtu).\n"
"\n"
"Example:\n"
"  rtvctl vms\n";

static const char vm_add[] =
"usage: rtvctl vm add --uuid UUID --host ID --ip A [--ip B] [--name N]\n"
"                     [--mac M] [--tenant T]\n"
"\n"
"Registers a VM on host ID, or moves/updates it (normally done by rtvd's\n"
"OVSDB watcher). Up to 4 addresses and 4 MACs.\n"
"\n"
"Example:\n"
"  rtvctl vm add --uuid 0d6bd5ce-8b1c-4d3e-9a55-2f3d9c1e7a01 --name vm1 --host 1 --ip 10.0.0.1 \\\n"
"         --mac 52:54:00:00:00:01 --tenant blue\n";

static const char vm_remove[] =
"usage: rtvctl vm remove UUID\n"
"\n"
"Forgets a VM.\n"
"\n"
"Example:\n"
"  rtvctl vm remove 0d6bd5ce-8b1c-4d3e-9a55-2f3d9c1e7a01\n";

static const char link_set[] =
"usage: rtvctl link set A B --capacity RATE [--capacity-ba RATE]\n"
"                            [--rt-budget FRACTION] [--hop-latency DURATION]\n"
"\n"
"Adds or changes the link between topology nodes A and B (hosts or\n"
"switches). --capacity is A->B (and B->A unless --capacity-ba). An existing\n"
"link keeps its RT budget and hop latency unless given; a new one gets 50%\n"
"and 0. Hosts' uplinks to the ToR are added by the hosts themselves.\n"
"\n"
"Examples:\n"
"  rtvctl link set tor spine1 --capacity 40G --rt-budget 50% --hop-latency 5us\n"
"  rtvctl link set tor spine1 --capacity 40G --capacity-ba 10G\n";

static const char status[] =
"usage: rtvctl status\n"
"\n"
"This agent's view of Raft: role, term, leader, commit/applied/last index,\n"
"leader changes, and each peer's match index and lag (known on the leader).\n"
"\n"
"Examples:\n"
"  rtvctl status\n"
"  rtvctl -e tcp://10.0.0.2:7101 status -o json\n";

static const char members[] =
"usage: rtvctl members [-o json]\n"
"\n"
"The rack's hosts as this agent's gossip sees them: state (alive, suspect,\n"
"dead, left), incarnation, when it last heard from each, and the load each\n"
"host reports (CPU, free memory, uplink use, RT rate reserved on its uplink,\n"
"VMs, deadline misses its dataplane counted), beside each host's Raft role\n"
"(voter, standby, none). Warns where gossip and Raft disagree. Ask the\n"
"leader (-e) to see whether Raft hears each host.\n"
"\n"
"Examples:\n"
"  rtvctl members\n"
"  rtvctl -e tcp://10.0.0.2:7101 members -o json\n";

static const char members_add[] =
"usage: rtvctl members add ID RAFT_ADDR [--standby]\n"
"\n"
"Adds server ID (its rtvd started with join = true) to the Raft\n"
"configuration as a voter, or as a non-voting standby.\n"
"\n"
"Example:\n"
"  rtvctl members add 4 10.0.0.4:7001 --standby\n";

static const char members_remove[] =
"usage: rtvctl members remove ID\n"
"\n"
"Removes server ID from the Raft configuration.\n"
"\n"
"Example:\n"
"  rtvctl members remove 4\n";

static const char transfer[] =
"usage: rtvctl transfer [ID]\n"
"\n"
"Hands leadership to voter ID, or to the most up-to-date voter.\n"
"\n"
"Example:\n"
"  rtvctl transfer 2\n";

const char *rtvctl_help(enum rtvctl_verb verb)
{
	static const char *const text[RTVCTL_N_VERBS] = {
		[RTVCTL_NONE] = overview, [RTVCTL_RESERVE] = reserve, [RTVCTL_RELEASE] = release,
		[RTVCTL_PATHS] = paths, [RTVCTL_HOSTS] = hosts, [RTVCTL_LINKS] = links,
		[RTVCTL_VMS] = vms, [RTVCTL_VM_ADD] = vm_add, [RTVCTL_VM_REMOVE] = vm_remove,
		[RTVCTL_LINK_SET] = link_set, [RTVCTL_STATUS] = status,
		[RTVCTL_MEMBERS_ADD] = members_add, [RTVCTL_MEMBERS_REMOVE] = members_remove,
		[RTVCTL_TRANSFER] = transfer, [RTVCTL_MEMBERS] = members,
	};

	return verb < RTVCTL_N_VERBS && text[verb] ? text[verb] : overview;
}
